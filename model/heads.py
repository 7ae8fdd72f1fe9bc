"""What the baseline and the e5 heads share: a balanced logistic-regression head, the sigmoid, the F1-best
threshold, and thresholds tuned on out-of-fold scores (folds grouped by source, so a document never
scores itself).

>>> w, b = logistic_head(np.array([[0.0], [1.0], [0.1], [0.9]]), np.array([0, 1, 0, 1]), C=1.0, solver="lbfgs")
>>> bool(w[0] > 0)
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def logistic_head(x, y: np.ndarray, C: float, solver: str, max_iter: int = 1000,
                  random_state: int | None = None) -> tuple[np.ndarray, float]:
    """Weights and bias of a balanced L2 logistic regression, or a constant model for a one-class ``y``
    (liblinear shuffles: seed it with ``random_state``, or runs differ)."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        p = float(np.clip(y.mean() if len(y) else 0.0, 1e-3, 1 - 1e-3))
        return np.zeros(x.shape[1]), float(np.log(p / (1 - p)))
    lr = LogisticRegression(C=C, class_weight="balanced", solver=solver, max_iter=max_iter, random_state=random_state)
    lr.fit(x, y)
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def best_threshold(y: np.ndarray, scores: np.ndarray, lo: float = 0.05, hi: float = 0.95) -> float:
    """The score cut that maximises F1 on ``(y, scores)``, placed midway between neighbouring scores.

    >>> best_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.6, 0.9]))
    0.45
    """
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5
    order = np.argsort(-scores)
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(t) + 1)
    f1 = 2 * tp / (k + t.sum())
    # Only cut between distinct scores.
    valid = np.r_[s[:-1] > s[1:], True]
    i = int(np.argmax(np.where(valid, f1, -1)))
    cut = (s[i] + s[i + 1]) / 2 if i + 1 < len(s) else s[i] / 2
    return float(np.clip(round(cut, 4), lo, hi))

