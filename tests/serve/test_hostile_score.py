"""Hostile input to `narratives score` (issue 17, cases 1 to 8): each fault becomes an error record (or a
safe value) and the batch goes on; nothing hangs, nothing is lost, no traceback.
"""
import json
import os
import stat

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.serve.readers import read_articles


def _read(*paths, **kw):
    return list(read_articles([str(p) for p in paths], **kw))


def _errors(items):
    return [i["error"] for i in items if "error" in i]


def _ok(items):
    return [(i["id"], i["text"]) for i in items if "error" not in i]


# 1. HTML whose parse cost grew with the square of the number of open tags
@pytest.mark.parametrize("html", [b"<p>x " * 40_000, b"<b>" * 30_000 + b"</i>" * 30_000,
                                  b"<div class=ad>" * 30_000 + b"text"],
                         ids=["unclosed-p", "b-then-i", "unclosed-skipped"])
def test_html_with_many_open_tags_is_read_in_linear_time(tmp_path, html):
    # 40,000 unclosed <p> took minutes before (the open-tag stack was scanned for every tag and every
    # piece of text); the item is still read, or refused with an error record, never a stall.
    f = tmp_path / "a.html"
    f.write_bytes(html)
    items = _read(f)
    assert len(items) == 1
    item = items[0]
    assert ("error" in item and str(f) in item["error"]) or isinstance(item["text"], str)


def test_html_nesting_past_the_limit_is_an_error_record(tmp_path):
    from narratives.serve.html import MAX_OPEN_TAGS

    f = tmp_path / "deep.html"
    f.write_bytes(b"<span>" * (MAX_OPEN_TAGS + 1) + b"x")
    (tmp_path / "ok.html").write_bytes(b"<p>fine</p>")
    items = _read(f, tmp_path / "ok.html")
    assert _errors(items) == [f"{f}: HTML nests more than {MAX_OPEN_TAGS:,} open elements; skipped"]
    assert _ok(items) == [("ok", "fine")]


def test_omitted_end_tags_do_not_count_as_nesting(tmp_path):
    f = tmp_path / "t.html"  # legal HTML: </tr>, </td> and </li> may be left out
    f.write_bytes(b"<table>" + b"<tr><td>cell<td>cell" * 10_000 + b"</table><ul>" + b"<li>item" * 10_000 + b"</ul>")
    (item,) = _read(f)
    assert "error" not in item and item["text"].count("cell") == 20_000 and item["text"].count("item") == 10_000


