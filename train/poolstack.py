"""The training pool as the article decider's own data, out of fold: each pool page's decider features come from
models that never saw it.

The decider combines evidence (its evidence model's passage scores, the page model and the page lexicon) into a
probability. Shipped, it learns that combination from the team's articles and the real dev half (122 pages, 94%
non-English), while the 1,765 pages of the training pool, labelled the same way and spread over languages like
the held-out sets, only fit the evidence it reads. Fitting the decider on the pool directly (``--real-pool``)
fails, since those models score their own training pages too well and the decider learns to trust them.

Stacking keeps the evidence out of sample: the pool is dealt into folds; for each fold, the evidence model's heads (with its own
recipe: its settings, the pool's negative pages and, refitted, the best-scored passages of the pool's other
carrying pages) and the page model and page lexicon are refitted on the other folds, and the fold's pages are
scored by them, as ``narratives score`` scores an article. Those out-of-fold rows join the decider's fit. The
shipped models are unchanged: the evidence the decider reads at serving time is still the evidence model's. It is
off by default: for the default's recipe it decided the dev half worse out of fold (0.7896 against 0.8331) while
flagging fewer negatives of the pool and of a spent held-out set (README, "Stacking the training pool").

Only an evidence model that refits on precomputed embeddings can be cross-fitted (``fit_embeddings``,
:class:`narratives.model.e5head.FrozenEmbeddingClassifier`); each passage is encoded once.

>>> deal(["a", "b", "c", "d", "e"], folds=2, seed=0)
[1, 0, 0, 1, 0]
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from narratives.serve.decider import PageLogits

from .decider import Scored, score_articles_passages
from .teamarticles import Article

FOLDS = 5


def deal(ids: Sequence[str], folds: int = FOLDS, seed: int = 0) -> list[int]:
    """Each page's fold (0 to ``folds`` - 1): a seeded permutation of the pages, dealt in turn."""
    if folds < 2:
        raise ValueError(f"stacking needs at least 2 folds, got {folds}")
    order = np.random.RandomState(seed).permutation(len(ids))
    out = [0] * len(ids)
    for k, i in enumerate(order):
        out[int(i)] = k % folds
    return out


