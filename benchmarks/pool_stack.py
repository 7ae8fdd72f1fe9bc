"""The article decider fitted on the training pool out of fold (``--pool-stack``) against the shipped recipe, on the
pool's own pages.

    python benchmarks/pool_stack.py [--cutoff 0.5 --cutoff 0.6] [--fold-seeds 3] [--out pool_stack.json]

The benchmark's dev half has 122 pages, 115 of them non-English; the pool has 1,765, labelled the same way and
spread over languages like the held-out sets. Here every pool page is scored out of fold once
(:func:`narratives.train.poolstack.cross_fit`: `e5-real`'s heads, the page model and the page lexicon refitted
without its fold), and then decided by two deciders that never saw it:

- **shipped recipe**: one decider fitted on the team articles and the dev half, as shipped (it never sees a pool
  page, and reads the pool pages' out-of-fold evidence as it reads a new page's);
- **stacked**: each fold of the pool decided by a decider fitted on the team articles, the dev half and the other
  folds' stacked pages (what ``narratives decider fit --pool-stack`` fits, less the page's own fold).

Figures: macro-F1 and negatives flagged over all pool pages, English and non-English (means over ``--fold-seeds``
cuts of the stacked decider's folds). Page stance is not compared: the article stance model is fitted on the pool's
carrying pages, so on them it is in sample for both. These are development figures; a candidate still needs a set
nobody has seen. About 25 minutes on a 2-core machine, most of it encoding the pool once.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def presence_figures(gold, records, labels, english) -> dict:
    """Macro-F1 and negatives flagged of ``records`` against ``gold``, for all pages, English and the rest."""
    from narratives.train.realeval import page_figures

    out = {}
    for group, keep in (("all", lambda e: True), ("en", bool), ("non-en", lambda e: not e)):
        idx = [i for i, e in enumerate(english) if keep(e)]
        f = page_figures([gold[i] for i in idx], [records[i] for i in idx], [not gold[i] for i in idx], labels)
        out[group] = {"macro_f1": f["macro_f1"], "negatives_flagged": f["negatives_flagged"]}
    return out


def main(argv: list[str] | None = None) -> dict:
    """Both deciders' figures on the pool, per cutoff; returns ``{cutoff: {decider: figures}}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cutoff", action="append", type=float, default=None, help="presence cutoffs [0.5, 0.6]")
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--fold-seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from narratives.model.langid import detect_language
    from narratives.model.loading import load_model
    from narratives.serve.articles import article_spans
    from narratives.train.decider import fit_decider, split_and_score
    from narratives.train.decidercv import _records, real_articles
    from narratives.train.deciderplan import fit_article_stance, training_articles
    from narratives.train.pagemodel import PAGE_C, fit_page_lexicon, fit_page_model, page_logits
    from narratives.train.poolstack import cross_fit, deal, team_passages

    evidence = load_model("e5-real")
    labels, thresholds = list(evidence.labels_), dict(evidence.thresholds_)
    team, dev, _ = training_articles(tuple(labels), None, ("train", "dev"), True, None)
    pool = real_articles(None, "train")[0]
    stacked = cross_fit(evidence, pool, team_passages(), PAGE_C, lexicon=True)
    part = fit_page_model(evidence, pool, PAGE_C)
    lexicon = fit_page_lexicon(pool, labels)
    part = {**part, "lexicon": lexicon.settings()}
    fixed = team + dev
    fixed_scored = [sc for sc, _ in split_and_score(evidence, fixed)]
    fixed_pages = page_logits(part, evidence, fixed, lexicon)
    stance = fit_article_stance([a for a in team + pool if a.labels])
    promotes = stance.promotes_probability([a.text for a in pool])
    items = [(sc, article_spans({"text": a.text}), a.text, detect_language(a.text)) for sc, a in zip(stacked.scored, pool)]
    gold, english = [a.labels for a in pool], [a.lang == "en" for a in pool]

    def decide(d, idx):
        return _records([items[i] for i in idx], d, labels, thresholds, [promotes[i] for i in idx],
                        [stacked.pages[i] for i in idx])

    results: dict = {}
    for cutoff in args.cutoff or [0.5, 0.6]:
        def fit(extra: list[int], cutoff: float = cutoff):
            return fit_decider(fixed_scored + [stacked.scored[i] for i in extra], labels, thresholds, cutoff=cutoff,
                               C=args.C, stance=True, per_narrative=True, article_stance=stance, page=part,
                               pages=fixed_pages + [stacked.pages[i] for i in extra])

        everything = list(range(len(pool)))
        shipped = presence_figures(gold, decide(fit([]), everything), labels, english)
        per_seed = []
        for seed in range(args.fold_seeds):
            fold = deal([a.id for a in pool], 5, seed + 100)  # cuts other than the stacking's own
            records: list[dict] = [{}] * len(pool)
            for k in range(5):
                held = [i for i in everything if fold[i] == k]
                for i, rec in zip(held, decide(fit([i for i in everything if fold[i] != k]), held)):
                    records[i] = rec
            per_seed.append(presence_figures(gold, records, labels, english))
        mean = {g: {m: round(float(np.mean([s[g][m] for s in per_seed])), 4) for m in per_seed[0][g]}
                for g in per_seed[0]}
        results[str(cutoff)] = {"shipped recipe": shipped, "stacked": mean}
        for name, fig in results[str(cutoff)].items():
            print(f"cutoff {cutoff}  {name:15s} " + "  ".join(
                f"{g}: {f['macro_f1']:.3f} / {f['negatives_flagged']:.3f}" for g, f in fig.items()), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
