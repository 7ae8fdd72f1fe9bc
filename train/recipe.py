"""The training recipe: which kind ``narratives train`` fits, with which settings, on which splits, typed
and checked against the kind's constructor before anything is loaded or fitted, and saved as
``recipe.json`` in the model directory (a derived file: it never changes the model's version).

Settings come from the kind's constructor (its parameters, types and defaults), so a new kind needs no
entry here; ``narratives train --set KEY=VALUE`` gives any of them, ``--C``, ``--epochs`` ... remain as
shorthands. A combined kind's recipe also lists its members.

>>> r = make_recipe("baseline", parse_sets(["C=2", "min_df=1"]), ("train",))
>>> r.kind, r.params, r.settings["C"], r.settings["cv_folds"]
('tfidf-logreg', {'C': 2.0, 'min_df': 1}, 2.0, 5)
"""
from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .deciderplan import DeciderOptions

RECIPE_FILE = "recipe.json"


class MemberRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    weight: float
    languages: list[str] | None = None
    params: dict[str, Any] = {}


class Recipe(BaseModel):
    """``params``: the settings given (the only ones passed to the constructor, so defaults stay the
    kind's own); ``settings``: every setting the model was built with, defaults included."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    params: dict[str, Any]
    settings: dict[str, Any]
    fit_splits: list[str]
    members: list[MemberRecipe] = []
    decider: DeciderOptions | None = None  # the article decider fitted with the model (None: none)
    real_negatives: bool = False  # the training pool's negative passages fitted too (train.realpassages)
    real_positives: bool = False  # and its pages' best-scored passage per narrative, in a second fit
    real_positives_top: int = 1  # how many best-scored passages per narrative of a page (--real-positives-top)
    real_evidence: bool = False  # pages with marked evidence passages give those instead (train.realevidence)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=2, sort_keys=True, default=str) + "\n"


def parse_sets(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs to settings; a value is read as JSON when it parses (``2``, ``0.5``, ``true``,
    ``null``, ``"x"``), else kept as text.

    >>> parse_sets(["epochs=3", "mode=frozen", "transliterate=false"])
    {'epochs': 3, 'mode': 'frozen', 'transliterate': False}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with a setting name as KEY")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def settings_model(cls: Any) -> type[BaseModel]:
    """A pydantic model of ``cls``'s constructor settings (``labels`` excluded): names, types, defaults."""
    hints = typing.get_type_hints(cls.__init__)
    fields: dict[str, Any] = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "labels") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[name] = (hints.get(name, Any), default)
    return create_model(f"{cls.__name__}Settings", __config__=ConfigDict(extra="forbid", strict=False), **fields)


def make_recipe(kind: str, params: dict[str, Any], fit_splits: Sequence[str]) -> Recipe:
    """The checked recipe for fitting ``kind`` with ``params``; a ValueError names every bad setting.

    >>> make_recipe("e5", {"epochs": 3}, ("train",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: frozen-embedding settings: epochs: unknown setting (known: C, batch_size, cv_folds, ...)
    """
    from narratives.model.kinds import kind_spec

    spec = kind_spec(kind)
    model = settings_model(spec.cls)
    try:
        checked = model.model_validate(params)
    except ValidationError as exc:
        known = ", ".join(sorted(model.model_fields))
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: "
                             + ("unknown setting" + f" (known: {known})" if e["type"] == "extra_forbidden" else e["msg"])
                             for e in exc.errors())
        raise ValueError(f"{spec.name} settings: {problems}") from None
    settings = checked.model_dump()
    return Recipe(kind=spec.name, params={k: settings[k] for k in params}, settings=settings,
                  fit_splits=list(fit_splits))
