"""What a labelled passage may be: one rule, shared by ``narratives suggest`` (what it proposes),
``narratives labels import`` (what it accepts) and ``narratives labels check`` (what it passes).

The word bounds come from the label folder's ``targets.yaml``: ``words`` for passages, ``headlines.words``
for the label files listed under ``headlines.files`` (standalone headings). Without a targets file any
non-empty passage is allowed.

>>> bounds({"words": {"min": 15, "max": 150}})
(15, 150)
>>> word_problem("Two words", (15, 150))
'passage has 2 words (allowed 15-150)'
>>> word_problem("Two words", (2, 20), "headline") is None
True
"""
from __future__ import annotations

from pathlib import Path

NO_LIMIT = 10**9


def bounds(goals: dict, headline: bool = False) -> tuple[int, int]:
    """``(min, max)`` words of a passage (or of a heading, in a headline file) under ``goals`` (targets.yaml).

    >>> bounds({}), bounds({"headlines": {"words": {"min": 2, "max": 20}}}, headline=True)
    ((0, 1000000000), (2, 20))
    """
    words = goals.get("headlines", {}).get("words", {}) if headline else goals.get("words", {})
    return words.get("min", 1 if headline else 0), words.get("max", NO_LIMIT)


def word_problem(text: str, limits: tuple[int, int], what: str = "passage") -> str | None:
    """Why ``text`` is not a valid passage under ``limits``, or ``None``.

    >>> word_problem(" ".join(["word"] * 151), (15, 150))
    'passage has 151 words (allowed 15-150)'
    """
    lo, hi = limits
    n = len(text.split())
    return None if lo <= n <= hi else f"{what} has {n} words (allowed {lo}-{hi})"


def folder_bounds(labels: str | Path | None = None) -> tuple[int, int]:
    """The passage word bounds of a label folder (its ``targets.yaml``); no limits when it has none or
    the file is malformed (``narratives labels check`` reports that).

    >>> folder_bounds()
    (15, 150)
    """
    from narratives.model.paths import labels_dir

    from .check import _load_targets

    folder = Path(labels) if labels is not None else labels_dir()
    return bounds(_load_targets(folder, []))
