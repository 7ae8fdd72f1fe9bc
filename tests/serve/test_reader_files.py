"""Broken article files, fault by fault and format by format (.txt, .html, JSONL, CSV, Parquet, stdin).

A fault becomes an error item naming the file and line (or row), the rest of the file is still read, a
byte-order mark and CRLF line endings are accepted, a repeated id gets a warning, and a 100 MB record is
refused by size before it is read into memory. ``narratives score`` records every bad item and goes on.
Faults already in ``test_readers.py`` / ``test_bad_input.py`` (malformed JSONL, a missing CSV column,
short CSV rows, an unterminated quote, invalid UTF-8 in .txt, CSV with BOM and CRLF) are not repeated.
"""
import io
import json
import struct

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.serve.readers import MAX_ARTICLE_BYTES, read_articles

GOOD = "Rain fell on Sarajevo.\r\n\r\nThe tram ran late."  # CRLF paragraphs
TOO_BIG = f"is over {MAX_ARTICLE_BYTES:,} bytes (the limit for one article); skipped"


def _read(path, **kw):
    return list(read_articles([str(path)], **kw))


def _errors(items):
    return [i["error"] for i in items if "error" in i]


def _ok(items):
    return [(i["id"], i["text"]) for i in items if "error" not in i]


def _jsonl(*recs) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in recs)


def _parquet(path, text_array, ids=("p1", "p2")):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(ids), "text": text_array}), str(path))
    return path


# (name, file name, bytes, expected errors (suffix after "FILE:"), expected good (id, text) pairs)
CASES = [
    ("jsonl-non-utf8", "a.jsonl", _jsonl(b'{"id": "x", "text": "caf\xe9"}', {"id": "b", "text": "ok"}),
     [":1: not valid UTF-8 (invalid continuation byte at byte 24)"], [("b", "ok")]),
    ("jsonl-bom-crlf", "a.jsonl", b"\xef\xbb\xbf" + _jsonl({"id": "a", "text": GOOD}).replace(b"\n", b"\r\n"),
     [], [("a", GOOD)]),
    ("jsonl-truncated", "a.jsonl", _jsonl({"id": "a", "text": "ok"}) + b'{"id": "b", "te',
     [":2: malformed JSON: Unterminated string starting at (column 13)"], [("a", "ok")]),
    ("jsonl-no-final-newline", "a.jsonl", b'{"id": "a", "text": "ok"}', [], [("a", "ok")]),
    ("jsonl-wrong-type", "a.jsonl", _jsonl({"id": "a", "text": ["x"]}, {"id": "b", "text": None}),
     [":1: field 'text' must be a string, got list", ":2: field 'text' must be a string, got NoneType"], []),
    ("csv-non-utf8", "a.csv", b"id,text\na,caf\xe9\nb,ok\n", [":2: not valid UTF-8 (invalid continuation byte at byte 5)"],
     [("b", "ok")]),  # the rest of the file is still read (it was not before)
    ("csv-non-utf8-in-quoted-field", "a.csv", b'id,text\na,"two\nlin\xe9s"\nb,ok\n',
     [":3: not valid UTF-8 (invalid continuation byte at byte 3)"], [("b", "ok")]),
    ("csv-no-final-newline", "a.csv", b"id,text\r\na,ok", [], [("a", "ok")]),
    ("csv-non-utf8-header", "a.csv", b"id,t\xe9xt\na,ok\n", [":1: not valid UTF-8 (invalid continuation byte at byte 4)"
                                                             " (the header; the file was not read)"], []),
    ("txt-bom-crlf", "a.txt", b"\xef\xbb\xbf" + GOOD.encode(), [], [("a", GOOD)]),
    ("html-non-utf8", "a.html", b"<p>caf\xe9</p>", [": not valid UTF-8 (invalid continuation byte at byte 6)"], []),
    ("html-bom-crlf", "a.html", b"\xef\xbb\xbf<html>\r\n<p>Rain fell.</p>\r\n<p>Late tram.</p></html>", [],
     [("a", "Rain fell.\n\nLate tram.")]),
    ("html-truncated", "a.html", b"<html><p>Rain fell.</p><p>Late tr", [], [("a", "Rain fell.\n\nLate tr")]),
]


@pytest.mark.parametrize("name, file, content, errors, good", CASES, ids=[c[0] for c in CASES])
def test_file_faults(tmp_path, name, file, content, errors, good):
    f = tmp_path / file
    f.write_bytes(content)
    items = _read(f)
    assert _errors(items) == [f"{f}{e}" for e in errors]
    assert _ok(items) == good


def test_parquet_faults(tmp_path):
    import pyarrow as pa

    offsets = pa.py_buffer(struct.pack("<3i", 0, 4, 6))  # "caf\xe9" is not UTF-8 (pyarrow writes it unchecked)
    bad_utf8 = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(b"caf\xe9ok")])
    f = _parquet(tmp_path / "utf8.parquet", bad_utf8)
    items = _read(f)  # this stopped the whole batch with a UnicodeDecodeError before
    assert _errors(items) == [f"{f}:1: not valid UTF-8 (unexpected end of data)"] and _ok(items) == [("p2", "ok")]
    f = _parquet(tmp_path / "types.parquet", pa.array([1, 2]))
    assert _errors(_read(f)) == [f"{f}:1: field 'text' must be a string, got int",
                                 f"{f}:2: field 'text' must be a string, got int"]
    f = _parquet(tmp_path / "missing.parquet", pa.array(["a", "b"]))
    assert _errors(_read(f, text_field="body")) == [f"{f}: missing column 'body' (columns: id, text)"]
    cut = tmp_path / "cut.parquet"
    cut.write_bytes((tmp_path / "missing.parquet").read_bytes()[:-30])
    assert _errors(_read(cut))[0].startswith(f"{cut}: not a readable Parquet file")


