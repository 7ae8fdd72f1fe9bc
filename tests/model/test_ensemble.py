"""The ensemble kind: weighted mean of threshold-rescaled member scores, members pinned by hash."""
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from narratives.model import ModelLoadError, load_model
from narratives.model.ensemble import EnsembleNarrativeClassifier
from narratives.model.loading import load_member
from narratives.model.routed import rescale
from narratives.serve.cli import main
from narratives.train import train


def _built(clf, base):
    """An ensemble built from the members saved in ``base`` (a combined model is built, never fitted)."""
    return clf.build({ref: load_member(ref, base) for ref in clf.members})

TEXTS = ["Kosovo set the precedent for Crimea and the West knows it.", "Rain is expected in Sarajevo on Monday.",
         "It was never genocide; the numbers were inflated by foreign courts."]


@pytest.fixture()
def members(tiny_model, labels_dir, corpus_dir, tmp_path):
    shutil.copytree(tiny_model, tmp_path / "one")
    train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "two", cv_folds=3, C=0.5, log=open(os.devnull, "w"))
    return tmp_path


def test_scores_are_the_weighted_mean_of_rescaled_members(members, labels_dir, corpus_dir):
    r = CliRunner().invoke(main, ["ensemble", "--out", str(members / "ens"), "--member", "one=3", "--member", "two=1",
                                  "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 0, r.output
    clf = load_model(members / "ens")
    assert clf.weights_ == {"one": 0.75, "two": 0.25} and clf.thresholds_ == {lab: 0.5 for lab in clf.labels_}
    p, s = clf.scores(TEXTS)
    want_p, want_s = 0, 0
    for name, w in (("one", 0.75), ("two", 0.25)):
        m = load_model(members / name)
        mp, ms = m.scores(TEXTS)
        want_p = want_p + w * rescale(mp, np.array([m.thresholds_[lab] for lab in clf.labels_]))
        want_s = want_s + w * ms
    np.testing.assert_allclose(p, want_p)
    np.testing.assert_allclose(s, want_s)
    card = (members / "ens" / "README.md").read_text()
    assert "`one`" in card and "weight 0.75" in card


def test_one_member_keeps_its_decisions(members):
    clf = _built(EnsembleNarrativeClassifier({"one": 1.0}), members)
    one = load_model(members / "one")
    assert [r["narratives"] for r in clf_predict(clf)] == [r["narratives"] for r in one.predict(TEXTS)]


def clf_predict(clf):
    p, _ = clf.scores(TEXTS)
    return [{"narratives": [lab for lab, v in zip(clf.labels_, row) if v >= 0.5]} for row in p]


def test_a_changed_member_or_bad_weights_are_refused(members):
    _built(EnsembleNarrativeClassifier({"one": 1, "two": 1}), members).save_pretrained(members / "ens")
    assert load_model(members / "ens").labels_
    shutil.rmtree(members / "two")
    shutil.copytree(members / "one", members / "two")  # another model under the member's name
    cfg = json.loads((members / "ens" / "config.json").read_text())
    assert cfg["members"][1]["model"] == "two"
    with pytest.raises(ModelLoadError, match="member 'two' is version .* rebuild it"):
        EnsembleNarrativeClassifier.from_pretrained(members / "ens", member_loader=load_member)
    with pytest.raises(ValueError, match="positive weights"):
        _built(EnsembleNarrativeClassifier({"one": 0}), members)
    with pytest.raises(ValueError, match="positive weights"):
        _built(EnsembleNarrativeClassifier({"one": float("nan")}), members)


def test_an_ensemble_cannot_be_its_own_member(members, labels_dir, corpus_dir):
    from narratives.train.trainer import ensemble

    ensemble(members / "ens", {"one": 1, "two": 1}, labels=labels_dir, corpus=corpus_dir, log=open(os.devnull, "w"))
    before = (members / "ens" / "manifest.json").read_text()
    with pytest.raises(ValueError, match="cannot be a member of the ensemble written over it"):
        ensemble(members / "ens", {"ens": 1}, labels=labels_dir, corpus=corpus_dir, log=open(os.devnull, "w"))
    assert (members / "ens" / "manifest.json").read_text() == before


MIXED = ["Kosovo set the precedent for Crimea and the West knows it.",
         "Косово је био преседан за Крим, и Запад то зна.",
         "Rain is expected in Sarajevo on Monday."]


def test_a_member_limited_to_a_language_scores_only_those_passages(members, labels_dir, corpus_dir):
    r = CliRunner().invoke(main, ["ensemble", "--out", str(members / "ens"), "--member", "one=1",
                                  "--member", "two=3@en,und", "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 0, r.output
    cfg = json.loads((members / "ens" / "config.json").read_text())
    assert [m.get("languages") for m in cfg["members"]] == [None, ["en", "und"]]
    card = (members / "ens" / "README.md").read_text()
    assert "--member two=3.0@en,und" in card and "languages en, und only" in card
    clf = load_model(members / "ens")
    assert clf.languages_ == {"two": ("en", "und")}
    calls = []
    two = clf.members_["two"]
    real = two.score
    two.score = lambda texts, **kw: calls.append(list(texts)) or real(texts, **kw)
    p, s = clf.scores(MIXED)
    assert calls == [[MIXED[0], MIXED[2]]]  # the Serbian passage never reaches the English-only member
    one, two = load_model(members / "one"), load_model(members / "two")
    th = {m: np.array([m.thresholds_[lab] for lab in clf.labels_]) for m in (one, two)}
    p1, s1 = one.scores(MIXED)
    p2, s2 = two.scores(MIXED)
    for i in (0, 2):  # English: 1:3 weights
        np.testing.assert_allclose(p[i], 0.25 * rescale(p1[i], th[one]) + 0.75 * rescale(p2[i], th[two]))
        np.testing.assert_allclose(s[i], 0.25 * s1[i] + 0.75 * s2[i])
    np.testing.assert_allclose(p[1], rescale(p1[1], th[one]))  # Serbian: the unrestricted member alone
    np.testing.assert_allclose(s[1], s1[1])


def test_language_limits_are_checked(members):
    with pytest.raises(ValueError, match="at least one member must score every language"):
        _built(EnsembleNarrativeClassifier({"one": 1}, {"one": ["en"]}), members)
    with pytest.raises(ValueError, match="not members"):
        _built(EnsembleNarrativeClassifier({"one": 1}, {"three": ["en"]}), members)
    with pytest.raises(ValueError, match="non-empty list"):
        _built(EnsembleNarrativeClassifier({"one": 1, "two": 1}, {"two": "en"}), members)
    with pytest.raises(ValueError, match="non-empty list"):
        _built(EnsembleNarrativeClassifier({"one": 1, "two": 1}, {"two": []}), members)
