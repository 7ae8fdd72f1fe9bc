"""The models directory: every trained version kept side by side, and a pointer to the default.

``narratives train`` (without ``--out``) publishes each model as a new folder named by its version (the
first 12 hex digits of its content hash) under the models directory, and never overwrites or deletes one.
``default.json`` in the models directory names the model that ``predict``, ``narratives score`` and the
HTTP server use when none is named; ``promote`` replaces that file atomically and keeps the previous
defaults in its history, so ``rollback`` can go back one step at a time.

The models directory is ``$NARRATIVES_MODELS`` when set, else ``models`` in the user's data directory
(see :func:`narratives.model.paths.user_models_dir`); the shipped ``model/weights`` is only read. Shipped
models stay reachable by name (``baseline``) from any models directory.

>>> default_ref() in {m.name for m in list_models()}
True
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .artifact import MANIFEST, ModelLoadError, _read_json, atomic_write_text, model_dir, verify_model_dir
from .paths import DEFAULT_MODEL_NAME, SHIPPED_MODELS, user_models_dir

DEFAULT_FILE = "default.json"
VERSION_RE = re.compile(r"^[0-9a-f]{6,64}$")


def models_dir() -> Path:
    """Where trained versions and the default pointer live (``$NARRATIVES_MODELS``, else the user's data
    directory; never the shipped ``model/weights``, unless pointed there).

    >>> models_dir() == user_models_dir()
    True
    """
    return user_models_dir()


def _search_dirs() -> list[Path]:
    first = models_dir()
    return [first] if first.resolve() == SHIPPED_MODELS.resolve() else [first, SHIPPED_MODELS]


@dataclass
class ModelEntry:
    """One model in the models directory (or shipped), as ``narratives models list`` shows it."""

    name: str
    path: Path
    version: str
    kind: str
    labels: list[str] = field(default_factory=list)
    created: str | None = None
    data_sha256: str | None = None
    dev_macro_f1: float | None = None
    test_macro_f1: float | None = None
    shipped: bool = False


def _entry(path: Path, shipped: bool) -> ModelEntry | None:
    """Read a model folder's manifest, config and metrics (not verified: listing is for looking)."""
    try:
        manifest, config = _read_json(path / MANIFEST), _read_json(path / "config.json")
        version = str(manifest["model_hash"])[:12]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    metrics: dict = {}
    with contextlib.suppress(OSError, ValueError, RecursionError):
        metrics = _read_json(path / "metrics.json")  # derived and unhashed: every field is checked below

    def get(obj, *keys, kind=(str,)):
        for k in keys:
            obj = obj.get(k) if isinstance(obj, dict) else None
        return obj if isinstance(obj, kind) and not isinstance(obj, bool) else None

    labels = config.get("labels") if isinstance(config, dict) else None
    return ModelEntry(name=path.name, path=path, version=version, kind=str(get(config, "kind")),
                      labels=[str(x) for x in labels] if isinstance(labels, list) else [],
                      created=get(metrics, "created"), data_sha256=get(config, "data", "labels_sha256"),
                      dev_macro_f1=get(metrics, "splits", "dev", "macro_f1", kind=(int, float)),
                      test_macro_f1=get(metrics, "splits", "test", "macro_f1", kind=(int, float)), shipped=shipped)


def list_models() -> list[ModelEntry]:
    """Every model in the models directory, then the shipped ones, oldest first within each.

    >>> "baseline" in [m.name for m in list_models()]
    True
    """
    out: list[ModelEntry] = []
    for d in _search_dirs():
        if not d.is_dir():
            continue
        found = [e for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")
                 if (e := _entry(p, shipped=d.resolve() == SHIPPED_MODELS.resolve())) is not None]
        out.extend(sorted(found, key=lambda e: (e.created or "", e.name)))
    return out


def find_model(ref: str) -> Path | None:
    """A model folder by name, or by version (a prefix of at least 6 hex digits of its model hash)."""
    for d in _search_dirs():
        if "/" not in ref and ref not in (".", "..") and (d / ref / "config.json").exists():
            return d / ref
    if VERSION_RE.match(ref):
        hits = [e for e in list_models() if e.version.startswith(ref[:12])]
        if len({e.version for e in hits}) > 1:
            raise ModelLoadError(f"version {ref!r} is ambiguous: {', '.join(sorted(e.name for e in hits))}")
        if hits:  # copies of one version (e.g. a shipped model retrained into the models directory): the first
            return hits[0].path
    return None


