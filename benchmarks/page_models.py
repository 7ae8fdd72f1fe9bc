"""Page models compared out of fold on the real training pool: how well each family ranks pages, per narrative.

    python benchmarks/page_models.py [--folds 5] [--seed 0] [--model e5-real] [--out page_models.json]

A page model says whether a whole page carries a narrative (:mod:`narratives.train.pagemodel`). Three families,
each fitted on four fifths of the pool and scoring the fifth it never saw (folds dealt within each language, as
``benchmarks/pool_cv.py`` deals them):

- ``embedding``: a logistic regression (C 30) over the mean embedding of the page's eligible passages in
  ``--model``'s space, as the decider's page part fits it;
- ``words``: a logistic regression (C 10) over TF-IDF word 1-2-grams and character 2-5-grams (within words) of
  the whole text, Serbian Cyrillic transliterated, vocabulary fitted on the training folds;
- ``stack``: per narrative, a logistic regression over the two models' logits, fitted on the training folds'
  own out-of-fold logits (an inner cross-validation), so it is calibrated without seeing the held-out fold.

It prints the mean ROC AUC over the six narratives (and each narrative's) for each family, and, with ``--out``,
writes them as JSON. These are ranking figures on the pool only: a page model that ranks the pool well can
still flag the benchmark's hard negatives (pages on the same topics), which is what the README found for
``words``; a choice still goes through the deciders' cross-validation and pages nobody has fitted on.
19 minutes on a shared 2-core machine (mostly the TF-IDF fits of the inner cross-validation).
"""
from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def words_logits(train_texts: list[str], train_y: np.ndarray, texts: list[str], C: float = 10.0) -> np.ndarray:
    """Each narrative's logit for ``texts`` from TF-IDF n-gram models fitted on ``train_texts`` (``train_y``: one
    0/1 column per narrative).

    >>> y = np.array([[1], [0], [1], [0]])
    >>> z = words_logits(["brothers forever", "gas prices", "brothers unite", "gas pipeline"], y, ["brothers"])
    >>> bool(z[0, 0] > 0)
    True
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from narratives.model.translit import transliterate

    tr = [transliterate(t) for t in train_texts]
    vecs = [TfidfVectorizer(analyzer=a, ngram_range=r, min_df=min(2, len(tr)), sublinear_tf=True,
                            max_features=200_000).fit(tr) for a, r in (("word", (1, 2)), ("char_wb", (2, 5)))]
    features = lambda ts: hstack([v.transform(ts) for v in vecs]).tocsr()  # noqa: E731
    x_tr, x = features(tr), features([transliterate(t) for t in texts])
    return np.stack([LogisticRegression(C=C, max_iter=5000).fit(x_tr, train_y[:, j]).decision_function(x)
                     for j in range(train_y.shape[1])], 1)


def embedding_logits(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, C: float = 30.0) -> np.ndarray:
    """Each narrative's logit for ``x`` (mean embeddings) from logistic regressions fitted on ``train_x``.

    >>> e = embedding_logits(np.array([[1.0, 0], [0, 1.0]] * 3), np.array([[1], [0]] * 3), np.array([[1.0, 0]]))
    >>> bool(e[0, 0] > 0)
    True
    """
    from sklearn.linear_model import LogisticRegression

    return np.stack([LogisticRegression(C=C, max_iter=5000).fit(train_x, train_y[:, j]).decision_function(x)
                     for j in range(train_y.shape[1])], 1)


def _oof(groups: np.ndarray, fit_score) -> np.ndarray:
    """Out-of-fold logits: ``fit_score(train_index, held_index)`` for each group in turn."""
    out = None
    for g in np.unique(groups):
        held, train = np.flatnonzero(groups == g), np.flatnonzero(groups != g)
        z = fit_score(train, held)
        out = np.zeros((len(groups), z.shape[1])) if out is None else out
        out[held] = z
    assert out is not None
    return out


def compare(texts: list[str], means: np.ndarray, y: np.ndarray, groups: np.ndarray, inner: int = 5) -> dict:
    """Out-of-fold logits of the three families (``{family: (n, k) array}``) over ``groups``."""
    from sklearn.linear_model import LogisticRegression

    emb = _oof(groups, lambda tr, held: embedding_logits(means[tr], y[tr], means[held]))
    words = _oof(groups, lambda tr, held: words_logits([texts[i] for i in tr], y[tr], [texts[i] for i in held]))

    def stacked(train: np.ndarray, held: np.ndarray) -> np.ndarray:
        inner_groups = np.arange(len(train)) % inner
        e_in = _oof(inner_groups, lambda a, b: embedding_logits(means[train][a], y[train][a], means[train][b]))
        w_in = _oof(inner_groups, lambda a, b: words_logits([texts[train[i]] for i in a], y[train][a],
                                                             [texts[train[i]] for i in b]))
        return np.stack([LogisticRegression(max_iter=5000).fit(np.c_[e_in[:, j], w_in[:, j]], y[train][:, j])
                         .decision_function(np.c_[emb[held, j], words[held, j]]) for j in range(y.shape[1])], 1)

    return {"embedding": emb, "words": words, "stack": _oof(groups, stacked)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="e5-real", help="the model whose embedding space the page models read")
    ap.add_argument("--real", type=Path, default=ROOT / "data" / "real")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    from sklearn.metrics import roc_auc_score

    from narratives.model.loading import load_model
    from narratives.train.decidercv import real_articles
    from narratives.train.pagemodel import article_embeddings

    clf = load_model(a.model)
    labels = list(clf.labels_)
    pool = real_articles(a.real, "train")[0]  # a partial cache fails here, naming every missing page
    deal = runpy.run_path(str(ROOT / "benchmarks" / "pool_cv.py"))["deal_folds"]
    fold_of = {p["id"]: k for k, fold in enumerate(deal([{"id": x.id, "lang": x.lang} for x in pool], a.folds, a.seed))
               for p in fold}
    groups = np.array([fold_of[x.id] for x in pool])
    means = article_embeddings(clf, pool)
    dim = next(m for m in means if m is not None).shape[0]
    x = np.stack([np.zeros(dim) if m is None else m for m in means])
    y = np.array([[int(lab in p.labels) for lab in labels] for p in pool])
    logits = compare([p.text for p in pool], x, y, groups)
    out = {"pages": len(pool), "folds": a.folds, "seed": a.seed, "model": a.model, "families": {
        fam: {"mean_auc": round(float(np.mean(aucs)), 4), "auc": dict(zip(labels, (round(v, 4) for v in aucs)))}
        for fam, z in logits.items() for aucs in [[float(roc_auc_score(y[:, j], z[:, j])) for j in range(len(labels))]]}}
    for fam, f in out["families"].items():
        print(f"{fam:<10} mean ROC AUC {f['mean_auc']:.3f}  " + "  ".join(f"{k} {v:.3f}" for k, v in f["auc"].items()))
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
