"""The model whose passage scores an article decider reads (its *evidence*): loading and checking it, the
settings a command line's evidence option gives, and how a decider names it.

>>> evidence_settings("e5-real")
{'evidence': 'e5-real', 'evidence_optional': False}
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def evidence_model(ref: str, labels: Sequence[str]):
    """The model named by ``ref`` as the evidence of a decider for a model scoring ``labels``: loaded, and
    refused (a ``ValueError`` naming ``--evidence ref``) unless it loads and scores the same narratives in the
    same order.

    >>> try:
    ...     evidence_model("baseline", ["other"])
    ... except ValueError as exc:
    ...     print(str(exc)[:60])
    --evidence baseline: it scores genocide_denial, kosovo_prece
    """
    from narratives.model import ModelLoadError, load_model

    try:
        scorer = load_model(ref)
    except ModelLoadError as exc:
        raise ModelLoadError(f"--evidence {ref}: {exc}") from None
    if list(scorer.labels_) != list(labels):
        raise ValueError(f"--evidence {ref}: it scores {', '.join(scorer.labels_)}, not {', '.join(labels)}: the "
                         "decider reads one score per narrative of the model")
    return scorer


OWN = "own"  # as an evidence reference: the model's own passage scores


def evidence_settings(ref: str | None) -> dict[str, Any]:
    """The decider settings a command line's evidence option gives: none when not given, else that model (or
    the model's own scores for ``own``), required rather than optional.

    >>> evidence_settings(None), evidence_settings("own")
    ({}, {'evidence': None, 'evidence_optional': False})
    """
    if ref is None:
        return {}
    return {"evidence": None if ref == OWN else ref, "evidence_optional": False}


def canonical_reference(ref: str) -> str:
    """How a decider names its evidence model: a model name or version as given, a directory as its absolute
    path (a relative one would be read from wherever the model is loaded).

    >>> canonical_reference("e5-real")
    'e5-real'
    """
    from narratives.model.registry import find_model

    if find_model(ref) is not None:
        return ref
    return str(Path(ref).resolve()) if Path(ref).is_dir() else ref
