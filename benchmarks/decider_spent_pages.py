"""The article decider fitted on more real pages: the spent held-out sets added to its fit, out of fold.

    python benchmarks/decider_spent_pages.py [--spent holdout4 --spent holdout5] [--fold-seeds 10] [--out X.json]
    python benchmarks/decider_spent_pages.py --model DIR --spent holdout5 --only "spent, without" --cutoff 0.5 --cutoff 0.55
    python benchmarks/decider_spent_pages.py --spent holdout4 --spent holdout5 --only "spent, without" --page-model lexicon

The shipped decider (`e5-real`'s, which the default's reads) is fitted on the team-written articles and the 122
pages of the benchmark's dev half. A held-out set that has been read for its one choice is spent: nobody will
choose on it again, and its pages were never fitted by the heads, so their passage scores are out of sample like
the dev half's. This measures whether adding spent sets' pages to the decider's fit (presence and offsets only:
the article stance model and the page model stay as shipped, fitted on the team articles and the training pool)
helps, on two groups of pages that each decider never saw:

- **dev half, out of fold**: each fold of the dev half decided by a decider fitted on the team articles and the
  other folds, without (the shipped recipe) and with the spent pages;
- **spent pages, out of fold**: without, the shipped recipe's one decider (team articles and the whole dev half;
  it never saw a spent page); with, each fold decided by a decider also fitted on the other folds.

Each figure is the mean over ``--fold-seeds`` cuts, as `narratives decider cv` computes it
(:func:`narratives.train.decidercv.cross_validate`; C 10, cutoff 0.5, the article-text stance, the page
feature, with ``--page-model lexicon`` the page lexicon too). These are development figures: the spent sets were
read for other choices, and a candidate chosen here still needs a set nobody has seen. About 10 minutes on a 2-core
machine.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spent_articles(real: Path, splits: list[str]):
    """The pages of the held-out ``splits`` as articles (text from the cache; a missing page is an error)."""
    from narratives.train.decidercv import reference_articles
    from narratives.train.realpages import load_references

    return reference_articles([r for r in load_references(real) if r.page.split in splits])


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison; returns the four rows.

    >>> main(["--fold-seeds", "10"])["dev, with"]["objective"]  # doctest: +SKIP
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spent", action="append", default=None, help="spent held-out split(s) [holdout4, holdout5]")
    ap.add_argument("--fold-seeds", type=int, default=10)
    ap.add_argument("--model", default="e5-real")
    ap.add_argument("--cutoff", action="append", type=float, default=None, help="decider cutoff(s) [0.5]")
    ap.add_argument("--only", choices=["dev, without", "dev, with", "spent, without", "spent, with"], action="append",
                    default=None, help="run only these rows (repeatable) [all four]")
    ap.add_argument("--page-model", choices=["on", "lexicon"], default="on",
                    help="the page feature alone (on, the shipped recipe) or with the page lexicon [on]")
    ap.add_argument("--real", type=Path, default=ROOT / "data" / "real")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    from narratives.model import load_model
    from narratives.train.decidercv import cross_validate, real_articles
    from narratives.train.deciderplan import stance_pool_pages, training_articles

    clf = load_model(a.model)
    team, dev, _ = training_articles(tuple(clf.labels_), None, ("train", "dev"), True, a.real)
    spent = spent_articles(a.real, a.spent or ["holdout4", "holdout5"])
    common = dict(Cs=(10.0,), cutoffs=tuple(a.cutoff or [0.5]), stances=(True,), stance_sources=("article_text",),
                  stance_pool=stance_pool_pages(team, a.real),
                  page_models=(True if a.page_model == "on" else a.page_model,),
                  page_pool=real_articles(a.real, "train")[0], seeds=range(a.fold_seeds))
    runs = {"dev, without": dict(real=dev), "dev, with": dict(real=dev, fit_also=spent),
            "spent, without": dict(real=spent, fit_also=dev, folds_in_fit=False),
            "spent, with": dict(real=spent, fit_also=dev)}
    out = {}
    for name, kw in runs.items():
        if a.only and name not in a.only:
            continue
        for row in (r for r in cross_validate(clf, team, **common, **kw) if r["decider"] == "fitted"):
            key = name if len(common["cutoffs"]) == 1 else f"{name}, cutoff {row['cutoff']}"
            out[key] = {k: row[k] for k in ("macro_f1", "negatives_flagged", "stance_accuracy", "non_english_macro_f1",
                                            "objective")}
            print(f"{key:<15} " + "  ".join(f"{k} {v}" for k, v in out[key].items()), flush=True)
    print(f"{len(dev)} dev pages, {len(spent)} spent pages ({', '.join(a.spent or ['holdout4', 'holdout5'])}), "
          f"{len(team)} team articles, {a.fold_seeds} fold seeds")
    if a.out:
        a.out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
