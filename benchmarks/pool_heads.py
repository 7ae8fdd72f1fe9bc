"""How `e5-real`'s heads rank real pages, for variants of their recipe, out of fold on the training pool.

    python benchmarks/pool_heads.py [--variant top=1,C=4 --variant top=2,C=16] [--fold-seeds 3] [--work DIR]

`e5-real`'s heads are logistic regressions on the frozen int8 encoder's passage embeddings, fitted on the team's
training passages, every passage of the pool's pages without narrative, and, in a second fit, the passage(s) the
first fit scores highest for each narrative of the pool's other pages (`narratives train --real-negatives
--real-positives [--real-positives-top K] [--set C=...]`). Refitting the whole model and its decider per fold
takes most of an hour (`benchmarks/pool_cv.py`); this embeds every passage once (cached in ``--work``) and refits
only the heads, so a variant takes about a minute:

- **pool, out of fold**: the pool's pages dealt into five folds (``--fold-seeds`` deals); each fold's pages scored
  by heads fitted without them;
- **dev half**: the benchmark's dev half scored by heads fitted on the whole pool (it is what the article decider
  is fitted on, so this is also what the decider would see).

A page's score for a narrative is its best passage's. Figures: the mean over narratives of average precision
(``mAP``; a page carrying the narrative is a positive, every other page a negative), and ``any``, the ROC AUC of
the page's best score over all narratives for telling pages with a narrative from pages without one (what
negatives flagged depends on), for all pages, English and the rest. They rank; they do not decide: the article
decider sits between these scores and a page's narratives, so a variant chosen here is a candidate, to be judged
by the decider's figures and a held-out set nobody has seen.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def parse_variant(text: str) -> dict:
    """``"top=2,C=16"`` -> ``{"top": 2, "C": 16.0, "evidence": 0}`` (defaults: top 1, C 4, no evidence).
    ``evidence``: 0 the best-scored guess on every page; 1 the marked evidence passages where a page has them, its
    other passages as negatives (``--real-evidence``); 2 the marked passages only (an ablation, not a recipe).

    >>> parse_variant("top=2,C=16")
    {'top': 2, 'C': 16.0, 'evidence': 0}
    """
    out: dict = {"top": 1, "C": 4.0, "evidence": 0}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in out:
            raise ValueError(f"unknown setting {key!r} in variant {text!r} (top, C, evidence)")
        out[key] = float(value) if key == "C" else int(value)
    return out


def real_pages(real: Path, split: str) -> list[dict]:
    """The ``split``'s pages with their labels, language and passages, cut as `narratives score` cuts them."""
    from narratives.train.realcache import cached_texts
    from narratives.train.realpages import load_references
    from narratives.train.realpassages import page_spans

    refs = [r for r in load_references(real) if r.page.split == split]
    texts = cached_texts(refs)  # a CacheError names every page missing
    out = []
    for r in refs:
        spans = [span for _, span in page_spans(texts[r.page.id])]
        if spans:
            out.append({"id": r.page.id, "labels": dict(r.page.labels), "lang": r.page.lang, "spans": spans,
                        "passages": [texts[r.page.id][s:e] for s, e in spans]})
    return out


def embed_all(model, texts: list[str], work: Path) -> dict[str, np.ndarray]:
    """Every text's embedding from ``model``'s encoder (`e5-real`), keyed by its sha256 and cached in ``work``."""
    from narratives.model.langid import detect_language

    store = work / "embeddings.npz"
    cache = dict(np.load(store)) if store.exists() else {}
    keys = {t: hashlib.sha256(t.encode()).hexdigest() for t in texts}
    todo = sorted({k: t for t, k in keys.items() if k not in cache}.items())
    if todo:
        x = model.embed([t for _, t in todo], [detect_language(t) for _, t in todo])
        cache.update({k: v.astype(np.float32) for (k, _), v in zip(todo, x)})
        work.mkdir(parents=True, exist_ok=True)
        np.savez(store, **cache)
    return {t: cache[k] for t, k in keys.items()}


