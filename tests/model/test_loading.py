"""Loading a model whose article decider reads another model's passage scores (its ``evidence``): that model is
loaded with it and checked, so a wrong one fails the load (and a server's start), never the first article."""
import json

import pytest

from narratives.model import ModelLoadError, load_model
from narratives.train.decider import attach_decider


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
    with pytest.raises(ModelLoadError, match=message):
        load_model(_with_evidence(tiny_model, tmp_path, evidence))
