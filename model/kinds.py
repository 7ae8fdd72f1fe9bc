"""The kind registry: every model kind registers its class once, with ``@register_kind``, and loading,
training, the CLI's per-kind options and the model card read what they need from here.

A kind is one module holding one class decorated with :func:`register_kind`; the module is named in
:data:`KIND_MODULES` (or, for a kind in another package, in that package's ``narratives.kinds`` entry
point). Kind modules import heavy libraries (torch, onnxruntime) inside their methods, so importing
them all is cheap and the TF-IDF path never loads torch. See CONTRIBUTING.md for a worked example.

>>> from narratives.model.kinds import kind_spec
>>> kind_spec("baseline").name, kind_spec("tfidf-logreg").cls.__name__
('tfidf-logreg', 'TfidfNarrativeClassifier')
>>> "ensemble" in kind_spec("ensemble").aliases
True
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .artifact import ModelLoadError, _read_json, _reason

# The modules that define the built-in kinds (each registers itself when imported).
KIND_MODULES = (
    "narratives.model.baseline",
    "narratives.model.transformer",
    "narratives.model.e5head",
    "narratives.model.e5lora",
    "narratives.model.routed",
    "narratives.model.ensemble",
)
ENTRY_POINT_GROUP = "narratives.kinds"


@dataclass(frozen=True)
class KindSpec:
    """What the rest of the code needs to know about a kind, besides its class.

    ``options`` maps the ``narratives train`` options a kind accepts to its constructor parameters
    (``{"seed": "random_state"}``); ``combined`` kinds are built from member models, never fitted;
    ``recipe`` (combined kinds only) is what ``narratives train --kind NAME`` trains and combines;
    ``needs_dev`` kinds calibrate on the dev split and so cannot fit on it; ``tuned_on`` is the card's
    line on where thresholds come from.
    """

    name: str
    cls: Any
    aliases: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    combined: bool = False
    recipe: tuple = ()
    needs_dev: bool = False
    tuned_on: str = "cross-validation on the fitting splits"

    @property
    def trainable(self) -> bool:
        """Whether ``narratives train --kind`` can make one (fitted, or a combined kind's recipe)."""
        return not self.combined or bool(self.recipe)


_KINDS: dict[str, KindSpec] = {}
_LOADED = False
_LOAD_LOCK = threading.Lock()


def register_kind(name: str, *, aliases: tuple[str, ...] = (), options: Mapping[str, str] | None = None,
                  combined: bool = False, recipe: tuple = (), needs_dev: bool = False,
                  tuned_on: str = "cross-validation on the fitting splits") -> Callable[[type], type]:
    """Class decorator: register ``cls`` as the model kind ``name`` (the ``kind`` in its config.json).

    >>> from narratives.model import kinds
    >>> @kinds.register_kind("doc-example", aliases=("docex",))
    ... class Example:
    ...     pass
    >>> Example.kind, kinds.kind_spec("docex").cls is Example
    ('doc-example', True)
    >>> _ = kinds._KINDS.pop("doc-example")
    """

    def decorate(cls: type) -> type:
        known = _KINDS.get(name)
        if known is not None and known.cls.__qualname__ != cls.__qualname__:
            raise ValueError(f"model kind {name!r} is already registered by {known.cls.__module__}.{known.cls.__name__}")
        cls.kind = name  # type: ignore[attr-defined]
        _KINDS[name] = KindSpec(name=name, cls=cls, aliases=tuple(aliases), options=dict(options or {}),
                                combined=combined, recipe=tuple(recipe), needs_dev=needs_dev, tuned_on=tuned_on)
        return cls

    return decorate


def _load_all() -> None:
    """Import every kind module once (built-in ones, then entry points of other packages)."""
    global _LOADED
    if _LOADED:
        return
    with _LOAD_LOCK:
        if _LOADED:
            return
        for module in KIND_MODULES:
            importlib.import_module(module)
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()
        _LOADED = True


def kinds() -> dict[str, KindSpec]:
    """Every registered kind by name.

    >>> from narratives.model.kinds import kinds
    >>> sorted(kinds())[:2]
    ['e5-lora', 'ensemble']
    """
    _load_all()
    return dict(_KINDS)


def kind_spec(name: str) -> KindSpec:
    """A kind by its name or one of its aliases (``baseline`` is ``tfidf-logreg``)."""
    _load_all()
    if name in _KINDS:
        return _KINDS[name]
    for spec in _KINDS.values():
        if name in spec.aliases:
            return spec
    known = sorted({n for s in _KINDS.values() for n in (s.name, *s.aliases)})
    raise ModelLoadError(f"unknown model kind {name!r}; known: {', '.join(known)}")


def train_choices() -> list[str]:
    """The names ``narratives train --kind`` accepts: each trainable kind's first alias (or its name).

    >>> from narratives.model.kinds import train_choices
    >>> train_choices()[:2]
    ['baseline', 'transformer']
    """
    _load_all()
    order = {m: i for i, m in enumerate(KIND_MODULES)}  # the built-in order, whatever was imported first
    specs = sorted(_KINDS.values(), key=lambda s: order.get(s.cls.__module__, len(order)))
    return [(s.aliases or (s.name,))[0] for s in specs if s.trainable]


def config_kind(path: Path) -> str:
    """The kind named in a model directory's config.json (read with the verified load's limits)."""
    try:
        kind = _read_json(path / "config.json").get("kind")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path}/config.json: unreadable ({_reason(exc)})") from None
    return str(kind)


MemberLoader = Callable[[str, Path], Any]


def load_model_dir(path: str | Path, member_loader: MemberLoader | None = None) -> Any:
    """Load a model directory with its kind's class, after verifying it (no cache; see
    :func:`narratives.model.loading.load_model`). ``member_loader(ref, base_dir)`` loads the members
    of a combined model."""
    path = Path(path)
    spec = kind_spec(config_kind(path))
    if spec.combined:
        return spec.cls.from_pretrained(path, member_loader=member_loader)
    return spec.cls.from_pretrained(path)
