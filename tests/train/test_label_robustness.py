"""Malformed label folders are reported with file and line, never with a traceback."""
import json
import os
import stat

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.check import check_labels
from narratives.train.data import LabelError, load_passages
from narratives.train.splits import LOCK, assign_splits, frozen_hash, write_splits


def _rewrite(path, fn):
    rows = [json.loads(line) for line in open(path)]
    rows = fn(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(doc=""), "field 'doc' must be a plain file name"),
    (lambda r: r.update(start=True), "'start' and 'end' must be integers"),
    (lambda r: r.update(lang="xx"), "field 'lang' must be one of"),
    (lambda r: r.update(colour="blue"), "unknown field(s) colour"),
    (lambda r: r.update(sha256=5), "field 'sha256' must be a hex string"),
])
def test_bad_seed_spans_are_reported(labels_dir, corpus_dir, change, message):
    _rewrite(labels_dir / "seed_spans.jsonl", lambda rows: [change(rows[0]) or rows[0], *rows[1:]])
    res = check_labels(labels_dir, corpus_dir)
    assert any(w.endswith("seed_spans.jsonl:1") and message in m for w, m in res.errors), res.errors


def test_lone_surrogate_and_deep_nesting_in_label_files(labels_dir, corpus_dir):
    with open(labels_dir / "team.jsonl", "a") as fh:
        fh.write('{"id": "U-1", "text": "bad \\ud800 text", "lang": "en", "narratives": [], "stance": "none", '
                 '"source": "s9", "split": "train"}\n')
        fh.write("[" * 100000 + "\n")
    with pytest.raises(LabelError) as exc:
        load_passages(labels_dir, corpus_dir)
    assert "team.jsonl:30: field 'text' is not valid Unicode" in str(exc.value)
    assert "team.jsonl:31: malformed JSON: nested too deeply" in str(exc.value)


def test_contradictory_duplicate_in_one_source_is_an_error(labels_dir, corpus_dir):
    with open(labels_dir / "team.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "D-9", "text": "The council approved a new bus timetable for the winter season.",
                             "lang": "en", "narratives": ["anti_western"], "stance": "promotes", "source": "s1",
                             "split": "train"}) + "\n")
    res = check_labels(labels_dir, corpus_dir)
    assert any("duplicate text of" in m for _, m in res.errors)


def test_malformed_targets_and_lock_are_reported(labels_dir, corpus_dir):
    (labels_dir / "targets.yaml").write_text("")
    assert check_labels(labels_dir, corpus_dir).errors == []
    (labels_dir / "targets.yaml").write_text("words: {max: 5}\n")
    assert any("allowed 0-5" in m for _, m in check_labels(labels_dir, corpus_dir).errors)
    (labels_dir / "targets.yaml").write_text("- a list\n")
    assert any("expected a mapping" in m for _, m in check_labels(labels_dir, corpus_dir).errors)
    (labels_dir / LOCK).write_text("[]")
    assert any("'sha256' string" in m for _, m in check_labels(labels_dir, corpus_dir, targets=False).errors)
    r = CliRunner().invoke(main, ["train", "--out", str(labels_dir.parent / "m"), "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir)])
    assert r.exit_code == 1 and "test_split.lock" in r.output and "Traceback" not in r.output


def test_new_passages_join_their_source_split_but_never_a_frozen_test_source(labels_dir, corpus_dir):
    os.chmod(labels_dir / "team.jsonl", 0o644)
    with open(labels_dir / "team.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "A-1", "text": "Another passage from batch one about a tram line.", "lang": "en",
                             "narratives": [], "stance": "none", "source": "s1"}) + "\n")
    ps = load_passages(labels_dir, corpus_dir, require_split=False)
    write_splits(labels_dir, assign_splits(ps, frozen_test=True))
    assert {p.split for p in load_passages(labels_dir, corpus_dir) if p.source == "s1"} == {"train"}
    assert stat.S_IMODE(os.stat(labels_dir / "team.jsonl").st_mode) == 0o644  # permissions kept
    with open(labels_dir / "team.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "A-2", "text": "A late addition to the test batch about a bridge.", "lang": "en",
                             "narratives": [], "stance": "none", "source": "s5"}) + "\n")
    with pytest.raises(ValueError, match="frozen test split and takes no new passages"):
        assign_splits(load_passages(labels_dir, corpus_dir, require_split=False), frozen_test=True)


def test_test_hash_covers_language_and_source(labels_dir, corpus_dir):
    test = [p for p in load_passages(labels_dir, corpus_dir) if p.split == "test"]
    from dataclasses import replace

    assert frozen_hash(test) != frozen_hash([replace(test[0], lang="ru"), *test[1:]])
    assert frozen_hash(test) != frozen_hash([replace(test[0], source="elsewhere"), *test[1:]])


def test_evaluate_on_an_empty_split_is_a_clean_error(tiny_model, labels_dir, corpus_dir):
    _rewrite(labels_dir / "team.jsonl", lambda rows: [dict(r, split="train") if r["split"] == "dev" else r for r in rows])
    r = CliRunner().invoke(main, ["evaluate", str(tiny_model), "--split", "dev", "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir)])
    assert r.exit_code == 1 and "no labelled passages in the dev split" in r.output
