"""benchmarks/pool_heads.py: heads fitted as `narratives train --real-negatives --real-positives` fits them, the
product's own pick of positives, and ranking figures that follow the scores."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from narratives.train.data import Passage

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["a", "b"]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "pool_heads.py")))  # not run as __main__


def test_variants_parse_with_the_shipped_defaults_and_refuse_unknown_settings():
    mod = _module()
    assert mod.parse_variant("") == {"top": 1, "C": 4.0, "evidence": 0}
    assert mod.parse_variant("top=3,evidence=1") == {"top": 3, "C": 4.0, "evidence": 1}
    with pytest.raises(ValueError, match="unknown setting 'k'"):
        mod.parse_variant("k=2")


def _data():
    """Embeddings where the first coordinate says ``a`` and the second says ``b``: passages named by their role."""
    emb = {}
    team = []
    for i in range(8):
        emb[f"ta{i}"] = np.array([3.0, 0.0, i / 10], dtype=np.float32)
        emb[f"tb{i}"] = np.array([0.0, 3.0, i / 10], dtype=np.float32)
        emb[f"tn{i}"] = np.array([-3.0, -3.0, i / 10], dtype=np.float32)
        team += [Passage(f"ta{i}", f"ta{i}", ("a",), "promotes", "s", "train"),
                 Passage(f"tb{i}", f"tb{i}", ("b",), "promotes", "s", "train"),
                 Passage(f"tn{i}", f"tn{i}", (), "none", "s", "train")]
    emb.update({"pa_weak": np.array([1.0, -1.0, 0.0], np.float32), "pa_strong": np.array([2.5, -1.0, 0.0], np.float32),
                "pa_other": np.array([-2.0, -2.0, 0.0], np.float32), "pn": np.array([-2.5, -2.5, 0.0], np.float32)})
    pool = [{"id": "p1", "labels": {"a": "promotes"}, "lang": "ru", "passages": ["pa_weak", "pa_strong", "pa_other"],
             "spans": [(0, 7), (8, 17), (18, 26)]},
            {"id": "p2", "labels": {}, "lang": "en", "passages": ["pn"], "spans": [(0, 2)]}]
    return emb, team, pool


def test_heads_take_the_k_best_scored_passages_of_a_page_as_positives():
    mod = _module()
    emb, team, pool = _data()
    picked = []

    class Spy(mod.Heads):
        def fit(self, team, pool):
            import narratives.train.realpassages as rp

            real = rp.top_passages
            rp.top_passages = lambda clf, pages, top: picked.append(real(clf, pages, top)) or picked[-1]
            try:
                return super().fit(team, pool)
            finally:
                rp.top_passages = real

    Spy(LABELS, emb, top=1, C=4.0).fit(team, pool)
    Spy(LABELS, emb, top=2, C=4.0).fit(team, pool)
    assert [p.text for p in picked[0]] == ["pa_strong"]
    assert sorted(p.text for p in picked[1]) == ["pa_strong", "pa_weak"]  # not the page's third passage


def test_marked_evidence_replaces_the_guess_and_makes_the_pages_other_passages_negatives():
    mod = _module()
    emb, team, pool = _data()
    marked = {("p1", "a"): ((8, 17),)}  # pa_strong carries it; pa_weak does not
    guess = mod.Heads(LABELS, emb, top=2, C=4.0).fit(team, pool)
    evidence = mod.Heads(LABELS, emb, top=2, C=4.0, evidence=1, marked=marked).fit(team, pool)
    only = mod.Heads(LABELS, emb, top=2, C=4.0, evidence=2, marked=marked).fit(team, pool)
    weak = {name: float(h.score(["pa_weak"])[0][0, 0]) for name, h in
            (("guess", guess), ("evidence", evidence), ("only", only))}
    assert weak["evidence"] < weak["only"] < weak["guess"]  # a negative, then unlabelled, then a guessed positive


def test_ranking_reads_the_best_passage_and_splits_english_from_the_rest():
    mod = _module()
    emb, team, pool = _data()
    pages = [{"labels": {"a": "promotes"}, "lang": "ru"}, {"labels": {}, "lang": "ru"},
             {"labels": {"b": "reports"}, "lang": "en"}, {"labels": {}, "lang": "en"}]
    good = np.array([[0.9, 0.1], [0.2, 0.1], [0.1, 0.8], [0.1, 0.2]])
    fig = mod.ranking(pages, good, LABELS)
    assert fig["all"] == {"mAP": 1.0, "any": 1.0} and fig["non-en"]["mAP"] == 1.0
    bad = good[:, ::-1].copy()  # each narrative's score swapped with the other's
    assert mod.ranking(pages, bad, LABELS)["all"]["mAP"] < 1.0
    heads = mod.Heads(LABELS, emb, top=1, C=4.0).fit(team, pool)
    scores = heads.page_scores(pool)
    assert scores[0, 0] > 0.5 > scores[1, 0]  # the page that carries a outranks the one that does not
