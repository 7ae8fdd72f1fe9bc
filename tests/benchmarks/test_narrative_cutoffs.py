"""benchmarks/narrative_cutoffs.py: reading scored pages at other cutoffs, and tuning per-narrative cutoffs."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("narrative_cutoffs", ROOT / "benchmarks" / "narrative_cutoffs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _rows():
    # narrative a: its carriers sit at 0.45-0.5, its negatives at 0.3; narrative b: a false alarm at 0.65
    return [{"gold": {"a": "promotes"}, "probs": {"a": 0.5, "b": 0.1}, "stances": {"a": "promotes", "b": "promotes"}},
            {"gold": {"a": "reports"}, "probs": {"a": 0.45, "b": 0.2}, "stances": {"a": "reports", "b": "reports"}},
            {"gold": {}, "probs": {"a": 0.3, "b": 0.65}, "stances": {"a": "reports", "b": "promotes"}},
            {"gold": {"b": "promotes"}, "probs": {"a": 0.2, "b": 0.9}, "stances": {"a": "promotes", "b": "promotes"}}]


def test_tuning_moves_each_narrative_its_own_way_and_beats_one_cutoff():
    m = _module()
    rows = _rows()
    one = m.read_at(rows, {"a": 0.6, "b": 0.6}, ["a", "b"])
    tuned = m.tune(rows, ["a", "b"], 0.6)
    assert tuned["a"] <= 0.45 < 0.65 < tuned["b"]
    best = m.read_at(rows, tuned, ["a", "b"])
    assert best["objective"] == 1.0 > one["objective"]
    assert best["negatives_flagged"] == 0.0 and one["negatives_flagged"] == 1.0


def test_every_narrative_read_records_each_probability_and_restores_the_decider(monkeypatch):
    import narratives.serve.articles as articles
    import narratives.serve.decider as decider

    m = _module()
    d = {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.99,
                                    "cutoffs": {"x": 0.98}}}
    monkeypatch.setattr(articles, "article_decider", lambda clf: d)
    before = (decider.presence_probability, articles.article_decider)
    p = [{"scores": {"x": 0.9, "y": 0.2}, "stance_score": 0.8, "stance": "promotes"}]
    with m.every_narrative_read() as seen:
        read = articles.article_decider(None)
        assert read["presence"]["cutoff"] < 1e-6 and read["presence"]["cutoffs"] == {}
        rec = articles.aggregate(p, [(0, 3)], "abc", ["x", "y"], {"x": 0.5, "y": 0.5}, min_words=1, decider=read)
    assert [lab for lab, _ in seen] == ["x", "y"] and seen[0][1] > seen[1][1]
    assert rec["narratives"] == ["x", "y"]  # near 0, both are predicted and each gets a stance
    assert (decider.presence_probability, articles.article_decider) == before
    assert d["presence"]["cutoff"] == 0.99  # the model's decider itself is untouched
