"""Loading a model whose article decider reads another model's passage scores (its ``evidence``): that model is
loaded with it and checked. A wrong one leaves the model able to score passages (and to have its decider refitted)
but not to decide an article, and `narratives score` and the server refuse to start with it."""
import json

import pytest

from narratives.model import ModelLoadError, load_model
from narratives.train.decider import attach_decider
from tests.conftest import FIXTURES

ARTICLES = FIXTURES / "team_articles" / "articles.jsonl"


def _with_evidence(tiny_model, tmp_path, evidence: dict):
    d = {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.5}, "stance": None,
         "evidence": evidence}
    out = tmp_path / "with-evidence"
    attach_decider(tiny_model, d, out)
    return out


def test_the_pinned_evidence_model_is_loaded_with_the_model(tiny_model, tmp_path):
    pinned = json.loads((tiny_model / "manifest.json").read_text())["model_hash"]
    clf = load_model(_with_evidence(tiny_model, tmp_path, {"model": str(tiny_model), "model_hash": pinned}))
    assert clf.evidence_model_.model_hash_ == pinned


@pytest.mark.parametrize("evidence, message", [
    ({"model": "TINY", "model_hash": "0" * 64}, "is version"),             # another version than the pinned one
    ({"model": "no-such-model", "model_hash": "0" * 64}, "no-such-model"),  # gone
    ({"model": "baseline", "model_hash": "BASE"}, "scores"),                 # other narratives
])
def test_a_wrong_evidence_model_fails_the_load_and_names_it(tiny_model, tmp_path, evidence, message):
    if evidence["model"] == "TINY":
        evidence = {**evidence, "model": str(tiny_model)}
    if evidence["model_hash"] == "BASE":
        evidence = {**evidence, "model_hash": load_model("baseline").model_hash_}
    from click.testing import CliRunner

    from narratives.serve.cli import main
    from narratives.serve.decider import decision_scorer

    path = _with_evidence(tiny_model, tmp_path, evidence)
    clf = load_model(path)
    assert clf.score(["Kosovo set the precedent."]).narratives.shape == (1, len(clf.labels_))  # passages still score
    with pytest.raises(ModelLoadError, match=message):
        decision_scorer(clf)
    (tmp_path / "a.txt").write_text("Kosovo set the precedent for Crimea.")
    r = CliRunner().invoke(main, ["score", str(tmp_path / "a.txt"), "--model", str(path)])
    assert r.exit_code == 1 and "evidence model" in r.output and not r.stdout.startswith("{")
    r = CliRunner().invoke(main, ["decider", "fit", str(path), "--out", str(tmp_path / "refit"), "--evidence", "own",
                                  "--no-real-dev", "--articles", str(ARTICLES)])
    assert r.exit_code == 0, r.output  # the way out the message names
    assert "evidence" not in json.loads((tmp_path / "refit" / "config.json").read_text())["article_decider"]