class CachedEmbeddings:
    """An evidence model's ``embed`` with every text encoded once (:meth:`fill` encodes many in one call, each in
    its detected language, as ``narratives score`` encodes passages).

    >>> class Enc:
    ...     calls = 0
    ...     def embed(self, texts, langs=None):
    ...         Enc.calls += 1
    ...         return np.array([[len(t)] for t in texts], dtype=float)
    >>> c = CachedEmbeddings(Enc())
    >>> c.embed(["ab", "abc"]).tolist(), c.embed(["ab"]).tolist(), Enc.calls
    ([[2.0], [3.0]], [[2.0]], 1)
    """

    def __init__(self, model):
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}

    def fill(self, texts: Sequence[str]) -> None:
        from narratives.model.langid import detect_language

        todo = sorted({t for t in texts if t not in self.vectors})
        if todo:
            x = np.asarray(self.model.embed(todo, [detect_language(t) for t in todo]), dtype=np.float64)
            self.vectors.update(zip(todo, x))

    def embed(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        self.fill(texts)
        return np.stack([self.vectors[t] for t in texts]) if len(texts) else np.zeros((0, 1))


def check_refittable(evidence) -> None:
    """Raise ``ValueError`` unless ``evidence`` can be refitted on precomputed embeddings (what stacking needs).

    >>> try:
    ...     check_refittable(object())
    ... except ValueError as exc:
    ...     print(str(exc).split(", and ")[1])
    object cannot (a frozen-embedding model can, e.g. e5-real; pass --evidence)
    """
    if not all(callable(getattr(evidence, m, None)) for m in ("fit_embeddings", "scores_from_embeddings", "embed")):
        raise ValueError(f"stacking the pool refits the evidence model on embeddings, and "
                         f"{getattr(evidence, 'kind', type(evidence).__name__)} cannot (a frozen-embedding model can, "
                         "e.g. e5-real; pass --evidence)")
    if "real_evidence" in ((getattr(evidence, "config_", None) or {}).get("data") or {}):
        raise ValueError("stacking the pool refits the evidence model by its recipe, and one fitted with "
                         "--real-evidence (marked evidence passages) is not refitted that way yet")


def clone(model, embeddings: CachedEmbeddings):
    """An unfitted copy of ``model`` with its constructor's settings (scikit-learn's ``clone``, for estimators that
    do not derive from its base class), encoding through ``embeddings``."""
    names = [p for p in inspect.signature(type(model).__init__).parameters if p != "self"]
    copy = type(model)(**{p: getattr(model, p) for p in names if hasattr(model, p)})
    copy.embed = embeddings.embed  # the instance's encoder: the cache, never a second encoding
    return copy


@dataclass(frozen=True)
class Recipe:
    """How the evidence model learned from the pool (its config's ``data``): its own fit splits, whether the pool's
    negative pages were among its passages, and how many best-scored passages per narrative of each carrying page
    were added (0: none)."""

    fit_splits: tuple[str, ...]
    negatives: bool
    positives_top: int

    @classmethod
    def of(cls, evidence) -> Recipe:
        """The recipe of a loaded model (its ``config_``).

        >>> Recipe.of(type("M", (), {"config_": {"data": {"fit_splits": ["train"], "real_negatives": {}}}})())
        Recipe(fit_splits=('train',), negatives=True, positives_top=0)
        """
        data = (getattr(evidence, "config_", None) or {}).get("data", {})
        pos = data.get("real_positives")
        return cls(tuple(data.get("fit_splits", ["train"])), "real_negatives" in data,
                   0 if pos is None else int(pos.get("per_narrative", 1)))


@dataclass
class Stacked:
    """The pool's out-of-fold rows: each page's :data:`Scored` tuple and page-model logits (``None`` without a
    page model), and what they were built from."""

    scored: list[Scored]
    pages: list[PageLogits | None] | None
    provenance: dict


def cross_fit(evidence, pool: Sequence[Article], team, page_C: float | None = None, lexicon: bool = False,
              folds: int = FOLDS, seed: int = 0, log=sys.stderr) -> Stacked:
    """Out-of-fold decider rows for the pool's pages (see the module docstring). ``team``: the team's labelled
    passages (:class:`narratives.train.data.Passage`; those of the evidence model's fit splits are used);
    ``page_C``: the page model's C, or ``None`` for no page model; ``lexicon``: add the page lexicon's logits."""
    check_refittable(evidence)
    from .pagemodel import fit_page_lexicon, fit_page_model, page_logits

    recipe = Recipe.of(evidence)
    team = [p for p in team if p.split in recipe.fit_splits]
    cache = CachedEmbeddings(evidence)
    cache.fill([p.text for p in team] + [t for a in pool for t in _all_passages(a)])
    fold_of = deal([a.id for a in pool], folds, seed)
    scored: dict[int, Scored] = {}
    pages: dict[int, PageLogits | None] = {}
    for k in range(folds):
        train = [a for a, f in zip(pool, fold_of) if f != k]
        held = [i for i, f in enumerate(fold_of) if f == k]
        model = _refit(evidence, cache, recipe, team, train)
        held_pages = [pool[i] for i in held]
        scored.update(zip(held, score_articles_passages(model, held_pages)))
        if page_C is not None:
            lex = fit_page_lexicon(train, list(evidence.labels_)) if lexicon else None
            pages.update(zip(held, page_logits(fit_page_model(model, train, page_C), model, held_pages, lex)))
        print(f"pool stacking: fold {k + 1}/{folds} ({len(held)} pages scored by models fitted on the other "
              f"{len(train)})", file=log)
    return Stacked([scored[i] for i in range(len(pool))],
                   [pages[i] for i in range(len(pool))] if page_C is not None else None,
                   {"pages": len(pool), "folds": folds, "seed": seed,
                    "evidence_recipe": {"fit_splits": list(recipe.fit_splits), "real_negatives": recipe.negatives,
                                        "real_positives_top": recipe.positives_top}})


def _refit(evidence, cache: CachedEmbeddings, recipe: Recipe, team, train: Sequence[Article]):
    """``evidence`` refitted by its own recipe on the team passages and the ``train`` pages, as ``narratives train
    --real-negatives --real-positives`` fits it (:mod:`narratives.train.trainer`): the pages without narrative's
    passages as negatives, then again with the best-scored passages of the pages that carry one."""
    from .realpassages import PoolPage, page_passages, top_passages

    model = clone(evidence, cache)
    texts, y = [p.text for p in team], [p.narratives for p in team]
    stances, groups = [p.stance for p in team], [p.source for p in team]
    if recipe.negatives:
        negs = [(t, a.id) for a in train if not a.labels for _, t in page_passages(a.text)]
        texts, y = texts + [t for t, _ in negs], y + [()] * len(negs)
        stances, groups = stances + ["none"] * len(negs), groups + [f"real:{i}" for _, i in negs]
    model.fit_embeddings(cache.embed(texts), y, stances, groups)
    if recipe.positives_top:
        carried = [PoolPage(a.id, a.where, a.lang, dict(a.labels), tuple(t for _, t in page_passages(a.text)))
                   for a in train if a.labels]
        picked = top_passages(model, [p for p in carried if p.passages], recipe.positives_top)
        model.fit_embeddings(cache.embed(texts + [p.text for p in picked]), y + [p.narratives for p in picked],
                             stances + [p.stance for p in picked], groups + [p.source for p in picked])
    return model


def team_passages(real: Path | None = None) -> list:
    """The team's labelled passages (:func:`narratives.train.data.load_passages`) from the label folder beside the
    real pages' folder ``real`` (``TREE/real`` -> ``TREE/labels``), or the default one, as ``narratives train`` reads
    them: what the evidence model's heads are refitted on in each fold, with the pool's pages."""
    from narratives.model.paths import labels_dir

    from .data import load_passages

    return load_passages(Path(real).parent / "labels" if real is not None else labels_dir())


def _all_passages(article: Article) -> list[str]:
    """Every passage of an article as ``narratives score`` cuts it (the headline feature reads the first, short
    or not)."""
    from narratives.serve.articles import article_spans

    return [article.text[s:e] for s, e in article_spans({"text": article.text})]
