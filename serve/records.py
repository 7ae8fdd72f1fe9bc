"""The prediction record and the article record: one schema (pydantic) for what ``predict``, ``narratives
score``, the writers, ``--resume``, the report and the HTTP answers hold.

Decisions are made on exact scores (:func:`narratives.model.contract.decide`); scores are rounded to
:data:`DIGITS` digits only here, when a record is made. The field lists of the writers and the names an
article's own fields may not take come from these models. Imported where records are built or read, never
at start-up (pydantic takes a noticeable part of a second to import).

>>> sorted(PassageResult.model_fields)[:3]
['lang', 'model_hash', 'model_version']
>>> article_fields()[:4]
('id', 'source', 'narratives', 'stance')
"""
from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

DIGITS = 4
Stance = Literal["promotes", "reports", "none"]


class PassageResult(BaseModel):
    """One scored passage (``predict``, ``POST /v1/predict``)."""

    scores: dict[str, float]
    narratives: list[str]
    stance: Stance
    stance_score: float
    model_version: str | None
    model_hash: str | None
    text_sha256: str
    lang: str
    warnings: list[str]


class Evidence(BaseModel):
    start: int
    end: int
    score: float
    stance: Stance
    stance_score: float
    text: str


class ArticleResult(BaseModel):
    """One scored article (``narratives score``, ``POST /v1/score``); the article's own extra fields
    (outlet, date, url ...) come back too."""

    model_config = ConfigDict(extra="allow")
    id: str | None
    source: str | None
    narratives: list[str]
    stance: Stance | None
    stances: dict[str, Literal["promotes", "reports"]]
    scores: dict[str, float]
    evidence: dict[str, list[Evidence]]
    n_passages: int
    model_version: str | None
    model_hash: str | None
    text_sha256: str | None
    lang: str | None
    errors: list[str]
    warnings: list[str]


def article_fields() -> tuple[str, ...]:
    """The article record's own fields, in order (an input field of the same name is renamed ``input_*``)."""
    return tuple(ArticleResult.model_fields)


def rounded(x: float) -> float:
    """A score as records hold it.

    >>> rounded(0.123456)
    0.1235
    """
    return round(float(x), DIGITS)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def passage_record(decision: dict, info: dict, text: str) -> dict:
    """The ``predict`` record of one passage from its exact decision (see :func:`narratives.serve.predict.decide`).

    >>> r = passage_record({"scores": {"x": 0.91234}, "narratives": ["x"], "stance": "promotes",
    ...                     "stance_score": 0.77777, "lang": "und", "warnings": []},
    ...                    {"model_version": None, "model_hash": None}, "text")
    >>> r["scores"], r["stance_score"]
    ({'x': 0.9123}, 0.7778)
    """
    return {"scores": {lab: rounded(v) for lab, v in decision["scores"].items()}, "narratives": decision["narratives"],
            "stance": decision["stance"], "stance_score": rounded(decision["stance_score"]), **info,
            "text_sha256": text_sha256(text), "lang": decision["lang"], "warnings": decision["warnings"]}


def error_record(item: dict, info: dict) -> dict:
    """The record of an article that could not be read or scored (``item["error"]`` says why)."""
    return {"id": item.get("id"), "source": item.get("source"), "narratives": [], "stance": None, "stances": {},
            "scores": {}, "evidence": {}, "n_passages": 0, **info, "text_sha256": None, "lang": None,
            "errors": [item["error"]], "warnings": []}


def check_article_record(obj: Any, where: str) -> dict:
    """``obj`` if it is an article record (as ``narratives score`` writes them), else a ValueError naming
    ``where`` (a file and line) and the first field at fault.

    >>> check_article_record({"id": 1}, "scores.jsonl:3")
    Traceback (most recent call last):
    ...
    ValueError: scores.jsonl:3: not a record written by narratives score (id: Input should be a valid string)
    """
    try:
        ArticleResult.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ())) or "record"
        raise ValueError(f"{where}: not a record written by narratives score ({field}: {err.get('msg')})") from None
    return obj
