"""The label record schema (pydantic): a team passage line and a stand-off seed span line, as the label
loader, ``narratives labels check`` and ``narratives labels import`` validate them.

The fields, their types and the rules between them are declared once here; :func:`validate_label`
turns pydantic's errors into the project's messages, one per field at fault (the caller adds the file
and line). What depends on the label folder comes in the validation context: ``narratives`` (the
taxonomy's ids), ``splits`` (those allowed; ``labels import`` takes no test passages) and
``require_split``.

>>> rec = {"id": "T-1", "text": "Some text.", "lang": "en", "narratives": ["x"], "stance": "maybe",
...        "source": "s", "split": "train", "colour": "red"}
>>> validate_label(LabelPassage, rec, {"narratives": ("x",)})
(None, ['unknown field(s) colour', "field 'stance' must be one of promotes, reports, none, got 'maybe'"])
>>> validate_label(LabelPassage, {**rec, "stance": "promotes"}, {"narratives": ("x",)})[0].stance
'promotes'

"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from narratives.model.taxonomy import LANGS, SPLITS, STANCES

from .records import Stance

Lang = Literal["en", "sr-Latn", "sr-Cyrl", "bs", "hr", "ru"]
Split = Literal["train", "dev", "test"]

# What a field must be, for type errors (pydantic's own wording names Python types).
_MUST_BE = {"labels": "an object (narrative -> stance)",
            "id": "a non-empty string", "text": "a non-empty string", "source": "a non-empty string",
            "narratives": "a list of ids", "doc": "a plain file name", "sha256": "a hex string",
            "start": "an integer", "end": "an integer", "note": "a string"}
_CHOICES = {"lang": LANGS, "stance": STANCES, "split": SPLITS}


def _problem(message: str, field: str | None = None) -> PydanticCustomError:
    """A problem in the project's words; ``field`` names the field at fault where pydantic cannot tell
    (a rule between fields)."""
    return PydanticCustomError("label", message, {"field": field} if field else None)


def _plain_text(value: str, field: str) -> str:
    if not value.strip():
        raise _problem(f"field '{field}' must be a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _problem(f"field '{field}' is not valid Unicode (lone surrogate)") from None
    return value


class _Labelled(BaseModel):
    """What every label line carries: narratives, a stance, a split."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    narratives: list[str]
    stance: Stance
    split: Split | None

    @field_validator("narratives")
    @classmethod
    def _known_once(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("narratives")
        unknown = [n for n in value if known is not None and n not in known]
        if known is not None and unknown:
            raise _problem(f"unknown narrative id(s) {unknown}; valid: {', '.join(known)} (add one with "
                           "`narratives labels add-narrative`)")
        if len(set(value)) != len(value):
            raise _problem(f"field 'narratives' repeats an id: {value}")
        return value

    @field_validator("split", mode="before")
    @classmethod
    def _allowed_split(cls, value: Any, info: ValidationInfo) -> Any:
        ctx = info.context or {}
        allowed = tuple(ctx.get("splits", SPLITS))
        if value is None and not ctx.get("require_split", True):
            return None
        if value not in allowed:
            frozen = " (the test split is frozen)" if "test" not in allowed else ""
            which = " or ".join(allowed) if len(allowed) < 3 else "one of " + ", ".join(allowed)
            raise _problem(f"field 'split' must be {which}{frozen}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _stance_follows_narratives(self) -> _Labelled:
        if (self.stance == "none") != (not self.narratives):
            raise _problem("stance must be 'none' exactly when 'narratives' is empty", "stance")
        return self


class LabelPassage(_Labelled):
    """One line of a team passage file (``data/labels/*.jsonl``)."""

    id: str
    text: str
    lang: Lang
    source: str

    @field_validator("id", "text", "source")
    @classmethod
    def _non_empty(cls, value: str, info: ValidationInfo) -> str:
        return _plain_text(value, str(info.field_name))


class SeedSpan(_Labelled):
    """One line of ``seed_spans.jsonl``: a span of a third-party article in the corpus folder, by offsets
    and the sha256 of its text (the text itself never enters the repository)."""

    doc: str
    start: int
    end: int
    sha256: str
    lang: Lang = "en"
    note: str | None = None

    @field_validator("doc")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value.startswith("."):
            raise _problem(f"field 'doc' must be a plain file name, got {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SeedSpan:
        if not 0 <= self.start < self.end:
            raise _problem(f"fields 'start' and 'end' must be integers with 0 <= start < end, got {self.start} "
                           f"and {self.end}", "start")
        return self


class TeamArticle(BaseModel):
    """One line of a team-written article file (``data/articles/*.jsonl``): a whole article labelled at
    article level (narrative id -> promotes or reports; ``{}`` for none), in the train or dev split.

    >>> validate_label(TeamArticle, {"id": "A", "text": "T", "lang": "en", "labels": {"x": "maybe"},
    ...                              "source": "s", "split": "dev"}, {"narratives": ("x",)})[1]
    ["stance of 'x' must be promotes or reports, got 'maybe'"]
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    id: str
    text: str
    lang: Lang
    labels: dict[str, Any]
    source: str
    split: Literal["train", "dev"]

    @field_validator("id", "text", "source")
    @classmethod
    def _non_empty(cls, value: str, info: ValidationInfo) -> str:
        return _plain_text(value, str(info.field_name))

    @field_validator("labels")
    @classmethod
    def _known_stances(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        known = (info.context or {}).get("narratives")
        unknown = [n for n in value if known is not None and n not in known]
        if known is not None and unknown:
            raise _problem(f"unknown narrative {unknown[0]!r} in 'labels'; valid: {', '.join(known)}")
        bad = [(n, st) for n, st in value.items() if st not in ("promotes", "reports")]
        if bad:
            raise _problem(f"stance of {bad[0][0]!r} must be promotes or reports, got {bad[0][1]!r}")
        return value


def _message(err: Any, rec: dict) -> str:
    loc = err.get("loc", ())
    field = str(loc[0]) if loc else ""
    if err["type"] == "label":
        return str(err["msg"])
    if err["type"] == "literal_error" and field in _CHOICES:
        return f"field '{field}' must be one of {', '.join(_CHOICES[field])}, got {err.get('input')!r}"
    if field in ("start", "end"):
        return (f"fields 'start' and 'end' must be integers with 0 <= start < end, got {rec.get('start')!r} "
                f"and {rec.get('end')!r}")
    if field in _MUST_BE:
        return f"field '{field}' must be {_MUST_BE[field]}, got {rec.get(field)!r}"
    return f"field '{field}': {err.get('msg')}"


def validate_label(model: type[BaseModel], rec: dict, context: dict | None = None) -> tuple[Any, list[str]]:
    """``(record, problems)``: the validated record, or ``None`` when a field is missing or at fault;
    ``problems`` names unknown fields (reported, not fatal: the rest is still checked and returned),
    missing fields (reported alone), then each field at fault, once.

    >>> validate_label(SeedSpan, {"doc": "a.txt", "start": 3, "end": 1, "sha256": "ab", "narratives": [],
    ...                           "stance": "none", "split": "train"})[1]
    ["fields 'start' and 'end' must be integers with 0 <= start < end, got 3 and 1"]
    """
    value, problems = label_errors(model, rec, context)
    return value, [m for _, m in problems]


def label_errors(model: type[BaseModel], rec: dict, context: dict | None = None) -> tuple[Any, list[tuple[str, str]]]:
    """As :func:`validate_label`, each problem with the field it is about (``(field, message)``).

    >>> label_errors(LabelPassage, {"narratives": [], "stance": "none"})[1]
    [('split, id, text, lang, source', 'missing field(s) split, id, text, lang, source')]
    """
    fields = model.model_fields
    extra = sorted(k for k in rec if k not in fields)
    problems = [(", ".join(extra), f"unknown field(s) {', '.join(extra)}")] if extra else []
    ctx = {"require_split": True, **(context or {})}
    given = {k: v for k, v in rec.items() if k in fields}
    if not ctx["require_split"]:
        given.setdefault("split", None)
    try:
        value = model.model_validate(given, context=ctx)
    except ValidationError as exc:
        errors = exc.errors()
        missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
        if missing:
            return None, [*problems, (", ".join(missing), f"missing field(s) {', '.join(missing)}")]
        for e in errors:
            loc = e.get("loc", ())
            found = (str((e.get("ctx") or {}).get("field") or (loc[0] if loc else "record")), _message(e, rec))
            if found not in problems:
                problems.append(found)
        return None, problems
    return value, problems
