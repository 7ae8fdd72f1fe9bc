"""``predict``: narrative scores, predicted narratives and stance for passages of text.

>>> from narratives.serve import predict
>>> out = predict("Belgrade hosted a basketball final on Sunday.")
>>> sorted(out)
['lang', 'model_hash', 'model_version', 'narratives', 'scores', 'stance', 'stance_score', 'text_sha256', 'warnings']
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import overload

MAX_CHARS = 20_000  # a passage longer than this is truncated, with a warning in its record


def _as_list(texts) -> list[str]:
    """A string, or any sequence of strings: a list or tuple, a pandas Series, a NumPy or Arrow array.

    >>> import pandas as pd
    >>> _as_list(pd.Series(["a", "b"], index=[5, 6]))
    ['a', 'b']
    """
    if isinstance(texts, str):
        return [texts]
    if hasattr(texts, "to_pylist"):  # pyarrow Array or ChunkedArray
        texts = texts.to_pylist()
    elif hasattr(texts, "tolist") and not isinstance(texts, (list, tuple)):  # pandas Series/Index, NumPy array
        texts = texts.tolist()
    if not isinstance(texts, Sequence) or isinstance(texts, (bytes, bytearray)):
        raise TypeError(f"texts must be a string or a list of strings (or another sequence of strings: a tuple, "
                        f"a pandas Series, an array), got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return list(texts)


def model_info(model) -> dict:
    """Version (first 12 hex digits of the hash) and content hash of a model; a model fitted in memory
    and not yet saved has neither."""
    h = getattr(model, "model_hash_", None)
    return {"model_version": h[:12] if h else None, "model_hash": h}


@overload
def predict(texts: str, model: str | Path | None = None) -> dict: ...  # type: ignore[overload-overlap]
@overload
def predict(texts: Sequence[str], model: str | Path | None = None) -> list[dict]: ...
def predict(texts, model=None):
    """Score passages. A string gives one record; a sequence of strings (a list, a tuple, a pandas Series,
    a NumPy or Arrow array) gives a list of records in the same order.

    Each record: ``scores`` (every narrative, 0-1), ``narratives`` (those at or above the model's
    threshold), ``stance`` (``promotes``/``reports``, or ``none`` when no narrative is predicted),
    ``stance_score`` (probability of *promotes*), ``model_version``, ``model_hash``, ``text_sha256``
    (of the input text, for audits), ``lang`` (detected: en, ru, sr-Cyrl, hbs-Latn or und; sq, mk, bg or
    uk with a warning, as the labels do not cover them) and ``warnings``. ``model`` is a shipped name
    (``"baseline"``), a model directory, or ``None`` for the
    shipped default, loaded once per process.

    >>> [(r["narratives"], r["stance"], r["warnings"]) for r in predict(["", "  "])]
    [([], 'none', ['empty text']), ([], 'none', ['empty text'])]
    """
    from narratives.model import load_model

    single = isinstance(texts, str)
    items = _as_list(texts)
    clf = load_model(model)
    records = score_passages(clf, items)
    return records[0] if single else records


def decide(clf, texts: list[str]) -> list[dict]:
    """The decisions for already-validated texts, on exact scores: ``scores`` (unrounded), ``narratives``,
    ``stance``, ``stance_score``, ``lang`` (detected here, once per passage, and handed to the model) and
    ``warnings``. Article scoring aggregates these directly; ``predict`` adds the audit fields with
    :func:`score_passages`."""
    from narratives.model.langid import detect_language  # here: importing narratives.model loads numpy

    labels = clf.labels_
    langs = [detect_language(t) for t in texts]
    warnings: list[list[str]] = [[] for _ in texts]
    work, idx = [], []
    for i, t in enumerate(texts):
        if not t.strip():
            warnings[i].append("empty text")
            continue
        if len(t) > MAX_CHARS:
            warnings[i].append(f"text truncated to {MAX_CHARS} characters for scoring")
            t = t[:MAX_CHARS]
        work.append(t)
        idx.append(i)
    import numpy as np

    from narratives.model.contract import Scores
    from narratives.model.contract import decide as decide_scores

    p = np.zeros((len(texts), len(labels)))
    s = np.zeros(len(texts))
    if work:
        p[idx], s[idx] = clf.score(work, langs=[langs[i] for i in idx])
    scored = np.zeros(len(texts), dtype=bool)
    scored[idx] = True
    out = []
    for i, (narr, stance) in enumerate(decide_scores(Scores(p, s), labels, clf.thresholds_, scored)):
        out.append({"scores": {lab: float(v) for lab, v in zip(labels, p[i])}, "narratives": narr, "stance": stance,
                    "stance_score": float(s[i]), "lang": langs[i], "warnings": warnings[i]})
    return out


def score_passages(clf, texts: list[str]) -> list[dict]:
    """``predict`` records for already-validated texts with a loaded model: the decisions (made on exact
    scores; rounded only in the record, see :mod:`narratives.serve.records`) plus the model's version and
    hash, the text's sha256 and its detected language."""
    from .records import passage_record

    info = model_info(clf)
    return [passage_record(_warn_unlabelled(d, d["lang"]), info, t) for t, d in zip(texts, decide(clf, texts))]


def _warn_unlabelled(decision: dict, lang: str) -> dict:
    """The decision with a warning added when the passage's language is not among the labelled ones
    (Albanian, Macedonian, Bulgarian, Ukrainian: detected, never taken for English, Serbian or Russian)."""
    from narratives.model.langid import unlabelled_warning

    w = unlabelled_warning(lang)
    return {**decision, "warnings": [*decision["warnings"], w]} if w else decision
