"""The model contract, the kind registry and the one save/load implementation."""
from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np
import pytest

from narratives.model import ModelLoadError, load_model
from narratives.model.base import NarrativeModelBase, SavedModel
from narratives.model.contract import NarrativeModel, Scores, decide
from narratives.model.kinds import _KINDS, kind_spec, kinds, load_model_dir, register_kind, train_choices
from narratives.model.paths import SHIPPED_MODELS


def test_every_kind_follows_the_estimator_rules():
    for name, spec in kinds().items():
        assert issubclass(spec.cls, NarrativeModelBase), name
        assert spec.cls.kind == name
        if spec.combined:
            assert hasattr(spec.cls, "build") and "fit" not in vars(spec.cls), f"{name} is built, not fitted"
            continue
        model = spec.cls()
        params = [p for p in inspect.signature(spec.cls.__init__).parameters if p != "self"]
        assert sorted(vars(model)) == sorted(params), f"{name}.__init__ stores its arguments and nothing else"
        assert "langs" in inspect.signature(spec.cls.score).parameters, f"{name}.score takes the passages' languages"
        assert not [k for k in vars(model) if k.endswith("_")]
        assert set(spec.options.values()) <= set(params), f"{name}'s CLI options name constructor parameters"


def test_every_shipped_model_is_a_registered_kind_and_loads_through_the_registry():
    import json

    for d in sorted(p for p in SHIPPED_MODELS.iterdir() if (p / "config.json").exists()):
        kind = json.loads((d / "config.json").read_text())["kind"]
        assert kind_spec(kind).name == kind
    model = load_model("baseline")
    assert isinstance(model, NarrativeModel)
    assert isinstance(model.score(["Kosovo was the precedent for Crimea."]), Scores)


def test_aliases_and_unknown_kinds():
    assert kind_spec("baseline") is kind_spec("tfidf-logreg")
    assert kind_spec("e5").name == "frozen-embedding"
    assert "ensemble" in train_choices() and "routed" not in train_choices()
    with pytest.raises(ModelLoadError, match="unknown model kind 'nope'; known: .*baseline"):
        kind_spec("nope")


def test_resaving_the_shipped_baseline_keeps_its_version(tmp_path):
    """The one save implementation writes the shipped baseline byte for byte as it was trained."""
    shipped = load_model("baseline")
    again = shipped.save_pretrained(tmp_path / "b", extra_config={"data": shipped.config_["data"]})
    assert again == shipped.model_hash_


def test_decide_is_the_one_rule():
    scores = Scores(np.array([[0.5, 0.49], [0.1, 0.9], [0.0, 0.0]]), np.array([0.5, 0.2, 0.9]))
    assert decide(scores, ["a", "b"], {"a": 0.5, "b": 0.5}) == [(["a"], "promotes"), (["b"], "reports"), ([], "none")]
    model = load_model("baseline")
    texts = ["NATO encircles Russia from the Balkans.", "Rain in Sarajevo."]
    assert [(r["narratives"], r["stance"]) for r in model.predict(texts)] == \
        decide(model.score(texts), model.labels_, model.thresholds_)


class ConstantModel(NarrativeModelBase):
    """A new kind in one class: every passage gets the same scores (``level``)."""

    def __init__(self, labels: Sequence[str] | None = None, level: float = 0.25):
        self.labels = labels
        self.level = level

    def fit(self, texts, narratives, stances, groups=None, **_unused):
        self.labels_ = list(self.labels or sorted({n for ns in narratives for n in ns}))
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        self.bias_ = np.full(len(self.labels_), self.level, dtype=np.float32)
        return self

    def score(self, passages, langs=None):
        n = len(list(passages))
        return Scores(np.tile(self.bias_.astype(np.float64), (n, 1)), np.full(n, 0.5))

    def _kind_config(self):
        return {"params": {"level": self.level}}

    def _weights(self):
        return {"bias": self.bias_}, {}

    @classmethod
    def _from_saved(cls, saved: SavedModel, **_unused):
        self = cls(labels=saved.config["labels"], **saved.config["params"])
        self.labels_ = list(saved.config["labels"])
        self.thresholds_ = dict(saved.config["thresholds"])
        self.bias_ = saved.tensors()["bias"]
        return self


def test_a_new_kind_is_one_class_and_one_registration(tmp_path):
    register_kind("test-constant", aliases=("constant",), options={"seed": "level"})(ConstantModel)
    try:
        model = ConstantModel(level=0.75).fit(["x", "y"], [["a"], []], ["promotes", "none"])
        h = model.save_pretrained(tmp_path / "c")
        loaded = load_model_dir(tmp_path / "c")
        assert type(loaded) is ConstantModel and loaded.model_hash_ == h
        assert loaded.predict(["anything"]) == [{"narratives": ["a"], "stance": "promotes"}]
        assert "constant" in train_choices()
        (tmp_path / "c" / "weights.safetensors").write_bytes(b"changed")
        with pytest.raises(ModelLoadError, match="altered"):
            load_model_dir(tmp_path / "c")
    finally:
        _KINDS.pop("test-constant", None)


def test_every_module_is_in_a_layer_of_the_import_contract():
    """`lint-imports` only checks the modules its layers name: a new module must join one."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layered = {m.strip() for c in config["contracts"] for layer in c["layers"] for m in layer.replace("|", ":").split(":")}
    missing = []
    for package in ("model", "serve", "train"):
        for f in sorted((root / package).rglob("*.py")):
            parts = f.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                continue
            name = "narratives." + ".".join(parts)
            if not any(name == m or name.startswith(m + ".") for m in layered):
                missing.append(name)
    assert missing == [], f"add these modules to a layer in pyproject.toml [tool.importlinter]: {missing}"
