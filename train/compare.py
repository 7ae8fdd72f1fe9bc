"""``narratives compare A B``: two models on the same frozen test split, narrative by narrative.

The comparison is what stands between a retrained model and the default: ``promote`` refuses a
candidate that loses more than ``max_drop`` F1 on any narrative the current default knows (unless
forced), so retraining never makes things silently worse.

>>> from narratives.train.compare import compare_models
>>> report = compare_models("baseline", "baseline")
>>> report["regressions"]
[]
"""
from __future__ import annotations

from pathlib import Path

MAX_DROP = 0.02
SUMMARY = ("macro_f1", "micro_f1", "stance_accuracy", "negatives_flagged", "ece")


def _delta(a, b):
    return None if a is None or b is None else round(b - a, 4)


def compare_models(a: str | Path | None, b: str | Path | None, labels: str | Path | None = None,
                   corpus: str | Path | None = None, split: str = "test", max_drop: float = MAX_DROP) -> dict:
    """Evaluate model ``a`` (the reference, e.g. the current default) and ``b`` (the candidate) on one
    split of the labels and return per-narrative F1 with deltas ``b - a``.

    ``regressions`` lists the narratives that have passages in the split and whose F1 drops by more than
    ``max_drop``, including any that ``b`` no longer knows; a narrative only ``b`` knows is marked ``new``.
    The summary figures are each model's own (over its own narratives).
    """
    from narratives.model import load_model

    from .trainer import _prepare, evaluate_model

    _, passages, _ = _prepare(labels, corpus, None)  # also checks the frozen test split is unchanged
    held = [p for p in passages if p.split == split]
    if not held:
        raise ValueError(f"no labelled passages in the {split} split")
    ma, mb = load_model(a), load_model(b)
    ra, rb = evaluate_model(ma, held), evaluate_model(mb, held)
    rows = []
    for lab in list(dict.fromkeys([*ma.labels_, *mb.labels_])):
        pa, pb = ra["per_narrative"].get(lab), rb["per_narrative"].get(lab)
        support = sum(lab in p.narratives for p in held)
        f1a, f1b = (pa or {}).get("f1"), (pb or {}).get("f1")
        status = "new" if pa is None else "removed" if pb is None else "no passages" if support == 0 else ""
        delta = _delta(f1a, f1b) if support else None
        if delta is not None and delta < -max_drop:
            status = f"DROP > {max_drop}"
        elif pb is None and support:
            status, delta = "REMOVED (a drop to 0)", _delta(f1a, 0.0)
        rows.append({"narrative": lab, "support": support, "f1_a": f1a, "f1_b": f1b, "delta": delta,
                     "status": status})
    summary = {k: {"a": ra.get(k), "b": rb.get(k), "delta": _delta(ra.get(k), rb.get(k))} for k in SUMMARY}
    return {"split": split, "n": len(held), "max_drop": max_drop,
            "a": {"ref": str(a), "model_version": ma.model_hash_[:12], "kind": ma.config_.get("kind")},
            "b": {"ref": str(b), "model_version": mb.model_hash_[:12], "kind": mb.config_.get("kind")},
            "narratives": rows, "summary": summary,
            "regressions": [r["narrative"] for r in rows if r["status"].startswith(("DROP", "REMOVED"))]}


def format_comparison(report: dict) -> str:
    """The comparison as a plain-text table (what ``narratives compare`` prints).

    >>> print(format_comparison(compare_models("baseline", "baseline")).splitlines()[0])  # doctest: +ELLIPSIS
    test split, ... passages: A = tfidf-logreg ..., B = tfidf-logreg ...
    """
    f = lambda v: "   n/a" if v is None else f"{v:6.3f}"  # noqa: E731
    d = lambda v: "     " if v is None else f"{v:+.3f}"  # noqa: E731
    a, b = report["a"], report["b"]
    lines = [f"{report['split']} split, {report['n']} passages: A = {a['kind']} {a['model_version']}, "
             f"B = {b['kind']} {b['model_version']}",
             f"{'narrative':<22}{'n':>4}  {'F1 A':>6}  {'F1 B':>6}  {'B-A':>6}  note"]
    for r in report["narratives"]:
        lines.append(f"{r['narrative']:<22}{r['support']:>4}  {f(r['f1_a'])}  {f(r['f1_b'])}  {d(r['delta']):>6}  "
                     f"{r['status']}")
    for k, v in report["summary"].items():
        lines.append(f"{k.replace('_', ' '):<26}{f(v['a'])}  {f(v['b'])}  {d(v['delta']):>6}")
    if report["regressions"]:
        lines.append(f"regressions (F1 drop > {report['max_drop']}): {', '.join(report['regressions'])}")
    else:
        lines.append(f"no narrative drops by more than {report['max_drop']} F1")
    note = kind_note(a["kind"], b["kind"])
    if note:
        lines.append(note)
    return "\n".join(lines)


def train_name(kind: str | None) -> str | None:
    """The ``narratives train --kind`` name that makes a model of ``kind`` (None: not trainable).

    >>> train_name("tfidf-logreg"), train_name("routed")
    ('baseline', None)
    """
    from narratives.model import ModelLoadError
    from narratives.model.kinds import kind_spec

    try:
        spec = kind_spec(str(kind))
    except ModelLoadError:
        return None
    return (spec.aliases or (spec.name,))[0] if spec.trainable else None


def kind_note(a_kind: str | None, b_kind: str | None) -> str | None:
    """What to say when B (a candidate) is not the same kind of model as A (the default): not like with like.

    >>> print(kind_note("ensemble", "tfidf-logreg"))  # doctest: +NORMALIZE_WHITESPACE
    note: A is an ensemble model and B a tfidf-logreg one, so this compares two kinds, not two trainings of one;
    a tfidf-logreg model is rarely as good as an ensemble. To replace A, train its kind: `narratives train --kind ensemble`.
    >>> kind_note("ensemble", "ensemble") is None
    True
    """
    if a_kind == b_kind or a_kind is None or b_kind is None:
        return None
    name = train_name(a_kind)
    how = f"`narratives train --kind {name}`" if name else f"a {a_kind} model (see `narratives route`)"
    return (f"note: A is {'an' if a_kind[0] in 'aeiou' else 'a'} {a_kind} model and B a {b_kind} one, so this "
            f"compares two kinds, not two trainings of one; a {b_kind} model is rarely as good as "
            f"{'an' if a_kind[0] in 'aeiou' else 'a'} {a_kind}. To replace A, train its kind: {how}.")
