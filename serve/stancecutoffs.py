"""Per-language cutoffs on a decider's stance probability: where an article reads as *promotes*.

A stance part (``article_decider.stance``) may hold ``cutoffs``: detected language (:data:`narratives.model.langid.
DETECTED`, as ``narratives score`` detects the article's) -> the probability of *promotes* at or above which an
article in that language promotes, instead of 0.5. Why: out of fold on the training pool the article stance model
read about half of the English pages that relay a narrative without distance as reporting it (README, "The third
and fourth hold-out sets"), while other languages sat near 0.5. A cutoff moves the line, not the model: the
probability is shifted on the logit scale, so the caller's 0.5 rule (:func:`narratives.model.contract.stance_of`)
then says *promotes* exactly when the probability reaches the language's cutoff. A language without a cutoff, or
an article whose language is not known, keeps 0.5.

>>> stance = {"source": "article_text", "cutoffs": {"en": 0.4}}
>>> check_stance_cutoffs(stance)
{'en': 0.4}
>>> round(read_at_cutoff(0.45, "en", stance["cutoffs"]), 3), read_at_cutoff(0.45, "ru", stance["cutoffs"])
(0.551, 0.45)
"""
from __future__ import annotations

import math
from collections.abc import Mapping


def check_stance_cutoffs(stance: Mapping) -> dict[str, float]:
    """The stance part's ``cutoffs`` (``{}`` when it has none), checked; raises ``ValueError`` naming the bad field.

    >>> check_stance_cutoffs({"cutoffs": {"sr-Latn": 0.4}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: article_decider.stance.cutoffs: 'sr-Latn' is not a language the detector gives (en, ru, sr-Cyrl, ...)
    """
    from narratives.model.langid import DETECTED

    cutoffs = stance.get("cutoffs", {})
    if not isinstance(cutoffs, dict):
        raise ValueError("article_decider.stance.cutoffs: expected an object of language -> probability")
    for lang, p in cutoffs.items():
        if lang not in DETECTED:
            raise ValueError(f"article_decider.stance.cutoffs: {lang!r} is not a language the detector gives "
                             f"({', '.join(DETECTED)})")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
            raise ValueError(f"article_decider.stance.cutoffs.{lang}: expected a probability in (0, 1), got {p!r}")
    return cutoffs


def read_at_cutoff(p: float, lang: str | None, cutoffs: Mapping[str, float]) -> float:
    """``p`` shifted so that 0.5 falls where ``lang``'s cutoff is (``p`` itself without one): at least 0.5 exactly
    when ``p`` is at least the cutoff.

    >>> read_at_cutoff(0.4, "en", {"en": 0.4}), read_at_cutoff(0.39, "en", {"en": 0.4}) < 0.5
    (0.5, True)
    """
    cutoff = cutoffs.get(lang) if lang is not None else None
    if cutoff is None or p in (0.0, 1.0):
        return p
    z = math.log(p / (1.0 - p)) - math.log(cutoff / (1.0 - cutoff))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def parse_pairs(specs: tuple[str, ...] | list[str], what: str = "stance cutoff", key: str = "LANG",
                example: str = "en=0.4") -> dict[str, float]:
    """``KEY=P`` strings (each may hold several, comma-separated) as ``{KEY: P}``, unchecked; a malformed item is a
    ``ValueError`` that names ``what`` and shows ``example``.

    >>> parse_pairs(["anti_western=0.7,genocide_denial=0.4"], "narrative cutoff", "NARRATIVE", "anti_western=0.7")
    {'anti_western': 0.7, 'genocide_denial': 0.4}
    """
    out: dict[str, float] = {}
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(","))):
            name, sep, value = item.partition("=")
            try:
                p = float(value) if sep else math.nan
            except ValueError:
                p = math.nan
            if math.isnan(p):
                raise ValueError(f"{what} {item!r}: expected {key}=P, e.g. {example}")
            out[name.strip()] = p
    return out


def parse_cutoffs(specs: tuple[str, ...] | list[str]) -> dict[str, float]:
    """``LANG=P`` strings (each may hold several, comma-separated) as a cutoffs object, checked.

    >>> parse_cutoffs(["en=0.4"]), parse_cutoffs(["en=0.4,ru=0.55"]), parse_cutoffs([])
    ({'en': 0.4}, {'en': 0.4, 'ru': 0.55}, {})
    >>> parse_cutoffs(["en:0.4"])
    Traceback (most recent call last):
    ...
    ValueError: stance cutoff 'en:0.4': expected LANG=P, e.g. en=0.4
    """
    return check_stance_cutoffs({"cutoffs": parse_pairs(specs)})
