"""Every evaluation figure is computed here, and only here (scikit-learn underneath).

>>> m = narrative_metrics([["a"], [], ["a", "b"]], [["a"], ["b"], ["a"]], ["a", "b"])
>>> m["per_narrative"]["a"]["f1"], m["micro_f1"]
(1.0, 0.6667)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _r(x: float) -> float:
    return round(float(x), 4)


def binarize(rows: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    return np.array([[lab in r for lab in labels] for r in rows], dtype=np.int64).reshape(len(rows), len(labels))


def narrative_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], labels: Sequence[str]) -> dict:
    """Per-narrative precision, recall, F1 and support; macro and micro F1; hard-negative flag rate.

    Macro-F1 averages the narratives that occur in ``gold`` or ``pred``: a narrative absent from both has
    no defined F1 (a slice of one language, or a frozen test split older than a narrative, would otherwise
    count it as 0), while a narrative predicted but absent from ``gold`` counts as 0 (its false alarms).

    >>> narrative_metrics([["a"], []], [["a"], []], ["a", "b"])["macro_f1"]
    1.0
    >>> narrative_metrics([["a"], []], [["a"], ["b"]], ["a", "b"])["macro_f1"]
    0.5
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    Y, P = binarize(gold, labels).astype(bool), binarize(pred, labels).astype(bool)
    # One column at a time, positives being 1: a two-dimensional array of one column would read as binary.
    per_col = [precision_recall_fscore_support(Y[:, j], P[:, j], average="binary", pos_label=True, zero_division=0)
               if len(Y) else (0.0, 0.0, 0.0, None) for j in range(len(labels))]
    p, r, f = (np.array([c[k] for c in per_col], dtype=float).reshape(len(labels)) for k in range(3))
    s = Y.sum(0)
    per = {lab: {"precision": _r(p[i]), "recall": _r(r[i]), "f1": _r(f[i]), "support": int(s[i])}
           for i, lab in enumerate(labels)}
    neg = Y.sum(1) == 0
    present = (Y.sum(0) + P.sum(0)) > 0
    # Micro-F1 pools every (passage, narrative) decision.
    micro = f1_score(Y.ravel(), P.ravel(), zero_division=0) if Y.size else 0.0
    return {
        "per_narrative": per,
        "macro_f1": _r(f[present].mean()) if present.any() else 0.0,
        "micro_f1": _r(micro),
        "negatives": int(neg.sum()),
        "negatives_flagged": _r(P[neg].any(1).mean()) if neg.any() else None,
        "n": len(gold),
    }


def stance_metrics(gold: Sequence[str], pred: Sequence[str], gold_has_narr: Sequence[bool],
                   head: Sequence[str]) -> dict:
    """``stance_accuracy``: three-way (promotes/reports/none) over all passages, as the product outputs it.
    ``stance_head_accuracy``: promotes vs reports of the stance head alone, on passages whose gold label
    has a narrative (independent of narrative detection). Plus the three-way confusion matrix.

    >>> stance_metrics(["none", "promotes"], ["none", "reports"], [False, True], ["reports", "reports"])["stance_accuracy"]
    0.5
    """
    from sklearn.metrics import confusion_matrix

    order = ["promotes", "reports", "none"]
    g, p = np.array(gold), np.array(pred)
    m = np.array(gold_has_narr, dtype=bool)
    h = np.array(head)
    return {
        "stance_accuracy": _r((g == p).mean()) if len(g) else None,
        "stance_head_accuracy": _r((g[m] == h[m]).mean()) if m.any() else None,
        "stance_confusion": {"labels": order, "matrix": confusion_matrix(g, p, labels=order).tolist()},
    }


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error over all (passage, narrative) probabilities, with the reliability
    table behind it: per equal-width bin, the mean predicted probability and the observed frequency.

    >>> calibration(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]))["ece"]
    0.175
    """
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(p, dtype=float).ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            conf, freq = float(p[m].mean()), float(y[m].mean())
            ece += m.mean() * abs(conf - freq)
            table.append({"bin": [round(edges[b], 2), round(edges[b + 1], 2)], "n": int(m.sum()),
                          "mean_probability": _r(conf), "frequency": _r(freq)})
    return {"ece": _r(ece), "bins": table}


def evaluate_predictions(passages, records, labels: Sequence[str], by_lang: bool = True) -> dict:
    """All figures for ``passages`` (gold, with ``.narratives``, ``.stance``, ``.lang``) against ``records``
    (same order): per passage ``narratives``, ``stance``, ``stance_score`` and ``scores``, best the exact
    decisions of :func:`narratives.serve.predict.decide` (the trainer's), not rounded records."""
    gold = [p.narratives for p in passages]
    pred = [r["narratives"] for r in records]
    from narratives.model.contract import stance_of

    head = [stance_of(r["stance_score"]) for r in records]
    out = narrative_metrics(gold, pred, labels)
    cal = calibration(binarize(gold, labels), np.array([[r["scores"][lab] for lab in labels] for r in records]))
    out["ece"], out["reliability"] = cal["ece"], cal["bins"]
    out.update(stance_metrics([p.stance for p in passages], [r["stance"] for r in records],
                              [bool(p.narratives) for p in passages], head))
    if by_lang:
        def figures(idx: list[int]) -> dict:
            sub = narrative_metrics([gold[i] for i in idx], [pred[i] for i in idx], labels)
            st = stance_metrics([passages[i].stance for i in idx], [records[i]["stance"] for i in idx],
                                [bool(passages[i].narratives) for i in idx], [head[i] for i in idx])
            return {"n": len(idx), "macro_f1": sub["macro_f1"], "micro_f1": sub["micro_f1"],
                    "stance_accuracy": st["stance_accuracy"], "stance_head_accuracy": st["stance_head_accuracy"],
                    "negatives": sub["negatives"], "negatives_flagged": sub["negatives_flagged"],
                    "per_narrative": sub["per_narrative"]}

        out["per_language"] = {lang: figures([i for i, p in enumerate(passages) if p.lang == lang])
                               for lang in sorted({p.lang for p in passages})}
        out["language_groups"] = {}
        for group, members in LANGUAGE_GROUPS.items():
            idx = [i for i, p in enumerate(passages) if (p.lang != "en" if members is None else p.lang in members)]
            if idx:
                out["language_groups"][group] = figures(idx)
    return out


# Pooled slices: a single language has too few held-out passages for stable figures.
LANGUAGE_GROUPS: dict[str, frozenset[str] | None] = {
    "non-English": None, "Serbian, Bosnian, Croatian": frozenset({"sr-Latn", "sr-Cyrl", "bs", "hr"})}
