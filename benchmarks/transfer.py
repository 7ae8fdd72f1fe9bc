"""Cross-lingual transfer: train without a language, test on it.

    python benchmarks/transfer.py [--kinds e5 baseline] [--langs ru sr-Cyrl sr-Latn bs hr hbs] [--out transfer.json]

For each held-out language (``hbs`` is Serbian in both scripts, Bosnian and Croatian together), two
models are fitted on the training split: one on all of it ("with") and one without that language's
passages ("without"). Both are scored on that language's dev and test passages (never fitted on), with
the project's metrics. The gap between the two is what the language's own training passages add; the
"without" figure is how far the model transfers from the other languages. Embeddings are computed once
and reused across fits (the encoder is frozen), so the e5 runs take about a minute plus the embedding.
Pass ``--no-transliterate`` to see what transliterating Serbian Cyrillic contributes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

GROUPS = {"hbs": ("sr-Latn", "sr-Cyrl", "bs", "hr")}


def records(p: np.ndarray, s: np.ndarray, labels: list[str], thresholds: dict) -> list[dict]:
    """``predict``-style decisions from scores (what :func:`narratives.serve.predict.decide` does).

    >>> records(np.array([[0.9, 0.1]]), np.array([0.7]), ["a", "b"], {"a": 0.5, "b": 0.5})[0]["stance"]
    'promotes'
    """
    out = []
    for row, ps in zip(p, s):
        narr = [lab for lab, v in zip(labels, row) if v >= thresholds[lab]]
        out.append({"scores": dict(zip(labels, map(float, row))), "narratives": narr, "stance_score": float(ps),
                    "stance": ("promotes" if ps >= 0.5 else "reports") if narr else "none"})
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the transfer experiment (arguments as on the command line); returns the figures.

    >>> main(["--kinds", "e5", "--langs", "ru"])["languages"]["ru"]["e5"]["without"]["macro_f1"]  # doctest: +SKIP
    0.909
    """
    from narratives.model.baseline import TfidfNarrativeClassifier
    from narratives.model.e5head import FrozenEmbeddingClassifier
    from narratives.model.taxonomy import load_taxonomy
    from narratives.train.data import load_passages
    from narratives.train.metrics import evaluate_predictions

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["e5", "baseline"], choices=["e5", "baseline"])
    ap.add_argument("--langs", nargs="+", default=["ru", "sr-Cyrl", "sr-Latn", "bs", "hr", "hbs"])
    ap.add_argument("--no-transliterate", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    labels = list(load_taxonomy().ids)
    passages = load_passages()
    train = [p for p in passages if p.split == "train"]
    held = [p for p in passages if p.split in ("dev", "test")]
    e5 = FrozenEmbeddingClassifier(labels=labels, transliterate=not args.no_transliterate)
    emb: dict[str, np.ndarray] = {}
    if "e5" in args.kinds:
        t0 = time.perf_counter()
        x = e5.embed([p.text for p in passages])
        emb = {p.id: x[i] for i, p in enumerate(passages)}
        print(f"embedded {len(passages)} passages in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    def fit_and_score(kind: str, fit: list, test: list) -> dict:
        narr, stance, groups = [p.narratives for p in fit], [p.stance for p in fit], [p.source for p in fit]
        clf: FrozenEmbeddingClassifier | TfidfNarrativeClassifier
        if kind == "e5":
            clf = FrozenEmbeddingClassifier(labels=labels, transliterate=not args.no_transliterate)
            clf.fit_embeddings(np.stack([emb[p.id] for p in fit]), narr, stance, groups)
            p, s = clf.scores_from_embeddings(np.stack([emb[q.id] for q in test]))
        else:
            clf = TfidfNarrativeClassifier(labels=labels).fit([p.text for p in fit], narr, stance, groups)
            p, s = clf.scores([q.text for q in test])
        m = evaluate_predictions(test, records(p, s, labels, clf.thresholds_), labels, by_lang=False)
        return {k: m[k] for k in ("n", "macro_f1", "micro_f1", "stance_accuracy", "negatives", "negatives_flagged")}

    result: dict = {"fit": "train split", "scored_on": "dev and test splits", "transliterate": not args.no_transliterate,
                    "languages": {}}
    for lang in args.langs:
        members = GROUPS.get(lang, (lang,))
        test = [p for p in held if p.lang in members]
        result["languages"][lang] = row = {"n": len(test)}
        for kind in args.kinds:
            row[kind] = {"with": fit_and_score(kind, train, test),
                         "without": fit_and_score(kind, [p for p in train if p.lang not in members], test)}
            w, wo = row[kind]["with"], row[kind]["without"]
            print(f"{lang:<8} n={len(test):<3} {kind:<8} macro-F1 with {w['macro_f1']:.3f} without {wo['macro_f1']:.3f}   "
                  f"micro-F1 with {w['micro_f1']:.3f} without {wo['micro_f1']:.3f}   "
                  f"stance with {w['stance_accuracy']:.3f} without {wo['stance_accuracy']:.3f}", flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
