"""The one save/load implementation every model kind inherits (template methods, as in flair's Model).

A kind supplies what is its own: ``score`` (the contract), ``_kind_config()`` (its config.json fields
beyond the common ones), ``_weights()`` (tensors for ``weights.safetensors`` and any other hashed
files, such as a vocabulary) and ``_from_saved(saved)`` (rebuild from a verified directory). Saving is
atomic, writes the manifest of sha256 sums and returns the model hash; loading verifies the manifest
before anything is parsed (see :mod:`narratives.model.artifact`).

>>> from narratives.model import base, baseline
>>> issubclass(baseline.TfidfNarrativeClassifier, base.NarrativeModelBase)
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .artifact import FORMAT, FORMAT_VERSION, ModelLoadError, save_model_dir, verify_model_dir
from .contract import STANCES, Scores, decide
from .langid import detector_config, detector_problem

ExtraFiles = Callable[[str], dict[str, str | bytes]]


@dataclass(frozen=True)
class SavedModel:
    """A verified model directory: its path, parsed config and model hash, and readers for its files."""

    path: Path
    config: dict
    model_hash: str

    def tensors(self, framework: str = "numpy") -> dict[str, Any]:
        """``weights.safetensors`` as numpy arrays (or torch tensors with ``framework="pt"``)."""
        from safetensors import safe_open

        with safe_open(str(self.path / "weights.safetensors"), framework=framework) as fh:
            return {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118  (safe_open has no iteration)

    def json(self, name: str) -> Any:
        """A hashed JSON file (a vocabulary): no key given twice, nesting bounded (``ValueError`` naming
        the file, never a ``RecursionError``, however deep a rewritten file nests)."""
        from .textfiles import check_json_value, load_json

        try:
            value = load_json((self.path / name).read_text(encoding="utf-8"))
        except RecursionError:
            raise ValueError(f"{name}: JSON nested too deeply") from None
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        why = check_json_value(value, strict=False)
        if why is not None:
            raise ValueError(f"{name}: {why}")
        return value


class NarrativeModelBase:
    """Common behaviour of every kind: ``config``, ``save_pretrained``, ``from_pretrained``, and the
    pre-contract names ``scores``, ``predict_proba`` and ``predict``, all defined by ``score``."""

    kind: ClassVar[str]
    # Learned (or, for combined models, built) state.
    labels_: list[str]
    thresholds_: dict[str, float]
    # Set by save/load (a model fitted in memory and not saved has none of them).
    config_: dict
    model_hash_: str
    path_: str
    # The model card's line on this kind's weak spots.
    weak_spots: ClassVar[str] = ("- Bag-of-n-grams: it sees words, not meaning. Paraphrases far from the training "
                                 "wording, irony, and quotes that are refuted only several sentences later are its "
                                 "weak spots.")

    # ---- the contract ---------------------------------------------------------------------------
    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        raise NotImplementedError

    def scores(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """The same as :meth:`score` (the name used before the contract)."""
        return self.score(texts, langs=langs)

    @classmethod
    def uses_language(cls, config: dict) -> bool:
        """Whether a model with this config routes, limits or transforms passages by detected language
        (its config then depends on the detector's version)."""
        return False

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Per-narrative scores in [0, 1], shape ``(len(texts), len(labels_))``."""
        return self.score(texts).narratives

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """Per text: ``narratives`` at or above their thresholds and a ``stance`` (``none`` without any)."""
        return [{"narratives": n, "stance": s} for n, s in decide(self.score(texts), self.labels_, self.thresholds_)]

    # ---- the card -------------------------------------------------------------------------------
    @classmethod
    def describe(cls, config: dict) -> list[str]:
        """Lines for the model card's summary that only this kind knows how to write."""
        return []

    # ---- persistence ----------------------------------------------------------------------------
    def _kind_config(self) -> dict:
        return {}

    def _versions(self) -> dict[str, str]:
        return {}

    def _weights(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Tensors for ``weights.safetensors`` (None: no weights file) and other hashed files by name."""
        return None, {}

    def config(self) -> dict:
        """The ``config.json`` this model is saved with."""
        config = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind, "labels": list(self.labels_),
                  "stances": list(STANCES), "thresholds": {k: float(v) for k, v in self.thresholds_.items()},
                  "versions": self._versions(), **self._kind_config()}
        return {**config, **detector_config()} if self.uses_language(config) else config

    def save_pretrained(self, path: str | Path, extra_config: dict | None = None,
                        extra_files: ExtraFiles | None = None, decider_files: dict[str, bytes] | None = None) -> str:
        """Write the model directory atomically; returns the model hash (its version).

        ``extra_config`` merges into ``config.json`` (e.g. data hashes); ``extra_files(model_hash)`` maps
        derived file names (``metrics.json``, ``README.md``) to their content, so a card can name the
        version it describes; ``decider_files`` are the article decider's hashed files (see
        :data:`narratives.model.artifact.DECIDER_FILES`).
        """
        tensors, files = self._weights()

        def write_weights(tmp: Path) -> None:
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8")
            if tensors is not None:
                _save_tensors(tensors, tmp / "weights.safetensors")

        return save_model_dir(path, self.config(), write_weights, extra_config, extra_files, decider_files)

    @classmethod
    def _from_saved(cls, saved: SavedModel, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> Any:
        """Load a model directory after verifying its manifest; sets ``config_``, ``model_hash_``, ``path_``."""
        manifest = verify_model_dir(path, kind=cls.kind)
        saved = SavedModel(Path(manifest["path"]), manifest["config"], manifest["model_hash"])
        problem = detector_problem(saved.config) if cls.uses_language(saved.config) else None
        if problem:
            raise ModelLoadError(f"{saved.path}: {problem}")
        try:
            self = cls._from_saved(saved, **kwargs)
        except ModelLoadError:
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ModelLoadError(f"{saved.path}: model files are inconsistent ({exc!r})") from None
        self.config_ = saved.config
        self.model_hash_ = saved.model_hash
        self.path_ = str(saved.path)
        return self


def _save_tensors(tensors: dict[str, Any], path: Path) -> None:
    """One safetensors file, without metadata: safetensors writes a metadata map in random key order,
    which would break the byte-for-byte reproducibility the model hash relies on."""
    if any(type(v).__module__.startswith("torch") for v in tensors.values()):
        from safetensors.torch import save_file as save_torch

        save_torch(tensors, str(path))
    else:
        from safetensors.numpy import save_file

        save_file(tensors, str(path))