# 2. An unreadable file is an error record; the batch goes on and everything scored is written
def test_unreadable_files_are_error_records(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    (tmp_path / "b.txt").write_text("fine")
    items = _read(locked, "/proc/self/mem", tmp_path / "b.txt")
    errs = _errors(items)
    assert errs[0].startswith(f"{locked}: cannot read: ") and "Permission denied" in errs[0]
    assert len(errs) == 2 and errs[1].startswith("/proc/self/mem: ")
    assert _ok(items) == [("b", "fine")]


def test_proc_mem_link_in_a_batch_loses_no_record(tiny_model, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(30):
        (d / f"{i:02d}.txt").write_text(f"Rain in Mostar, day {i}.")
    (d / "15x.jsonl").symlink_to("/proc/self/mem")
    out = tmp_path / "s.jsonl"
    r = CliRunner().invoke(main, ["score", str(d), "--model", str(tiny_model), "--no-progress", "-o", str(out)])
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 31 and sum(bool(x["errors"]) for x in recs) == 1
    assert r.exit_code == 1


# 3. A deeply nested extra field is an error record, not a RecursionError in the output step
def test_deeply_nested_extra_field_is_an_error_record(tiny_model, tmp_path):
    from narratives.model.textfiles import MAX_JSON_DEPTH

    f = tmp_path / "a.jsonl"
    deep = '{"id": "d", "text": "x", "meta": ' + "[" * 500 + "]" * 500 + "}"
    f.write_text(deep + '\n{"id": "ok", "text": "Rain in Mostar."}\n')
    items = _read(f)
    assert _errors(items) == [f"{f}:1: JSON nested more than {MAX_JSON_DEPTH} levels"]
    out = tmp_path / "s.jsonl"
    r = CliRunner().invoke(main, ["score", str(f), "--model", str(tiny_model), "--no-progress", "-o", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [f"{f}:1", "ok"]


# 4. A symlink loop and a FIFO given as arguments
def test_symlink_loop_and_fifo_are_error_records(tiny_model, tmp_path):
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "ok.txt").write_text("Rain in Mostar.")
    items = _read(loop, fifo, tmp_path / "ok.txt")  # the FIFO blocked forever before
    errs = _errors(items)
    assert errs[0].startswith(f"{loop}: cannot read: ") and errs[1] == f"{fifo}: not a regular file; skipped"
    assert _ok(items) == [("ok", "Rain in Mostar.")]
    out = tmp_path / "s.jsonl"  # a loop in the output check raised RuntimeError before
    r = CliRunner().invoke(main, ["score", str(loop), str(fifo), str(tmp_path / "ok.txt"), "--model", str(tiny_model),
                                  "--no-progress", "-o", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    assert len(out.read_text().splitlines()) == 3
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# 5. Duplicate keys in a JSONL article
def test_duplicate_keys_in_a_jsonl_article_are_an_error_record(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"id": "a", "text": "a", "text": "b"}\n{"id": "b", "text": "ok"}\n')
    items = _read(f)
    assert _errors(items) == [f"{f}:1: malformed JSON: duplicate key 'text'"]
    assert _ok(items) == [("b", "ok")]


# 6. A binary Parquet text column is not scored as its Python repr
def test_binary_parquet_text_is_an_error_record(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "b.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": pa.array([b"\xff\xfe", b"ok"], pa.binary()),
                             "blob": pa.array([b"\x00", b"\x01"], pa.binary())}), str(f))
    items = _read(f)
    assert _errors(items) == [f"{f}:1: field 'text' must be a string, got bytes",
                              f"{f}:2: field 'text' must be a string, got bytes"]


# 7. CSV output neutralises formula cells
def test_csv_output_neutralises_formulas(tiny_model, tmp_path):
    import csv

    f = tmp_path / "a.jsonl"
    rows = [{"id": "=HYPERLINK(\"http://x\")", "text": "Rain."}, {"id": "+1", "text": "Rain."},
            {"id": "-2", "text": "Rain."}, {"id": "@SUM(A1)", "text": "Rain."}, {"id": "\tx", "text": "Rain."},
            {"id": "plain", "text": "Rain."}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "s.csv"
    r = CliRunner().invoke(main, ["score", str(f), "--model", str(tiny_model), "--no-progress", "-o", str(out)])
    assert r.exit_code == 0, r.output
    with open(out, newline="", encoding="utf-8") as fh:
        ids = [row["id"] for row in csv.DictReader(fh)]
    assert ids == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain"]


# 8. --resume keeps only the sources of the existing output in memory
def test_resume_reads_the_output_with_bounded_memory(tmp_path, peak_memory):
    from narratives.serve.output import done_sources
    from narratives.serve.records import error_record

    out = tmp_path / "s.jsonl"
    pad = "x" * 20_000
    info = {"model_version": None, "model_hash": None}
    with open(out, "w") as fh:
        for i in range(2_000):  # 40 MB of records
            fh.write(json.dumps(error_record({"id": str(i), "source": f"f:{i}", "error": pad}, info)) + "\n")
        fh.write('{"id": "cut", "sou')
    with peak_memory() as mem:
        done = done_sources(out)
    assert len(done) == 2_000 and "f:1999" in done
    assert mem["peak"] < 5_000_000  # was the whole file, twice
    assert out.read_text().endswith("}\n")