def test_stdin_faults():
    stdin = io.BytesIO(b'{"id": "a", "text": "caf\xe9"}\r\n{"id": "b", "text": "ok"}\r\n{"id": "c", "te')
    items = list(read_articles(["-"], stdin=stdin))
    assert _errors(items) == ["<stdin>:1: not valid UTF-8 (invalid continuation byte at byte 24)",
                              "<stdin>:3: malformed JSON: Unterminated string starting at (column 13)"]
    assert _ok(items) == [("b", "ok")]


def test_repeated_ids_get_a_warning_naming_the_first(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(_jsonl({"id": "x", "text": "one"}, {"id": "x", "text": "two"}))
    (tmp_path / "b.csv").write_bytes(b"id,text\nx,three\ny,four\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "y.txt").write_text("five")
    items = _read(tmp_path)
    assert [(i["id"], i.get("warnings")) for i in items] == [
        ("x", None), ("x", [f"duplicate id 'x' (first at {tmp_path}/a.jsonl:1)"]),
        ("x", [f"duplicate id 'x' (first at {tmp_path}/a.jsonl:1)"]), ("y", None),
        ("y", [f"duplicate id 'y' (first at {tmp_path}/b.csv:3)"])]


HUGE_CASES = [  # (file name, prefix, suffix, where, what, good): a 100 MB record, then a good one if the format allows
    ("h.jsonl", b'{"id": "h", "text": "', b'"}\n{"id": "after", "text": "ok"}\n', ":1", "line", [("after", "ok")]),
    ("h.csv", b'id,text\nh,"', b'"\nafter,ok\n', ":2", "line", [("after", "ok")]),
    ("h.txt", b"", b"", "", "file", []),
    ("h.html", b"<p>", b"</p>", "", "file", []),
]


@pytest.mark.parametrize("file, prefix, suffix, where, what, good", HUGE_CASES, ids=[c[0] for c in HUGE_CASES])
def test_a_100mb_record_is_refused_by_size_with_flat_memory(tmp_path, write_huge_line, peak_memory, file, prefix,
                                                           suffix, where, what, good):
    f = write_huge_line(tmp_path / file, prefix, suffix, mode="wb")
    with peak_memory() as mem:
        items = _read(f)
    assert mem["peak"] < 4 * MAX_ARTICLE_BYTES  # never the whole 100 MB
    assert _errors(items) == [f"{f}{where}: {what} {TOO_BIG}"]
    assert _ok(items) == good


def test_a_100mb_line_on_stdin_and_in_parquet(tmp_path, write_huge_line):
    f = write_huge_line(tmp_path / "in.jsonl", b'{"id": "h", "text": "', b'"}\n{"id": "after", "text": "ok"}\n')
    with open(f, "rb") as stdin:
        items = list(read_articles(["-"], stdin=stdin))
    assert _errors(items) == [f"<stdin>:1: line {TOO_BIG}"] and _ok(items) == [("after", "ok")]
    f.unlink()
    big = _parquet(tmp_path / "big.parquet", ["a" * (100 * 2**20), "ok"])
    items = _read(big)  # Parquet values are checked once pyarrow has read them
    assert _errors(items) == [f"{big}:1: field 'text' {TOO_BIG}"] and _ok(items) == [("p2", "ok")]


def test_score_records_every_bad_item_and_goes_on(tiny_model, tmp_path, write_huge_line):
    d = tmp_path / "in"
    d.mkdir()
    write_huge_line(d / "1.jsonl", b'{"id": "h", "text": "', b'"}\n{"id": "j", "text": "Rain in Mostar."}\n', mode="wb")
    (d / "2.csv").write_bytes(b"id,text\r\nc1,caf\xe9\r\nc2,Snow in Tuzla.\r\nc2,Again.")
    (d / "3.txt").write_bytes(b"\xef\xbb\xbfFog in Bihac.\r\n")
    (d / "4.html").write_bytes(b"<p>Wind in Zenica</p")
    _parquet(d / "5.parquet", [None, "Sun in Banja Luka."], ids=("q1", "q2"))
    out = tmp_path / "scores.jsonl"
    r = CliRunner().invoke(main, ["score", str(d), "--model", str(tiny_model), "--no-progress", "-o", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["id"], bool(x["errors"])) for x in recs] == [
        (f"{d}/1.jsonl:1", True), ("j", False), (f"{d}/2.csv:2", True), ("c2", False), ("c2", False),
        ("3", False), ("4", False), ("q1", True), ("q2", False)]
    assert recs[0]["errors"] == [f"{d}/1.jsonl:1: line {TOO_BIG}"]
    assert recs[2]["errors"] == [f"{d}/2.csv:2: not valid UTF-8 (invalid continuation byte at byte 6)"]
    assert recs[4]["warnings"] == [f"duplicate id 'c2' (first at {d}/2.csv:3)"]
    assert recs[7]["errors"] == [f"{d}/5.parquet:1: field 'text' must be a string, got NoneType"]
    assert "scored 6 article(s), 3 error(s)" in r.stderr