def label_set(labels: Sequence[str] | None, narratives: Sequence[Sequence[str]]) -> list[str]:
    """The narratives a model is fitted for: ``labels`` when given, else those seen in ``narratives``;
    a narrative outside a given label set is a ValueError.

    >>> label_set(None, [["b"], ["a", "b"]])
    ['a', 'b']
    >>> label_set(["a"], [["b"]])
    Traceback (most recent call last):
    ...
    ValueError: narratives ['b'] are not in the label set ['a']
    """
    seen = {n for ns in narratives for n in ns}
    out = list(labels) if labels is not None else sorted(seen)
    unknown = sorted(seen - set(out))
    if unknown:
        raise ValueError(f"narratives {unknown} are not in the label set {out}")
    return out


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the log loss of ``sigmoid(logits / T)`` against ``y`` (0/1).

    >>> z = np.array([4.0, -4.0, 3.0, -3.0, 2.0, -2.0]); y = np.array([1, 0, 0, 1, 1, 0])
    >>> fit_temperature(z, y) > 1.0   # over-confident logits get cooled
    True
    """
    from scipy.optimize import minimize_scalar

    if len(np.unique(y)) < 2:
        return 1.0

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        return float(np.mean(np.logaddexp(0, z) - y * z))

    res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))


def calibrate_on_dev(z: np.ndarray, zs: np.ndarray, labels: Sequence[str], narratives: Sequence[Sequence[str]],
                     stances: Sequence[str]) -> tuple[list[float], float, dict[str, float], np.ndarray, np.ndarray]:
    """Temperatures per narrative head and for the stance head, and F1-best thresholds, from dev logits
    ``z`` (passages x narratives) and stance logits ``zs``; also the label matrix and calibrated scores.

    >>> z = np.array([[3.0], [-3.0], [2.0], [-2.0]]); zs = np.array([1.0, 0.0, -1.0, 0.0])
    >>> t, ts, th, Y, p = calibrate_on_dev(z, zs, ["a"], [["a"], [], ["a"], []], ["promotes", "none", "reports", "none"])
    >>> Y[:, 0].tolist(), 0.05 <= th["a"] <= 0.95
    ([1, 0, 1, 0], True)
    """
    Y = np.array([[lab in ns for lab in labels] for ns in narratives], dtype=np.int64).reshape(len(z), len(labels))
    temperatures = [fit_temperature(z[:, j], Y[:, j]) for j in range(len(labels))]
    has = Y.sum(1) > 0
    promo = np.array([s == "promotes" for s in stances], dtype=np.int64)
    stance_temperature = fit_temperature(zs[has], promo[has]) if has.any() else 1.0
    p = _sigmoid(z / np.array(temperatures))
    thresholds = {lab: best_threshold(Y[:, j], p[:, j]) for j, lab in enumerate(labels)}
    return temperatures, stance_temperature, thresholds, Y, p



def tuned_thresholds(labels: Sequence[str], Y: np.ndarray, groups: Sequence[str] | None, cv_folds: int,
                     fold_scores: Callable[[np.ndarray, np.ndarray], np.ndarray]
                     ) -> tuple[dict[str, float], np.ndarray | None]:
    """Per-label thresholds that maximise F1 on out-of-fold scores, and those scores (None, with 0.5
    everywhere, when there are fewer than two folds). ``fold_scores(train_idx, test_idx)`` fits on one
    part and scores the other.

    >>> Y = np.array([[1], [0], [1], [0]])
    >>> tuned_thresholds(["a"], Y, None, 0, lambda tr, te: Y[te] * 0.8)[0]
    {'a': 0.5}
    """
    from sklearn.model_selection import GroupKFold

    g = list(groups) if groups is not None else list(range(len(Y)))
    folds = min(cv_folds, len(set(g)))
    if folds < 2:
        return {lab: 0.5 for lab in labels}, None
    oof = np.zeros(Y.shape, dtype=np.float64)
    for tr, te in GroupKFold(n_splits=folds).split(np.zeros(len(Y)), groups=g):
        oof[te] = fold_scores(tr, te)
    return {lab: best_threshold(Y[:, j], oof[:, j]) for j, lab in enumerate(labels)}, oof


def head_tensors(W, b, sw, sb, flat_stance: bool = False) -> dict[str, np.ndarray]:
    """The narrative and stance heads as every kind saves them in ``weights.safetensors`` (float32):
    ``narratives.weight`` (labels x dim), ``narratives.bias``, ``stance.weight`` (1 x dim; dim alone with
    ``flat_stance``, the linear kinds' layout) and ``stance.bias`` (one value).

    >>> {k: v.shape for k, v in head_tensors(np.ones((2, 3)), np.zeros(2), np.ones(3), 0.5).items()}
    {'narratives.weight': (2, 3), 'narratives.bias': (2,), 'stance.weight': (1, 3), 'stance.bias': (1,)}
    """
    sw = np.asarray(sw, dtype=np.float32)
    return {"narratives.weight": np.asarray(W, dtype=np.float32), "narratives.bias": np.asarray(b, dtype=np.float32).reshape(-1),
            "stance.weight": sw.reshape(-1) if flat_stance else sw.reshape(1, -1),
            "stance.bias": np.asarray(sb, dtype=np.float32).reshape(1)}


def read_heads(t: dict, n_labels: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The heads from saved tensors (float64; the stance weight flat), checked against the label count:
    a mismatch is a ``ModelLoadError`` naming ``where``.

    >>> W, b, sw, sb = read_heads(head_tensors(np.ones((2, 3)), np.zeros(2), np.ones(3), 0.5), 2, "m")
    >>> W.shape, sw.shape, sb
    ((2, 3), (3,), 0.5)
    """
    from .artifact import ModelLoadError

    W, b = np.asarray(t["narratives.weight"], dtype=np.float64), np.asarray(t["narratives.bias"], dtype=np.float64)
    sw, sb = np.asarray(t["stance.weight"], dtype=np.float64).reshape(-1), np.asarray(t["stance.bias"], dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != n_labels or b.shape != (n_labels,) or sw.shape != (W.shape[1],) or sb.size != 1:
        raise ModelLoadError(f"{where}: head shape {W.shape} does not match the {n_labels} labels")
    return W, b, sw, float(sb.reshape(-1)[0])


class TemperatureScaled:
    """Calibrated scores for kinds whose heads give logits (``transformer``, ``e5-lora``): a temperature per
    narrative head and one for the stance head, fitted on the dev split with the thresholds, stored in
    the config. A kind supplies ``_logits(texts) -> (narrative logits, stance logits)``.

    >>> class Fixed(TemperatureScaled):
    ...     labels_ = ["a"]
    ...     def _logits(self, texts, langs=None):
    ...         return np.array([[4.0], [-4.0], [1.0], [-1.0]]), np.array([2.0, 0.0, -2.0, 0.0])
    >>> m = Fixed()
    >>> Y, p = m._calibrate((["w", "x", "y", "z"], [["a"], [], ["a"], []], ["promotes", "none", "reports", "none"]))
    >>> sorted(m._temperature_config()), bool(m._calibrated(*m._logits([])).narratives[0, 0] > 0.5)
    (['stance_temperature', 'temperatures'], True)
    """

    labels_: list[str]
    thresholds_: dict[str, float]
    temperatures_: list[float]
    stance_temperature_: float

    def _logits(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _calibrate(self, dev) -> tuple[np.ndarray, np.ndarray] | None:
        """Temperatures and thresholds from ``dev`` (texts, narratives, stances); without dev, temperatures 1
        and thresholds 0.5. Returns dev's label matrix and calibrated scores (None without dev)."""
        n = len(self.labels_)
        self.temperatures_, self.stance_temperature_ = [1.0] * n, 1.0
        self.thresholds_ = {lab: 0.5 for lab in self.labels_}
        if not dev or not len(dev[0]):
            return None
        texts, narratives, stances = dev
        z, zs = self._logits(texts)
        self.temperatures_, self.stance_temperature_, self.thresholds_, Y, p = \
            calibrate_on_dev(z, zs, self.labels_, narratives, stances)
        return Y, p

    def _calibrated(self, z: np.ndarray, zs: np.ndarray) -> Any:
        """Narrative probabilities and the probability of *promotes*, from logits."""
        from .contract import Scores

        return Scores(_sigmoid(z / np.array(self.temperatures_)), _sigmoid(zs / self.stance_temperature_))

    def _temperature_config(self) -> dict:
        return {"temperatures": {lab: float(t) for lab, t in zip(self.labels_, self.temperatures_)},
                "stance_temperature": float(self.stance_temperature_)}

    def _load_temperatures(self, cfg: dict) -> None:
        self.temperatures_ = [float(cfg["temperatures"][lab]) for lab in self.labels_]
        self.stance_temperature_ = float(cfg["stance_temperature"])