def fit_heads(x: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """One balanced logistic regression per column of ``y``, as the shipped heads are fitted."""
    from narratives.model.heads import logistic_head

    heads = [logistic_head(x, y[:, j], C, solver="lbfgs", max_iter=5000) for j in range(y.shape[1])]
    return np.array([w for w, _ in heads]), np.array([b for _, b in heads])


class Heads:
    """Heads fitted as `narratives train --real-negatives --real-positives` fits them, on embeddings."""

    def __init__(self, labels: list[str], emb: dict[str, np.ndarray], top: int, C: float, evidence: int = 0,
                 marked: dict | None = None):
        self.labels_, self.emb, self.top, self.C = labels, emb, top, C
        self.evidence, self.marked = evidence, marked or {}

    def score(self, passages, langs=None):
        from narratives.model.heads import _sigmoid

        x = np.stack([self.emb[t] for t in passages]).astype(np.float64)
        return _sigmoid(x @ self.W.T + self.b), None

    def fit(self, team: list, pool: list[dict]) -> Heads:
        from narratives.train.realevidence import split_marked
        from narratives.train.realpassages import PoolPage, top_passages

        negatives = [t for p in pool if not p["labels"] for t in p["passages"]]
        texts = [p.text for p in team] + negatives
        y = [[n in p.narratives for n in self.labels_] for p in team] + [[False] * len(self.labels_)] * len(negatives)
        carried = [PoolPage(p["id"], "", p["lang"], p["labels"], tuple(p["passages"]), tuple(p["spans"]))
                   for p in pool if p["labels"]]
        if self.evidence:
            marked, carried = split_marked(carried, self.marked)
            marked = [x for x in marked if x.narratives or self.evidence == 1]
            texts += [x.text for x in marked]
            y += [[n in x.narratives for n in self.labels_] for x in marked]
        self.W, self.b = fit_heads(np.stack([self.emb[t] for t in texts]), np.array(y, dtype=int), self.C)
        picked = top_passages(self, carried, self.top)  # the product's own pick
        texts += [p.text for p in picked]
        y += [[n in p.narratives for n in self.labels_] for p in picked]
        self.W, self.b = fit_heads(np.stack([self.emb[t] for t in texts]), np.array(y, dtype=int), self.C)
        return self

    def page_scores(self, pages: list[dict]) -> np.ndarray:
        return np.array([self.score(p["passages"])[0].max(0) for p in pages])


def ranking(pages: list[dict], scores: np.ndarray, labels: list[str]) -> dict:
    """``{group: {"mAP", "any"}}`` for all pages, English and non-English."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([[n in p["labels"] for n in labels] for p in pages], dtype=int)
    english = np.array([p["lang"] == "en" for p in pages])
    out = {}
    for group, mask in (("all", np.ones(len(pages), bool)), ("en", english), ("non-en", ~english)):
        aps = [average_precision_score(y[mask, j], scores[mask, j]) for j in range(len(labels))
               if 0 < y[mask, j].sum() < mask.sum()]
        has = y[mask].max(1)
        out[group] = {"mAP": round(float(np.mean(aps)), 4) if aps else None,
                      "any": round(float(roc_auc_score(has, scores[mask].max(1))), 4) if 0 < has.sum() < len(has) else None}
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run every variant; returns ``{variant: {"pool": [per fold seed], "dev": ...}}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", default=None, help="top=K,C=X (repeatable) [top=1,C=4 and top=2,C=16]")
    ap.add_argument("--fold-seeds", type=int, default=3)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--real", type=Path, default=ROOT / "data" / "real")
    ap.add_argument("--labels", type=Path, default=ROOT / "data" / "labels")
    ap.add_argument("--work", type=Path, default=Path("pool_heads_work"), help="where the embeddings are cached")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from narratives.model.loading import load_model
    from narratives.train.data import load_passages

    team = [p for p in load_passages(args.labels) if p.split == "train"]
    model = load_model("e5-real")
    labels = list(model.labels_)
    pool, dev = real_pages(args.real, "train"), real_pages(args.real, "dev")
    from narratives.train.realevidence import check_evidence, load_evidence

    marked, where = load_evidence(args.real)
    check_evidence(marked, where, {p["id"]: (p["labels"], p["spans"]) for p in pool if p["labels"]})
    emb = embed_all(model, [p.text for p in team] + [t for p in pool + dev for t in p["passages"]], args.work)
    print(f"{len(team)} team passages, {len(pool)} pool pages, {len(dev)} dev-half pages")
    results = {}
    for text in args.variant or ["top=1,C=4", "top=2,C=16"]:
        v = parse_variant(text)
        rows = []
        for seed in range(args.fold_seeds):
            order = np.random.RandomState(seed).permutation(len(pool))
            fold = {int(i): k % args.folds for k, i in enumerate(order)}
            scores = np.zeros((len(pool), len(labels)))
            for k in range(args.folds):
                held = [i for i in range(len(pool)) if fold[i] == k]
                heads = Heads(labels, emb, v["top"], v["C"], v["evidence"], marked)
                heads.fit(team, [pool[i] for i in range(len(pool)) if fold[i] != k])
                scores[held] = heads.page_scores([pool[i] for i in held])
            rows.append(ranking(pool, scores, labels))
        full = Heads(labels, emb, v["top"], v["C"], v["evidence"], marked).fit(team, pool)
        dev_fig = ranking(dev, full.page_scores(dev), labels)
        results[text] = {"pool": rows, "dev": dev_fig}
        for name, fig in [*((f"pool, fold seed {s}", r) for s, r in enumerate(rows)), ("dev half", dev_fig)]:
            print(f"{text:12s} {name:18s} " + "  ".join(f"{g}: mAP {f['mAP']} any {f['any']}" for g, f in fig.items()))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
