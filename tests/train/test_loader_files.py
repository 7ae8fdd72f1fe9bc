"""Broken label files, fault by fault, for both kinds of label file (team passages and seed spans).

Each fault must be reported as ``file:line: message`` (all of them, in one LabelError), and the rest of the
file must still be read; a byte-order mark and CRLF line endings are accepted. Faults that
``test_data.py`` already covers for team files (invalid UTF-8, a missing field, a repeated id) are only
tested here for seed spans. The taxonomy and targets.yaml are in ``tests/model/test_config_files.py`` and
below.
"""
import json

import pytest

from narratives.train.check import check_labels
from narratives.train.data import MAX_LINE_BYTES, LabelError, load_passages

TEAM = {"id": "N-1", "text": "A fresh passage about a new tram line in Novi Sad.", "lang": "en", "narratives": [],
        "stance": "none", "source": "s1", "split": "train"}


def _seed(labels_dir) -> dict:
    return json.loads((labels_dir / "seed_spans.jsonl").read_text().splitlines()[0])


def _line(obj) -> bytes:
    return (obj if isinstance(obj, str) else json.dumps(obj)).encode("utf-8") + b"\n"


# (file, fault, what to append: a function of the seed record, expected message)
FAULTS = [
    ("team.jsonl", "truncated", lambda s: json.dumps(TEAM)[:40].encode(), "malformed JSON"),
    ("team.jsonl", "wrong-type", lambda s: _line({**TEAM, "text": 5}), "field 'text' must be a non-empty string"),
    ("team.jsonl", "wrong-type", lambda s: _line({**TEAM, "narratives": "anti_western"}),
     "field 'narratives' must be a list of ids"),
    ("team.jsonl", "duplicate-key", lambda s: _line('{"id": "N-1", ' + json.dumps(TEAM)[1:]),
     "malformed JSON: duplicate key 'id'"),
    ("seed_spans.jsonl", "non-utf8", lambda s: b'{"doc": "caf\xe9.txt"}\n', "not valid UTF-8"),
    ("seed_spans.jsonl", "truncated", lambda s: json.dumps(s)[:50].encode(), "malformed JSON"),
    ("seed_spans.jsonl", "wrong-type", lambda s: _line({**s, "end": 33.0}), "'start' and 'end' must be integers"),
    ("seed_spans.jsonl", "wrong-type", lambda s: _line({**s, "doc": ["doc_alpha.txt"]}), "must be a plain file name"),
    ("seed_spans.jsonl", "missing", lambda s: _line({k: v for k, v in s.items() if k != "sha256"}),
     "missing field(s) sha256"),
    ("seed_spans.jsonl", "duplicate-id", lambda s: _line(s), "duplicate id 'doc_alpha:0-33'"),
    ("seed_spans.jsonl", "duplicate-key", lambda s: _line('{"doc": "x.txt", ' + json.dumps(s)[1:]),
     "malformed JSON: duplicate key 'doc'"),
]


@pytest.mark.parametrize("name, fault, append, message", FAULTS, ids=[f"{f[0]}-{f[1]}" for f in FAULTS])
def test_a_bad_line_is_reported_with_file_and_line(labels_dir, corpus_dir, name, fault, append, message):
    f = labels_dir / name
    n = len(f.read_bytes().splitlines())
    with open(f, "ab") as fh:
        fh.write(append(_seed(labels_dir)))
    with pytest.raises(LabelError) as exc:
        load_passages(labels_dir, corpus_dir)
    assert [(w, m) for w, m in exc.value.problems if message in m] == [(f"{f}:{n + 1}", exc.value.problems[0][1])]
    assert len(exc.value.problems) == 1  # nothing else in the file was affected


