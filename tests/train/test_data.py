import json
import re

import pytest

from narratives.train.data import LabelError, load_passages


def test_loads_team_passages_and_resolves_seed_spans(labels_dir, corpus_dir):
    ps = load_passages(labels_dir, corpus_dir)
    seeds = [p for p in ps if p.source == "doc_alpha.txt"]
    assert len(seeds) == 3
    doc = (corpus_dir / "doc_alpha.txt").read_text(encoding="utf-8")
    assert all(p.text in doc for p in seeds)
    assert seeds[2].narratives == ("genocide_denial",) and seeds[2].stance == "reports"
    assert {p.split for p in ps} == {"train", "dev", "test"}


def test_missing_corpus_file_names_the_span(labels_dir, tmp_path):
    with pytest.raises(LabelError) as exc:
        load_passages(labels_dir, tmp_path)
    assert re.search(r"seed_spans.jsonl:1: span doc_alpha.txt\[0:\d+\]", str(exc.value))
    assert "not found" in str(exc.value)


def test_hash_mismatch_names_the_span(labels_dir, corpus_dir, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = (corpus_dir / "doc_alpha.txt").read_text(encoding="utf-8")
    (corpus / "doc_alpha.txt").write_text(text.replace("tram line", "tram stop"), encoding="utf-8")
    with pytest.raises(LabelError) as exc:
        load_passages(labels_dir, corpus)
    msg = str(exc.value)
    assert "seed_spans.jsonl:2: span doc_alpha.txt[" in msg and "sha256" in msg
    assert "seed_spans.jsonl:1" not in msg  # the untouched spans still resolve


def _append(path, obj_or_line):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write((obj_or_line if isinstance(obj_or_line, str) else json.dumps(obj_or_line)) + "\n")


GOOD = {"id": "X-1", "text": "Some passage text here.", "lang": "en", "narratives": [], "stance": "none",
        "source": "sx", "split": "train"}


@pytest.mark.parametrize("bad, message", [
    ({**GOOD, "narratives": ["made_up"]}, "unknown narrative id(s) ['made_up']; valid: genocide_denial"),
    ({**GOOD, "narratives": ["anti_western"], "stance": "none"}, "stance must be 'none' exactly when"),
    ({**GOOD, "stance": "promotes"}, "stance must be 'none' exactly when"),
    ({**GOOD, "stance": "maybe"}, "field 'stance' must be one of"),
    ({k: v for k, v in GOOD.items() if k != "text"}, "missing field(s) text"),
    ({**GOOD, "lang": "xx"}, "field 'lang' must be one of"),
    ({**GOOD, "split": "holdout"}, "field 'split' must be one of"),
    ({**GOOD, "id": "T-001"}, "duplicate id 'T-001'"),
    ('{"id": "X-2", "text": ', "malformed JSON"),
    ('["a list"]', "expected a JSON object"),
])
def test_bad_records_are_reported_with_file_and_line(labels_dir, corpus_dir, bad, message):
    team = labels_dir / "team.jsonl"
    n = sum(1 for _ in open(team))
    _append(team, bad)
    with pytest.raises(LabelError) as exc:
        load_passages(labels_dir, corpus_dir)
    assert f"team.jsonl:{n + 1}: " in str(exc.value)
    assert message in str(exc.value)


def test_non_utf8_label_line_is_reported(labels_dir, corpus_dir):
    with open(labels_dir / "team.jsonl", "ab") as fh:
        fh.write(b'{"id": "X-3", "text": "caf\xe9"}\n')
    with pytest.raises(LabelError, match=r"team.jsonl:30: not valid UTF-8"):
        load_passages(labels_dir, corpus_dir)
