"""Resolve a model reference (a shipped name or a directory) and load it, once per process.

>>> resolve_model(None).name
'baseline'
"""
from __future__ import annotations

import threading
from pathlib import Path

from .artifact import ModelLoadError, model_dir
from .paths import DEFAULT_MODEL_NAME, SHIPPED_MODELS

_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def shipped_names() -> list[str]:
    return sorted(p.name for p in SHIPPED_MODELS.iterdir() if (p / "config.json").exists()) \
        if SHIPPED_MODELS.is_dir() else []


def resolve_model(ref: str | Path | None) -> Path:
    """``None`` or ``"default"`` is the shipped default; a shipped name (``"baseline"``) or a path."""
    if ref is None or ref == "default":
        ref = DEFAULT_MODEL_NAME
    if isinstance(ref, str) and "/" not in ref and (SHIPPED_MODELS / ref).is_dir():
        return SHIPPED_MODELS / ref
    path = Path(ref)
    if model_dir(path).is_dir():
        return path
    raise ModelLoadError(f"model {str(ref)!r} is neither a model directory nor a shipped model "
                         f"({', '.join(shipped_names()) or 'none shipped'})")


def load_model(ref: str | Path | None = None):
    """Load a model once per process (cached by path and model hash; a re-saved model is reloaded).

    >>> load_model().labels_[0]
    'genocide_denial'
    """
    from .baseline import TfidfNarrativeClassifier

    path = model_dir(resolve_model(ref).resolve())
    manifest = path / "manifest.json"
    key = (str(path), manifest.read_text(encoding="utf-8") if manifest.exists() else "")
    with _LOCK:
        if key not in _CACHE:
            if len(_CACHE) >= 8:
                _CACHE.clear()
            _CACHE[key] = TfidfNarrativeClassifier.from_pretrained(path)  # verifies the manifest first
        return _CACHE[key]
