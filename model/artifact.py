"""Model directories: atomic writes, a manifest of sha256 sums, and the content hash that is the version.

A model directory holds ``config.json`` and weight files (which decide every prediction), and the
derived ``metrics.json`` and ``README.md`` (the model card). ``manifest.json`` lists the sha256 of every
file; the *model hash* is a sha256 over the names and sums of the prediction-deciding files only, so a
new card never changes a model's version.

>>> model_hash_of({"config.json": "ab", "weights.safetensors": "cd"})[:12]
'c69d2fb3cc80'
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .textfiles import MAX_CONFIG_BYTES, load_json, read_small_text
from .textfiles import atomic_write_text as atomic_write_text  # moved to the core layer; importable here too

MANIFEST = "manifest.json"
FORMAT = "narratives-model"
FORMAT_VERSION = 1
# Files whose bytes decide predictions; they make up the model hash.
HASHED = ("config.json", "vocab.json", "weights.safetensors", "article_stance.json", "article_stance.safetensors",
          "page_lexicon.json", "page_lexicon.safetensors")
# Hashed files that belong to the article decider rather than to the kind (narratives.model.articlestance,
# narratives.model.pagelexicon).
DECIDER_FILES = ("article_stance.json", "article_stance.safetensors", "page_lexicon.json", "page_lexicon.safetensors")
FORBIDDEN_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".bin")


class ModelLoadError(ValueError):
    """A model directory is missing, incomplete, altered, of an unknown format, or unsafe to load."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_hash_of(sums: dict[str, str]) -> str:
    """The model hash from a ``{file name: sha256}`` map: names and sums of the hashed files, sorted."""
    h = hashlib.sha256()
    for name in sorted(n for n in sums if n in HASHED):
        h.update(f"{name}\0{sums[name]}\n".encode())
    return h.hexdigest()


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def atomic_model_dir(target: str | Path, write: Callable[[Path], None]) -> str:
    """Build a model directory in a temporary folder beside ``target`` and move it into place.

    ``write(tmp)`` fills the folder (every file but the manifest) and returns nothing of note; the
    manifest is added here. If ``write`` raises, ``target`` is untouched. Returns the model hash.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    _clean_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        write(tmp)
        _publishable(tmp)
        sums = {p.name: file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        model_hash = model_hash_of(sums)
        write_json(tmp / MANIFEST, {"files": sums, "model_hash": model_hash})
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    if old is not None:
        _discard(old)
    return model_hash


def _discard(folder: Path) -> None:
    """Remove a folder that no loader may read again: first renamed to ``.NAME.del-PID`` (one atomic
    step), then deleted, so a kill during the deletion leaves a half-deleted ``.del-`` folder that loaders
    never look at and the next save removes, never a half-deleted ``.old-`` one."""
    name, _, pid = folder.name.rpartition(".old-")
    trash = folder.with_name(f"{name}.del-{pid or os.getpid()}")
    try:
        os.replace(folder, trash)
    except OSError:
        return  # already gone (another saver cleaned it up)
    shutil.rmtree(trash, ignore_errors=True)


def save_model_dir(path: str | Path, config: dict, write_weights: Callable[[Path], None] | None = None,
                   extra_config: dict | None = None, extra_files=None, decider_files: dict[str, bytes] | None = None) -> str:
    """The one way every model kind is saved: ``config.json`` (``config`` updated with ``extra_config``),
    the kind's weight files (``write_weights(tmp)``) and the article decider's (``decider_files``, by name,
    each one of :data:`DECIDER_FILES`), then the derived files, all atomically. Returns the model hash."""

    def write(tmp: Path) -> None:
        write_json(tmp / "config.json", {**config, **(extra_config or {})})
        if write_weights is not None:
            write_weights(tmp)
        _write_decider_files(tmp, decider_files)
        write_extra_files(tmp, extra_files)

    return atomic_model_dir(path, write)


def rewrite_config(model_path: str | Path, out: str | Path, edit_config: Callable[[dict], dict],
                   card_section: Callable[[str, str], list[str]] | None = None,
                   decider_files: dict[str, bytes] | None = None) -> str:
    """Write a copy of a model directory at ``out`` (atomically) with the same weight files and
    ``edit_config(config)`` as its ``config.json``; returns the new model hash (a new config is a new
    version). ``decider_files`` not None replaces the article decider's files (:data:`DECIDER_FILES`; an
    empty map removes them). The copied card names the new version, and ``card_section(old hash, new
    hash)`` (lines, the first its ``## `` heading) replaces any earlier section of that heading (see
    :func:`with_section`)."""
    manifest = verify_model_dir(model_path)
    src = Path(manifest["path"])
    config = edit_config(dict(manifest["config"]))
    keep = ("config.json", MANIFEST) + (DECIDER_FILES if decider_files is not None else ())

    def write(tmp: Path) -> None:
        for name in manifest["files"]:
            if name not in keep:
                shutil.copy2(src / name, tmp / name)
        _write_decider_files(tmp, decider_files)
        write_json(tmp / "config.json", config)
        card = tmp / "README.md"
        if card.exists() and card_section is not None:
            old, new = manifest["model_hash"], model_hash_of({n: file_sha256(tmp / n) for n in HASHED if (tmp / n).exists()})
            card.write_text(with_section(card.read_text(encoding="utf-8"), old, new, card_section(old, new)),
                            encoding="utf-8")

    return atomic_model_dir(out, write)


def with_section(card: str, old_hash: str, new_hash: str, section: list[str]) -> str:
    r"""``card`` naming ``new_hash`` where it named ``old_hash``, with ``section`` (first line its heading) in
    place of any earlier section of that heading (up to the next second-level heading), at the end.

    >>> with_section("# v ab\n\n## S\nold\n## T\nt\n", "ab", "cd", ["## S", "new"])
    '# v cd\n\n## T\nt\n\n## S\nnew'
    """
    head, sep, rest = card.partition("\n" + section[0] + "\n")
    if sep:  # drop the previous section: up to the next second-level heading
        nxt = rest.find("\n## ")
        head += rest[nxt:] if nxt >= 0 else "\n"
    head = head.replace(old_hash, new_hash).replace(old_hash[:12], new_hash[:12])
    return head.rstrip("\n") + "\n\n" + "\n".join(section)


def _write_decider_files(tmp: Path, files: dict[str, bytes] | None) -> None:
    unknown = sorted(set(files or {}) - set(DECIDER_FILES))
    if unknown:
        raise ValueError(f"not an article decider file: {', '.join(unknown)} (expected {', '.join(DECIDER_FILES)})")
    for name, content in (files or {}).items():
        (tmp / name).write_bytes(content)


def write_extra_files(tmp: Path, extra_files) -> None:
    """Write derived files (card, metrics, plots) once the hashed files exist, so a card can name
    the version it describes: ``extra_files(model_hash)`` maps names to text or bytes."""
    if extra_files is None:
        return
    model_hash = model_hash_of({n: file_sha256(tmp / n) for n in HASHED if (tmp / n).exists()})
    for name, content in extra_files(model_hash).items():
        if isinstance(content, bytes):
            (tmp / name).write_bytes(content)
        else:
            (tmp / name).write_text(content, encoding="utf-8")


def _publishable(tmp: Path) -> None:
    """mkdtemp makes a private folder; a model directory is meant to be read by other users too."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)
    for p in tmp.iterdir():
        os.chmod(p, 0o666 & ~mask)


