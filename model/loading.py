"""Resolve a model reference (a shipped name or a directory) and load it, once per process.

>>> resolve_model(None).name
'ensemble'
"""
from __future__ import annotations

import threading
from pathlib import Path

from .artifact import ModelLoadError, model_dir
from .paths import SHIPPED_MODELS

_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.RLock()  # re-entrant: a routed model loads its members inside load_model


# Model kinds and the class that loads each, imported only when needed (the TF-IDF path never imports torch).
KINDS = {
    "tfidf-logreg": ("narratives.model.baseline", "TfidfNarrativeClassifier"),
    "transformer": ("narratives.model.transformer", "TransformerNarrativeClassifier"),
    "routed": ("narratives.model.routed", "RoutedNarrativeClassifier"),
    "ensemble": ("narratives.model.ensemble", "EnsembleNarrativeClassifier"),
    "frozen-embedding": ("narratives.model.e5head", "FrozenEmbeddingClassifier"),
}


def model_class(kind: str):
    """The class for a model kind (see ``KINDS``).

    >>> model_class("tfidf-logreg").__name__
    'TfidfNarrativeClassifier'
    """
    import importlib

    if kind not in KINDS:
        raise ModelLoadError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
    module, name = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def _kind(path: Path) -> str:
    """The kind named in a model's config.json, read with the same limits as the verified load."""
    from .artifact import _read_json, _reason

    try:
        kind = _read_json(path / "config.json").get("kind")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path}/config.json: unreadable ({_reason(exc)})") from None
    return str(kind)


def shipped_names() -> list[str]:
    return sorted(p.name for p in SHIPPED_MODELS.iterdir() if (p / "config.json").exists()) \
        if SHIPPED_MODELS.is_dir() else []


def resolve_model(ref: str | Path | None) -> Path:
    """``None`` or ``"default"`` is the default model (see ``narratives promote``); otherwise a model name
    or version in the models directory, a shipped name (``"baseline"``), or a model directory path."""
    from .registry import default_model, find_model, models_dir

    if ref is None or ref == "default":
        return default_model()  # never a folder of the working directory
    if isinstance(ref, str):
        found = find_model(ref)
        if found is not None:
            return found
    path = Path(ref)
    if model_dir(path).is_dir():
        return path
    raise ModelLoadError(f"model {str(ref)!r} is neither a model directory nor a model in {models_dir()} "
                         f"(shipped: {', '.join(shipped_names()) or 'none'}; see `narratives models list`)")


def load_model(ref: str | Path | None = None):
    """Load a model once per process (cached by path and model hash; a re-saved model is reloaded).

    >>> load_model().labels_[0]
    'genocide_denial'
    """
    path = model_dir(resolve_model(ref).resolve())
    manifest = path / "manifest.json"
    st = manifest.stat() if manifest.exists() else None  # a re-saved model is a new file: reloaded
    key = (str(path), f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}" if st else "")
    with _LOCK:
        if key not in _CACHE:
            if len(_CACHE) >= 8:
                _CACHE.clear()
            _CACHE[key] = model_class(_kind(path)).from_pretrained(path)  # verifies the manifest first
        return _CACHE[key]
