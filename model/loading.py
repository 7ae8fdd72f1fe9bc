"""Resolve a model reference (a shipped name, a version or a directory) and load it, once per process.

This is the one place that turns a reference into a loaded model: it asks the models directory
(:mod:`narratives.model.registry`) where a name or version lives, and the kind registry
(:mod:`narratives.model.kinds`) how to load it. Members of combined models come back through
:func:`load_member`, so each member is loaded (and cached) once.

>>> resolve_model(None).name
'ensemble-int8'
"""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from .artifact import ModelLoadError, model_dir
from .kinds import kind_spec, load_model_dir
from .paths import SHIPPED_MODELS
from .registry import default_model, find_model, models_dir

_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()  # guards the two dicts; each model is loaded under its own key's lock
_KEY_LOCKS: dict[tuple[str, str], threading.Lock] = {}


def model_class(kind: str):
    """The class for a model kind or alias (see :mod:`narratives.model.kinds`).

    >>> model_class("tfidf-logreg").__name__
    'TfidfNarrativeClassifier'
    """
    return kind_spec(kind).cls


def shipped_names() -> list[str]:
    return sorted(p.name for p in SHIPPED_MODELS.iterdir() if (p / "config.json").exists()) \
        if SHIPPED_MODELS.is_dir() else []


def resolve_model(ref: str | Path | None) -> Path:
    """``None`` or ``"default"`` is the default model (see ``narratives promote``); otherwise a model name
    or version in the models directory, a shipped name (``"baseline"``), or a model directory path."""
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


def load_member(ref: str, base_dir: str | Path | None = None):
    """A combined model's member by reference: a folder beside the combined model first, else a model
    name, version or path."""
    local = Path(base_dir) / ref if base_dir is not None else None
    return load_model(local if local is not None and local.is_dir() else ref)


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
        if key in _CACHE:
            return _CACHE[key]
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:  # members take their own keys' locks: no lock is ever taken twice
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
        model = _with_decider_models(load_model_dir(path, member_loader=load_member), path)  # verified first
        evidence = (article_decider_config(model) or {}).get("evidence")
        if evidence:  # the scorer its article decider reads, checked now; passages still score without it, and
            try:      # deciding an article raises (``narratives.serve.decider.decision_scorer``; `score` and the
                model.evidence_model_ = load_evidence(evidence, path, model.labels_)  # server check at start)
            except ModelLoadError as exc:
                model.evidence_problem_ = f"{path}: {exc}"
        with _LOCK:
            if len(_CACHE) >= 8:
                _CACHE.clear()
                _KEY_LOCKS.clear()
            _CACHE[key] = model
        return model


def article_decider_config(model) -> dict | None:
    """A model's article decider as its ``config.json`` holds it (unchecked), or ``None``.

    >>> article_decider_config(object()) is None
    True
    """
    return (getattr(model, "config_", None) or {}).get("article_decider")


EVIDENCE_SHAPE = 'article_decider.evidence: expected {"model": a model reference, "model_hash": its sha256}'


def evidence_problem(evidence: object) -> str | None:
    """What is wrong with the shape of a decider's ``evidence`` (``{"model": reference, "model_hash": sha256}``),
    or ``None``.

    >>> evidence_problem({"model": "e5-real", "model_hash": "0" * 64}) is None, evidence_problem("e5-real") is None
    (True, False)
    """
    ok = (isinstance(evidence, dict) and isinstance(evidence.get("model"), str) and evidence["model"]
          and isinstance(evidence.get("model_hash"), str) and re.fullmatch(r"[0-9a-f]{64}", evidence["model_hash"]))
    return None if ok else EVIDENCE_SHAPE


def _with_decider_models(model, path: Path):
    """Read the article decider's text models with the rest, right after the manifest was verified: the article
    stance model when the decider reads the article text, the page lexicon when its page part has one. A broken file
    fails the load, not the first article, and a directory replaced later cannot pair the loaded decider with another
    version's files."""
    from .articlestance import ArticleStance, reads_article_text
    from .pagelexicon import PageLexicon, reads_page_lexicon

    decider = article_decider_config(model)
    if reads_article_text(decider):
        model.article_stance_ = ArticleStance.from_dir(path)
    if reads_page_lexicon(decider):
        model.page_lexicon_ = PageLexicon.from_dir(path)
    return model


