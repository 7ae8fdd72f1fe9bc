import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from narratives.model import ModelLoadError, load_model
from narratives.model.loading import load_member
from narratives.model.routed import RoutedNarrativeClassifier, rescale
from narratives.serve import predict
from narratives.serve.cli import main
from narratives.train import train


@pytest.fixture()
def routed(tiny_model, labels_dir, corpus_dir, tmp_path):
    """en -> the tiny model; everything else -> a second tiny model with other regularisation."""
    import shutil

    shutil.copytree(tiny_model, tmp_path / "english")
    train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "other", cv_folds=3, C=0.5, log=open(os.devnull, "w"))
    r = CliRunner().invoke(main, ["route", "--out", str(tmp_path / "routed"), "--lang", "en=english",
                                  "--fallback", "other", "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 0, r.output
    return tmp_path


def test_passages_go_to_the_member_for_their_language(routed):
    clf = load_model(routed / "routed")
    en, other = load_model(routed / "english"), load_model(routed / "other")
    texts = ["Kosovo set the precedent for Crimea and the West knows it.", "Косово је прецедент за Крим, кажу."]
    p, s = clf.scores(texts)
    for i, member in enumerate([en, other]):
        mp, ms = member.scores([texts[i]])
        th = np.array([member.thresholds_[lab] for lab in clf.labels_])
        np.testing.assert_allclose(p[i], rescale(mp, th)[0])
        np.testing.assert_allclose(s[i], ms[0])
        # The member's own decisions are kept: above its threshold <=> above 0.5 after rescaling.
        assert [lab for lab, v in zip(clf.labels_, p[i]) if v >= 0.5] == \
               [lab for lab, v in zip(clf.labels_, mp[0]) if v >= member.thresholds_[lab]]
    assert predict(texts, model=routed / "routed")[0]["model_hash"] == clf.model_hash_
    card = (routed / "routed" / "README.md").read_text()
    assert "routed" in card and json.loads((routed / "routed" / "config.json").read_text())["routes"]["en"]["model"] == "english"


def test_a_changed_member_is_refused(routed, labels_dir, corpus_dir):
    train(labels=labels_dir, corpus=corpus_dir, out=routed / "english", cv_folds=3, C=2.0, log=open(os.devnull, "w"))
    with pytest.raises(ModelLoadError, match="member 'english' .* rebuild it"):
        RoutedNarrativeClassifier.from_pretrained(routed / "routed", member_loader=load_member)


def test_language_is_detected_once_per_passage_and_a_changed_detector_refuses(routed, monkeypatch):
    """predict detects each passage's language once and hands it to the routed model and its members; a
    model built on another detector version refuses to load instead of routing differently."""
    import narratives.model.langid as langid
    import narratives.model.routed as routed_module

    calls: list[str] = []
    real = langid.detect_language

    def counting(text: str) -> str:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(langid, "detect_language", counting)
    monkeypatch.setattr(routed_module, "detect_language", counting)
    texts = ["Kosovo set the precedent for Crimea and the West knows it.", "Косово је прецедент за Крим, кажу."]
    records = predict(texts, model=routed / "routed")
    assert sorted(calls) == sorted(texts) and [r["lang"] for r in records] == ["en", "sr-Cyrl"]

    from narratives.model.kinds import load_model_dir

    monkeypatch.setattr(langid, "DETECTOR_VERSION", 2)
    with pytest.raises(ModelLoadError, match="language detector version 1, but this narratives has version 2"):
        load_model_dir(routed / "routed", member_loader=load_member)
    assert load_model_dir(routed / "english").labels_  # a model that does not depend on the detector loads