def read_default(directory: Path | None = None) -> dict | None:
    """The default pointer of a models directory (``{"model", "version", "promoted_at", "history"}``)."""
    f = (directory or models_dir()) / DEFAULT_FILE
    try:
        record = _read_json(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelLoadError(f"{f}: unreadable default pointer ({exc}); fix or delete it") from None
    if not isinstance(record, dict) or not isinstance(record.get("model"), str):
        raise ModelLoadError(f"{f}: field 'model' (a model name) is missing")
    return record


def default_ref() -> str:
    """The name of the default model: the models directory's pointer, else the shipped default.

    >>> isinstance(default_ref(), str)
    True
    """
    for d in _search_dirs():
        record = read_default(d)
        if record is not None:
            return record["model"]
    return DEFAULT_MODEL_NAME


def default_model() -> Path:
    """The default model's folder. A pointer is checked against the version it recorded, so a folder
    retrained in place (a model that never passed ``promote``) is refused rather than served.

    >>> default_model().is_dir()
    True
    """
    for d in _search_dirs():
        record = read_default(d)
        if record is None:
            continue
        where = d / DEFAULT_FILE
        path = find_model(record["model"])
        if path is None:
            raise ModelLoadError(f"{where}: the default model {record['model']!r} is not in {d}; "
                                 "`narratives rollback` or `narratives promote VERSION --force` sets another")
        version = record.get("version")
        if version:
            try:
                found = str(_read_json(model_dir(path) / MANIFEST)["model_hash"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise ModelLoadError(f"{where}: the default model {path} is unreadable ({exc})") from None
            if not found.startswith(str(version)):
                raise ModelLoadError(f"{where}: the default {record['model']!r} was promoted as version {version}, "
                                     f"but that folder now holds {found[:12]}; promote it again (or roll back)")
        return path
    path = find_model(DEFAULT_MODEL_NAME)
    if path is None:
        raise ModelLoadError(f"the shipped default model {DEFAULT_MODEL_NAME!r} is missing from {SHIPPED_MODELS}")
    return path


@contextlib.contextmanager
def _locked(directory: Path):
    """Serialise read-modify-write of the pointer between processes (and threads)."""
    from filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / ".default.lock"):
        yield


def _pointer(path: Path, version: str, note: str | None) -> dict:
    # find_model only returns folders of the models directory or shipped ones: both are named by folder name.
    name = path.name
    return {"model": name, "version": version, "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "note": note}


def set_default(ref: str, note: str | None = None, expect: dict | None = None) -> dict:
    """Make ``ref`` (a name or version found by :func:`find_model`) the default, keeping the previous
    default in the pointer's history. The pointer file is replaced atomically. Returns the new pointer.
    ``expect`` is the pointer as read before a comparison (``read_default()``, ``{}`` for none): if another
    promote changed it meanwhile, this one is refused rather than skipping the gate.

    >>> set_default("baseline")  # doctest: +SKIP
    {'model': 'baseline', 'version': '3fa1020adc89', ...}
    """
    path = find_model(ref)
    if path is None:
        raise ModelLoadError(f"no model {ref!r} in {models_dir()}; see `narratives models list`")
    model_hash = verify_model_dir(path)["model_hash"]  # the caller loads it first (see `narratives promote`)
    directory = models_dir()
    with _locked(directory):
        current = read_default(directory)
        if expect is not None and (current or {}).get("promoted_at") != expect.get("promoted_at"):
            raise ModelLoadError(f"the default changed while this promotion was being checked (now "
                                 f"{(current or {}).get('model')!r}); run the promotion again")
        history = list(current.pop("history", [])) + [current] if current else \
            [{"model": default_ref(), "version": None, "promoted_at": None, "note": "the default before"}]
        record = {**_pointer(path, model_hash[:12], note), "history": history[-50:]}
        atomic_write_text(directory / DEFAULT_FILE, json.dumps(record, indent=2) + "\n")
    return record


def rollback() -> dict:
    """Make the previous default the default again (one step back in the pointer's history).

    >>> rollback()  # doctest: +SKIP
    {'model': 'baseline', ...}
    """
    directory = models_dir()
    with _locked(directory):
        current = read_default(directory)
        history = list((current or {}).get("history", []))
        if not history:
            raise ModelLoadError(f"{directory / DEFAULT_FILE}: nothing to roll back to (no earlier default)")
        previous = history.pop()
        if find_model(previous["model"]) is None:
            raise ModelLoadError(f"the previous default {previous['model']!r} is no longer in {directory}")
        record = {**previous, "history": history}
        atomic_write_text(directory / DEFAULT_FILE, json.dumps(record, indent=2) + "\n")
    return record


def publish_version(staged: Path) -> tuple[Path, bool]:
    """Move a freshly saved model folder to ``<models dir>/<version>``; returns ``(path, new)``.

    A version that already exists is the same model byte for byte (its name is its content hash), so
    the staged copy is dropped and the existing one kept: nothing is ever overwritten.
    """
    model_hash = str(_read_json(staged / MANIFEST)["model_hash"])
    target = staged.parent / model_hash[:12]

    def same() -> bool:
        try:
            return str(_read_json(target / MANIFEST)["model_hash"]) == model_hash
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return False

    if same():
        shutil.rmtree(staged, ignore_errors=True)
        return target, False
    if target.exists() or model_dir(target) != target:  # an empty or broken folder, or a stranded save
        raise ModelLoadError(f"{target} exists but is not this model (an interrupted or damaged copy); move it "
                             f"aside and train again (the new model waits in {staged} until the next run)")
    try:
        os.rename(staged, target)  # atomic; fails rather than replacing if target appeared meanwhile
    except OSError:
        if not same():
            raise
        shutil.rmtree(staged, ignore_errors=True)  # a concurrent run published the same model first
        return target, False
    return target, True


def staging_dir(directory: Path | None = None) -> Path:
    """A fresh, hidden folder name to save a new version into before :func:`publish_version`;
    leftovers of killed runs (their process gone) are removed."""
    directory = directory or models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for old in [*directory.glob(".incoming-*"), *directory.glob("..incoming-*")]:
        with contextlib.suppress(ValueError, PermissionError):
            pid = int(old.name.split("-")[1])  # .incoming-PID-NS and its save's ..incoming-PID-NS.tmp-*
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(old, ignore_errors=True)
    return directory / f".incoming-{os.getpid()}-{time.time_ns()}"