@pytest.mark.parametrize("name", ["team.jsonl", "seed_spans.jsonl"])
@pytest.mark.parametrize("change", ["bom", "crlf", "bom+crlf", "no-final-newline"])
def test_bom_crlf_and_a_missing_final_newline_are_accepted(labels_dir, corpus_dir, name, change):
    before = load_passages(labels_dir, corpus_dir)
    f = labels_dir / name
    raw = f.read_bytes()
    if "crlf" in change:
        raw = raw.replace(b"\n", b"\r\n")
    if "bom" in change:
        raw = b"\xef\xbb\xbf" + raw
    if change == "no-final-newline":
        raw = raw.rstrip(b"\n")
    f.write_bytes(raw)
    after = load_passages(labels_dir, corpus_dir)
    assert [(p.id, p.text, p.narratives, p.split) for p in after] == [(p.id, p.text, p.narratives, p.split)
                                                                     for p in before]
    assert check_labels(labels_dir, corpus_dir, targets=False).errors == []


@pytest.mark.parametrize("name", ["team.jsonl", "seed_spans.jsonl"])
def test_a_100mb_line_is_refused_by_size_and_reading_goes_on(labels_dir, corpus_dir, name, write_huge_line,
                                                             peak_memory):
    f = labels_dir / name
    n = len(f.read_bytes().splitlines())
    write_huge_line(f, b'{"id": "H-1", "text": "')
    with open(f, "ab") as fh:  # the line after it is still read and checked
        fh.write(_line({**TEAM, "text": 5}) if name == "team.jsonl" else _line({**_seed(labels_dir), "end": "x"}))
    with peak_memory() as mem:
        with pytest.raises(LabelError) as exc:
            load_passages(labels_dir, corpus_dir)
    assert mem["peak"] < 8 * MAX_LINE_BYTES  # the 100 MB line is skipped in blocks, never held whole
    (huge, after) = exc.value.problems
    assert huge == (f"{f}:{n + 1}", f"line is over {MAX_LINE_BYTES:,} bytes (the limit for one label record); skipped")
    assert after[0] == f"{f}:{n + 2}"


# targets.yaml, read by `narratives labels check` (the taxonomy has its own file in tests/model).
TARGETS = "narratives: [genocide_denial]\nper_narrative: {promotes: 1}\nwords: {min: 3, max: 150}\n"


@pytest.mark.parametrize("content, message", [
    (b"narratives: [genocide_denial]\ntotal: 1\n# caf\xe9\n", "line 3: not valid UTF-8"),
    (b"narratives: [genocide_denial]\nwords: {min: 3, max:", "cannot parse"),  # truncated last line
    (b"words: {min: fifteen}\n", "words.min"),  # crashed `labels check` with a TypeError before
    (b"per_narrative: {promotes: [40]}\n", "per_narrative.promotes"),  # so did this
    (b"per_narrative: {promote: 40}\n", "per_narrative.promote"),  # a misspelt stance was silently ignored
    (b"narratives: [1, genocide_denial]\n", "narratives[0]"),
    (b"total: [700]\n", "(integers)"),
    (b"total: 1\ntotal: 2\n", "duplicate key 'total' (line 2)"),
])
def test_bad_targets_yaml_is_reported_not_raised(labels_dir, corpus_dir, content, message):
    (labels_dir / "targets.yaml").write_bytes(content)
    errors = check_labels(labels_dir, corpus_dir).errors
    assert [w for w, m in errors if message in m] == [str(labels_dir / "targets.yaml")], errors


@pytest.mark.parametrize("encode", [lambda t: t.encode(), lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode()])
def test_targets_yaml_with_bom_and_crlf_is_read(labels_dir, corpus_dir, encode):
    (labels_dir / "targets.yaml").write_bytes(encode(TARGETS.replace("words: {min: 3", "words: {min: 30")))
    msgs = [m for _, m in check_labels(labels_dir, corpus_dir).errors]
    assert any("words (allowed 30-150)" in m for m in msgs)  # the file was read, not ignored


def test_a_100mb_targets_yaml_is_refused_by_size(labels_dir, corpus_dir, write_huge_line):
    write_huge_line(labels_dir / "targets.yaml", b"# ", mode="wb")
    errors = check_labels(labels_dir, corpus_dir).errors
    assert errors == [(str(labels_dir / "targets.yaml"), "file is over 1,000,000 bytes; refusing to read it")]
