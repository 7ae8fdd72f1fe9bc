"""The page lexicon beside `e5-real`'s heads: how well each ranks real pages it never saw, alone and together.

    python benchmarks/page_lexicon.py [--split dev --split holdout4 --split holdout5] [--C 16] [--work DIR]
    python benchmarks/page_lexicon.py --split dev --split holdout5 --fit-also holdout3 --fit-also holdout4

The heads (`e5-real`'s recipe: two best-scored positives per narrative, C 16) and the page lexicon
(:class:`narratives.model.pagelexicon.PageLexicon`) are both fitted on the real training pool only; the pages of
``--split`` (the dev half and spent held-out sets: pages no model was fitted on) are ranked by each narrative's
score: the heads' best passage, the lexicon's probability over the page's eligible passages, and the two together
(the mean of their logits, a fixed blend; the decider learns its own weights). It prints, per group of pages,
the mean over narratives of average precision (mAP) and the ROC AUC of pages with a narrative against pages
without one ("any"), for all pages, English and non-English, as ``benchmarks/pool_heads.py`` does. The embeddings
are cached in ``--work``; about 5 minutes once they are. ``--fit-also`` adds spent held-out sets' pages to the
lexicon's fit (not the heads'), to see what more pages give it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def logit(p: np.ndarray) -> np.ndarray:
    """Logits of probabilities, clipped away from 0 and 1.

    >>> logit(np.array([0.5, 1.0])).round(2).tolist()
    [0.0, 13.82]
    """
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main(argv: list[str] | None = None) -> dict:
    """Rank the pages of each split; returns ``{split: {scorer: ranking}}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", action="append", default=None, help="pages to rank [dev, holdout4, holdout5]")
    ap.add_argument("--C", type=float, default=16.0, help="the page lexicon's C [16]")
    ap.add_argument("--fit-also", action="append", default=[], help="spent split(s) whose pages the lexicon is "
                    "fitted on too, never one of --split [none]")
    ap.add_argument("--real", type=Path, default=ROOT / "data" / "real")
    ap.add_argument("--labels", type=Path, default=ROOT / "data" / "labels")
    ap.add_argument("--work", type=Path, default=Path("pool_heads_work"), help="where the embeddings are cached")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    splits = args.split or ["dev", "holdout4", "holdout5"]
    if set(splits) & set(args.fit_also):
        ap.error(f"--fit-also {sorted(set(splits) & set(args.fit_also))}: a split cannot be fitted on and ranked")
    if str(ROOT / "benchmarks") not in sys.path:  # its sibling, also when this file is run by path from elsewhere
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import pool_heads as ph

    from narratives.model.heads import _sigmoid
    from narratives.model.loading import load_model
    from narratives.model.pagelexicon import PageLexicon
    from narratives.serve.decider import lexicon_text
    from narratives.train.data import load_passages

    team = [p for p in load_passages(args.labels) if p.split == "train"]
    model = load_model("e5-real")
    labels = list(model.labels_)
    pool = ph.real_pages(args.real, "train")
    held = {s: ph.real_pages(args.real, s) for s in splits}
    every = [p for pages in held.values() for p in pages]
    emb = ph.embed_all(model, [p.text for p in team] + [t for p in pool + every for t in p["passages"]], args.work)
    heads = ph.Heads(labels, emb, 2, 16.0).fit(team, pool)
    fit = pool + [p for s in args.fit_also for p in ph.real_pages(args.real, s)]
    lexicon = PageLexicon(labels, C=args.C).fit([lexicon_text(p["passages"]) for p in fit], [set(p["labels"]) for p in fit])
    results: dict = {}
    for name, pages in [*held.items(), ("all", every)]:
        h = heads.page_scores(pages)
        lex = _sigmoid(lexicon.logits([lexicon_text(p["passages"]) for p in pages]))
        results[name] = {scorer: ph.ranking(pages, s, labels) for scorer, s in
                         (("heads", h), ("lexicon", lex), ("both", _sigmoid((logit(h) + logit(lex)) / 2)))}
        for scorer, fig in results[name].items():
            print(f"{name:9s} ({len(pages):3d} pages) {scorer:8s} "
                  + "  ".join(f"{g}: mAP {f['mAP']} any {f['any']}" for g, f in fig.items()), flush=True)
    print(f"{len(team)} team passages, {len(pool)} pool pages; the lexicon fitted on {len(fit)} pages; C {args.C}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
