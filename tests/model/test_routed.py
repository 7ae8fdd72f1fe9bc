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
