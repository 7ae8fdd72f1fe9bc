"""The model contract every kind follows, the scores it returns, and the one decision rule.

A model kind follows scikit-learn's estimator rules: ``__init__`` only stores its arguments (its
settings), everything learned ends in ``_`` (``labels_``, ``thresholds_``, weights), and ``fit``
returns ``self``. Every model, trained or combined, answers :meth:`NarrativeModel.score` with
:class:`Scores`; :func:`decide` is the only place where scores become narratives and stances (the
prediction records, article aggregation and the metrics all go through it, on exact scores).

>>> s = Scores(np.array([[0.7, 0.2], [0.1, 0.3]]), np.array([0.9, 0.4]))
>>> decide(s, ["a", "b"], {"a": 0.5, "b": 0.25})
[(['a'], 'promotes'), (['b'], 'reports')]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from .taxonomy import STANCES as STANCES  # one definition (model/taxonomy.py), re-exported here

PROMOTES_AT = 0.5  # a promotes-probability at or above this is "promotes", below it "reports"


class Scores(NamedTuple):
    """What a model says about ``n`` passages: ``narratives`` (n, k) scores in [0, 1], one column per
    label in ``labels_`` order, and ``promotes`` (n,), the probability that a passage promotes (rather
    than reports) the narratives it carries. A tuple, so ``p, s = model.score(texts)`` works.

    >>> p, s = Scores(np.zeros((2, 3)), np.zeros(2))
    >>> p.shape, s.shape
    ((2, 3), (2,))
    """

    narratives: np.ndarray
    promotes: np.ndarray


@runtime_checkable
class NarrativeModel(Protocol):
    """What loading, scoring, training and the card rely on. ``config_``, ``model_hash_`` and ``path_``
    exist once a model was saved or loaded (a model fitted in memory has none of them)."""

    kind: str
    labels_: list[str]
    thresholds_: dict[str, float]

    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores: ...

    def config(self) -> dict[str, Any]: ...

    def save_pretrained(self, path: str | Path, extra_config: dict | None = None, extra_files: Any = None,
                        decider_files: dict[str, bytes] | None = None) -> str: ...


def stance_of(promotes: float, has_narratives: bool = True) -> str:
    """The stance for one passage (or one narrative's evidence): ``none`` without narratives.

    >>> stance_of(0.5), stance_of(0.49), stance_of(0.9, has_narratives=False)
    ('promotes', 'reports', 'none')
    """
    if not has_narratives:
        return "none"
    return "promotes" if promotes >= PROMOTES_AT else "reports"


def threshold_array(labels: Sequence[str], thresholds: Mapping[str, float]) -> np.ndarray:
    """The thresholds as a vector in ``labels`` order.

    >>> threshold_array(["b", "a"], {"a": 0.3, "b": 0.6}).tolist()
    [0.6, 0.3]
    """
    return np.array([float(thresholds[lab]) for lab in labels], dtype=np.float64).reshape(len(labels))


def predicted(scores: np.ndarray, labels: Sequence[str], thresholds: Mapping[str, float]) -> np.ndarray:
    """Boolean (n, k): a narrative is predicted when its score reaches its threshold (exact scores).

    >>> predicted(np.array([[0.5, 0.2]]), ["a", "b"], {"a": 0.5, "b": 0.3}).tolist()
    [[True, False]]
    """
    p = np.asarray(scores, dtype=np.float64).reshape(-1, len(labels))
    return p >= threshold_array(labels, thresholds)


def decide(scores: Scores, labels: Sequence[str], thresholds: Mapping[str, float],
           scored: Sequence[bool] | None = None) -> list[tuple[list[str], str]]:
    """Per passage: the narratives at or above their thresholds and the stance (``none`` without any).
    ``scored`` marks passages that were really scored (an empty text is not, and decides nothing).

    >>> decide(Scores(np.array([[0.9]]), np.array([0.2])), ["a"], {"a": 0.5}, scored=[False])
    [([], 'none')]
    """
    hits = predicted(scores.narratives, labels, thresholds)
    promo = np.asarray(scores.promotes, dtype=np.float64).reshape(len(hits))
    out = []
    for i, row in enumerate(hits):
        narr = [lab for lab, h in zip(labels, row) if h] if scored is None or scored[i] else []
        out.append((narr, stance_of(float(promo[i]), bool(narr))))
    return out