def _stranded(target: Path) -> Path | None:
    """A save killed between its two renames leaves the previous model as ``.NAME.old-PID``."""
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    return olds[-1] if olds else None


def _clean_stale(target: Path) -> None:
    """Remove temporary folders left by saves whose process is gone (killed mid-write), folders being
    deleted (``.del-``) when a save was killed, and previous copies (``.old-``) of dead savers once the
    target exists again (a save killed after its second rename: the target is the newer model)."""
    for trash in target.parent.glob(f".{target.name}.del-*"):
        shutil.rmtree(trash, ignore_errors=True)
    if target.exists():
        for old in target.parent.glob(f".{target.name}.old-*"):
            try:
                os.kill(int(old.name.rsplit(".old-", 1)[1]), 0)
            except ProcessLookupError:
                _discard(old)
            except (ValueError, PermissionError):
                continue
    for tmp in target.parent.glob(f".{target.name}.tmp-*-*"):
        try:
            pid = int(tmp.name.rsplit(".tmp-", 1)[1].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


def _recover(target: Path) -> None:
    """Put a stranded previous model back in place (only the saver does this; loaders never rename)."""
    old = None if target.exists() else _stranded(target)
    if old is not None:
        os.replace(old, target)


def model_dir(path: str | Path) -> Path:
    """The directory to read for ``path``: itself, or, while a save is between its two renames (or was
    killed there), the previous model it moved aside. Read-only: never renames anything."""
    path = Path(path)
    if path.is_dir():
        return path
    old = _stranded(path) if path.parent.is_dir() else None
    return old if old is not None else path


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_json(f: Path):
    """A model's JSON file: at most MAX_CONFIG_BYTES (checked before reading), BOM allowed, no duplicate keys."""
    try:
        return load_json(read_small_text(f, MAX_CONFIG_BYTES))
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _reason(exc: Exception) -> str:
    """The part of a read error worth showing (the path is already in the message)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, TypeError):
        return repr(exc)
    msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return msg.split(": ", 1)[1] if msg.startswith("/") and ": " in msg else msg if msg else repr(exc)


def verify_model_dir(path: str | Path, kind: str | None = None) -> dict:
    """Check a model directory before anything in it is parsed; return its manifest, with the parsed
    ``config`` and the ``path`` actually read added.

    Refuses pickle-like files, a missing manifest, files missing, unlisted or altered since the manifest
    was written, an unknown format version, and (when ``kind`` is given) a model of another kind.
    """
    path = model_dir(path)
    if not path.is_dir():
        raise ModelLoadError(f"{path}: model directory not found")
    unsafe = sorted(p.name for p in path.iterdir() if p.suffix.lower() in FORBIDDEN_SUFFIXES)
    if unsafe:
        raise ModelLoadError(f"{path}: refusing to load a model directory holding {', '.join(unsafe)} "
                             "(pickle-based formats can run code)")
    try:
        manifest = _read_json(path / MANIFEST)
        files = manifest["files"]
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: no {MANIFEST}; not a model directory written by narratives") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{path}/{MANIFEST}: unreadable manifest ({_reason(exc)})") from None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ModelLoadError(f"{path}/{MANIFEST}: 'files' must map file names to sha256 sums")
    outside = sorted(n for n in files if not _plain_name(n))
    if outside:  # never read (or even hash) a file outside the directory
        raise ModelLoadError(f"{path}/{MANIFEST}: {outside[0]!r} is not a file name in the model directory; "
                             "refusing to load")
    present = {p.name for p in path.iterdir()} - {MANIFEST}
    unlisted = sorted(present - set(files))
    if unlisted:
        raise ModelLoadError(f"{path}: file(s) {', '.join(unlisted)} not listed in the manifest; refusing to load")
    for name, digest in sorted(files.items()):
        f = path / name
        if not f.is_file():
            raise ModelLoadError(f"{path}: file {name} listed in the manifest is missing")
        if file_sha256(f) != digest:
            raise ModelLoadError(f"{path}: file {name} was altered since the model was saved (sha256 mismatch)")
    if model_hash_of(files) != manifest.get("model_hash"):
        raise ModelLoadError(f"{path}/{MANIFEST}: model_hash does not match the file sums")
    try:
        config = _read_json(path / "config.json")
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}/config.json: unreadable ({_reason(exc)})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}/config.json: expected a JSON object, got {type(config).__name__}")
    labels = config.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise ModelLoadError(f"{path}/config.json: field 'labels' must be a list of distinct ids, got {labels!r}")
    _check_thresholds(path, config.get("thresholds"))
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{path}/config.json: unknown model format {config.get('format')!r} version "
            f"{config.get('format_version')!r} (this narratives reads {FORMAT} version {FORMAT_VERSION})")
    if kind is not None and config.get("kind") != kind:
        raise ModelLoadError(f"{path}/config.json: kind {config.get('kind')!r} is not {kind!r}")
    manifest["config"] = config
    manifest["path"] = str(path)
    return manifest


def _plain_name(name: str) -> bool:
    """A manifest entry must be a file directly in the model directory: no separator, no ``..``."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


def _check_thresholds(path: Path, thresholds) -> None:
    """Thresholds, when a config has them, must be finite numbers from 0 to 1 (``"NaN"`` loaded before
    and never predicted anything)."""
    if thresholds is None:
        return
    if not isinstance(thresholds, dict):
        raise ModelLoadError(f"{path}/config.json: field 'thresholds' must map labels to numbers")
    for label, v in thresholds.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
            raise ModelLoadError(f"{path}/config.json: threshold of {label!r} must be a number from 0 to 1, got {v!r}")