def load_evidence(evidence: object, base_dir: str | Path | None = None, labels=None):
    """The model an article decider's ``evidence`` names (``{"model": reference, "model_hash": sha256}``),
    found beside ``base_dir`` first (as a member is), else the version its pinned hash names in the models
    directory; refused unless its hash is the pinned one and it scores ``labels`` (when given) in that order.

    >>> try:
    ...     load_evidence({"model": "baseline", "model_hash": "0" * 64})
    ... except ModelLoadError as exc:
    ...     print(str(exc)[:80])
    the article decider's evidence model 'baseline' is version 3fa1020adc89, not the
    """
    problem = evidence_problem(evidence)
    if problem is not None or not isinstance(evidence, dict):
        raise ModelLoadError(problem or EVIDENCE_SHAPE)
    ref, pinned = evidence["model"], evidence["model_hash"]
    found = None
    # beside the model (as a member is), then by reference, then the pinned version in the models directory
    for attempt in (lambda: load_member(ref, Path(base_dir).parent if base_dir is not None else None),
                    lambda: load_model(ref), lambda: load_model(find_model(pinned[:12]) or pinned[:12])):
        try:
            found = attempt()
        except ModelLoadError:
            continue
        if found.model_hash_ == pinned:
            break
    if found is None or found.model_hash_ != pinned:
        now = f"is version {found.model_hash_[:12]}" if found is not None else "cannot be loaded"
        raise ModelLoadError(f"the article decider's evidence model {ref!r} {now}, not the pinned {pinned[:12]} it "
                             f"was fitted on; refit the decider (`narratives decider fit MODEL --evidence {ref}`, or "
                             "`--evidence own`)")
    if labels is not None and list(found.labels_) != list(labels):
        raise ModelLoadError(f"the article decider's evidence model {ref!r} scores {list(found.labels_)}, not the "
                             f"model's {list(labels)}")
    return found


def decider_model(clf, attr: str, files_of: Sequence[str], cls, why: str):
    """A decider's text model that ``clf`` carries as ``attr`` (``article_stance_``, ``page_lexicon_``): the one
    ``load_model`` read with the rest, or the one fitted in memory, or else (a model loaded otherwise) read here once
    and kept: ``cls`` parsed from its files ``files_of``, hashed and parsed from the same bytes, from a directory
    whose manifest is still the loaded version's; ``why`` says in errors why the decider needs it.

    >>> try:
    ...     decider_model(object(), "x_", ["x.json"], None, "the decider reads x")
    ... except ModelLoadError as exc:
    ...     print(exc)
    the decider reads x, but the model was never saved and carries no such model
    """
    model = getattr(clf, attr, None)
    if model is None:
        model = _read_decider_files(clf, files_of, cls, why)
        setattr(clf, attr, model)
    return model


def _read_decider_files(clf, files_of: Sequence[str], cls, why: str):
    import hashlib
    import json

    from .artifact import MANIFEST

    path = getattr(clf, "path_", None)
    if path is None:
        raise ModelLoadError(f"{why}, but the model was never saved and carries no such model")
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{path}/{MANIFEST}: unreadable ({exc!r})") from None
    loaded = getattr(clf, "model_hash_", None)
    if loaded is not None and manifest.get("model_hash") != loaded:
        raise ModelLoadError(f"{path}: the model directory now holds version {str(manifest.get('model_hash'))[:12]}, "
                             f"not the loaded {loaded[:12]}; load the model again")
    blobs = {}
    for name in files_of:
        if name not in files:
            raise ModelLoadError(f"{path}: {name} is not in the manifest ({why})")
        try:
            blobs[name] = (Path(path) / name).read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"{path}: {name} unreadable ({exc!r})") from None
        if hashlib.sha256(blobs[name]).hexdigest() != files[name]:
            raise ModelLoadError(f"{path}: file {name} was altered since the model was saved (sha256 mismatch)")
    return cls.from_bytes(blobs, str(path))
