import json

import numpy as np
import pytest

from narratives.model import ModelLoadError, TfidfNarrativeClassifier
from narratives.model.baseline import best_threshold
from narratives.train.data import load_passages

TEXTS = ["It was never genocide at all", "Kosovo was the precedent for Crimea", "The West stages protests",
         "The council met on Tuesday", "Deniers say it was never genocide, courts disagree",
         "Crimea copied Kosovo, says Moscow"]
NARR = [["genocide_denial"], ["kosovo_precedent"], ["anti_western"], [], ["genocide_denial"], ["kosovo_precedent"]]
STANCE = ["promotes", "promotes", "promotes", "none", "reports", "reports"]
LABELS = ["genocide_denial", "kosovo_precedent", "anti_western"]


def test_fit_follows_the_estimator_contract():
    clf = TfidfNarrativeClassifier(labels=LABELS, min_df=1, cv_folds=0)
    assert not hasattr(clf, "coef_")
    assert clf.fit(TEXTS, NARR, STANCE) is clf
    p = clf.predict_proba(["It was never genocide"])
    assert p.shape == (1, 3) and np.all((p >= 0) & (p <= 1))
    assert p[0, 0] == p[0].max()  # the denial scores highest on its own narrative
    with pytest.raises(ValueError, match="not in the label set"):
        TfidfNarrativeClassifier(labels=["x"], min_df=1).fit(["a b"], [["y"]], ["promotes"])


def test_thresholds_are_tuned_out_of_fold_with_groups(labels_dir, corpus_dir):
    ps = [p for p in load_passages(labels_dir, corpus_dir) if p.split == "train"]
    clf = TfidfNarrativeClassifier(labels=LABELS, min_df=1, cv_folds=3)
    clf.fit([p.text for p in ps], [p.narratives for p in ps], [p.stance for p in ps], [p.source for p in ps])
    assert clf.oof_scores_.shape == (len(ps), 3)
    assert set(clf.thresholds_) == set(LABELS)
    assert all(0.05 <= t <= 0.95 for t in clf.thresholds_.values())


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.75, 0.9])
    t = best_threshold(y, s)
    assert 0.3 < t <= 0.7
    assert best_threshold(np.zeros(3, dtype=int), np.array([0.2, 0.5, 0.9])) == 0.5


def test_save_load_round_trip_gives_identical_scores(tmp_path):
    clf = TfidfNarrativeClassifier(labels=LABELS, min_df=1, cv_folds=0).fit(TEXTS, NARR, STANCE)
    h = clf.save_pretrained(tmp_path / "m")
    loaded = TfidfNarrativeClassifier.from_pretrained(tmp_path / "m")
    assert loaded.model_hash_ == h
    probe = TEXTS + ["something unseen entirely", ""]
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-5)
    np.testing.assert_allclose(loaded.scores(probe)[1], clf.scores(probe)[1], atol=1e-5)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["labels"] == LABELS and set(cfg["thresholds"]) == set(LABELS) and "scikit-learn" in cfg["versions"]
    # Same data and settings give the same bytes, hence the same version.
    again = TfidfNarrativeClassifier(labels=LABELS, min_df=1, cv_folds=0).fit(TEXTS, NARR, STANCE)
    assert again.save_pretrained(tmp_path / "m2") == h


def test_loading_refuses_unknown_kind(tmp_path):
    clf = TfidfNarrativeClassifier(labels=LABELS, min_df=1, cv_folds=0).fit(TEXTS, NARR, STANCE)
    clf.save_pretrained(tmp_path / "m", extra_config={"kind": "mystery"})
    with pytest.raises(ModelLoadError, match="kind 'mystery'"):
        TfidfNarrativeClassifier.from_pretrained(tmp_path / "m")
