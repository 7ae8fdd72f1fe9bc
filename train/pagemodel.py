"""The article decider's page model: does a page carry any narrative at all?

A real page's best passage often looks like propaganda while the page only covers the same people and events
(a commemoration, a verdict, KFOR, gas); another page carries a narrative spread thin over many passages. The
passage scores the decider reads see one passage at a time. The page model sees the page: a logistic
regression (L2, ``C``) over the mean embedding of its eligible passages, labelled by whether the page carries
any narrative, fitted on the real training pool (``data/real/train_*.jsonl``: article labels only, text from
the git-ignored cache; never the benchmark's pages). Its logit is one more presence feature of the decider
(:mod:`narratives.serve.decider`, ``page``), shared by every narrative of the article, so the decider learns
how far to trust it beside the passage evidence.

The embeddings are those of the model whose scores the decider reads (``e5-real`` for the default), so the
page model costs no encoding at serving time. Its ``C`` (30) was chosen by cross-validation over the pool's
pages alone (5 folds, ROC AUC 0.911 at 30 against 0.901-0.908 at 3, 10 and 100), not on the benchmark.

>>> import numpy as np
>>> class Enc:
...     def embed(self, texts, langs=None):
...         return np.array([[1.0, 0.0] if "claim" in t else [0.0, 1.0] for t in texts])
>>> from narratives.train.teamarticles import Article
>>> pages = [Article(str(i), t, "en", lab, "x", "real-train", "f:1") for i, (t, lab) in enumerate(
...     [("the big claim is told here", {"a": "promotes"}), ("the weather was mild today", {})] * 3)]
>>> part = fit_page_model(Enc(), pages, C=30.0)
>>> part["fitted_on"]["pages"], page_logits(part, Enc(), pages[:2])[0].any > 0 > page_logits(part, Enc(), pages[:2])[1].any
(6, True)
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from narratives.serve.articles import MIN_WORDS
from narratives.serve.decider import PageLogits, with_lexicon

from .teamarticles import Article

PAGE_C = 30.0
MIN_CARRYING = 10  # pages that carry a narrative (and that do not) before it gets a page model of its own


def _embedder(scorer):
    embed = getattr(scorer, "embed", None)
    if embed is None:
        raise ValueError(f"the page model reads passage embeddings, and the model the decider reads "
                         f"({getattr(scorer, 'kind', type(scorer).__name__)}) has none: fit it with --evidence "
                         "e5-real (or another frozen-embedding model), or --no-page-model")
    return embed


def eligible_texts(articles: Sequence[Article], min_words: int = MIN_WORDS) -> list[list[str]]:
    """Each article's eligible passages (:func:`narratives.train.realpassages.page_passages`: cut as ``narratives
    score`` cuts it): what its page models read.

    >>> from narratives.train.teamarticles import Article
    >>> eligible_texts([Article("1", "Short.\\n\\nThe second paragraph has enough words to count as evidence here.",
    ...                         "en", {}, "x", "train", "f:1")])
    [['The second paragraph has enough words to count as evidence here.']]
    """
    from .realpassages import page_passages

    return [[t for _, t in page_passages(a.text, min_words)] for a in articles]


def article_embeddings(scorer, articles: Sequence[Article], min_words: int = MIN_WORDS) -> list[np.ndarray | None]:
    """Each article's mean embedding over its eligible passages (:func:`eligible_texts`), in ``scorer``'s embedding
    space; ``None`` for an article with no eligible passage. One encoding call."""
    embed = _embedder(scorer)
    texts = eligible_texts(articles, min_words)
    flat = [t for ts in texts for t in ts]
    x = np.asarray(embed(flat), dtype=np.float64) if flat else np.zeros((0, 1))
    out: list[np.ndarray | None] = []
    pos = 0
    for ts in texts:
        out.append(x[pos:pos + len(ts)].mean(0) if ts else None)
        pos += len(ts)
    return out


def fit_page_model(scorer, pages: Sequence[Article], C: float = PAGE_C, provenance: dict | None = None,
                   narratives: Sequence[str] = ()) -> dict:
    """The page part of a decider (JSON-ready): fitted on ``pages`` (each labelled; none from the benchmark),
    with what it was fitted on. With ``narratives``, also one model per narrative (``narratives`` in the part:
    does the page carry *that* one), for each narrative that at least :data:`MIN_CARRYING` of the pages carry
    and at least as many do not. Raises ``ValueError`` when the pages lack either class."""
    from sklearn.linear_model import LogisticRegression

    means = article_embeddings(scorer, pages)
    keep = [i for i, m in enumerate(means) if m is not None]
    y = [int(bool(pages[i].labels)) for i in keep]
    if len(set(y)) < 2:
        raise ValueError(f"the page model needs pages with and without a narrative; the {len(keep)} pages with an "
                         "eligible passage hold only one kind")
    X = np.stack([m for m in means if m is not None])

    def fit(target: list[int]) -> dict:
        m = LogisticRegression(C=C, max_iter=5000).fit(X, target)
        return {"coef": [round(float(c), 6) for c in m.coef_[0]], "intercept": round(float(m.intercept_[0]), 6)}

    part = {**fit(y), "C": C, "fitted_on": {**(provenance or {}), "pages": len(keep), "carrying": int(sum(y))}}
    by_narrative = {lab: [int(lab in pages[i].labels) for i in keep]
                    for lab in carried_enough([pages[i].labels for i in keep], narratives)}
    if by_narrative:
        part["narratives"] = {lab: fit(t) for lab, t in by_narrative.items()}
        part["fitted_on"]["carrying_each"] = {lab: sum(t) for lab, t in by_narrative.items()}
    return part


def page_logits(part: dict, scorer, articles: Sequence[Article], lexicon=None) -> list[PageLogits | None]:
    """The page-model logits of each article (``None`` for one with no eligible passage), exactly as
    :func:`narratives.serve.decider.article_page_logits` computes them at serving time; with ``lexicon`` (the page
    lexicon of a page part that has one) its logits too."""
    logits = logits_of_means(part, article_embeddings(scorer, articles))
    return logits if lexicon is None else with_lexicon(logits, lexicon, eligible_texts(articles))


def carried_enough(carried: Sequence[Collection[str]], labels: Sequence[str]) -> list[str]:
    """The narratives of ``labels`` (in order) that at least :data:`MIN_CARRYING` of the pages carry (``carried``: each
    page's narratives) and at least as many do not: those a per-narrative page model is fitted for.

    >>> carried_enough([{"a"}] * 10 + [set()] * 10 + [{"b"}], ["a", "b"])
    ['a']
    """
    return [lab for lab in labels if MIN_CARRYING <= sum(lab in c for c in carried) <= len(carried) - MIN_CARRYING]


def lexicon_narratives(pages: Sequence[Article], labels: Sequence[str]) -> list[str]:
    """The narratives a page lexicon fitted on ``pages`` has a model for (:func:`carried_enough` over the pages with an
    eligible passage, the ones it reads); empty when it cannot be fitted.

    >>> lexicon_narratives([], ["a"])
    []
    """
    return carried_enough([set(a.labels) for a, ts in zip(pages, eligible_texts(pages)) if ts], labels)


def fit_page_lexicon(pages: Sequence[Article], labels: Sequence[str]):
    """The page lexicon (:class:`narratives.model.pagelexicon.PageLexicon`) fitted on ``pages`` (the training pool's:
    each labelled; none from the benchmark), reading each page as the decider will: its eligible passages joined
    (:func:`narratives.serve.decider.lexicon_text`). Pages with no eligible passage are left out, as the decider
    never reads them; so is a narrative that fewer than :data:`MIN_CARRYING` of the pages carry (or fewer do not),
    which then reads ``page`` there.

    >>> from narratives.train.teamarticles import Article
    >>> long = "the paragraph {} has words enough to count as the evidence of a page, {}"
    >>> pages = [Article(str(i), long.format(i, w), "en", lab, "x", "real-train", "f:1") for i, (w, lab) in
    ...          enumerate([("Western plots", {"a": "promotes"}), ("mild weather", {})] * 10)]
    >>> fit_page_lexicon(pages, ["a", "b"]).labels_
    ['a']
    """
    from narratives.model.pagelexicon import PageLexicon
    from narratives.serve.decider import lexicon_text

    texts = eligible_texts(pages)
    keep = [i for i, ts in enumerate(texts) if ts]
    carried = [set(pages[i].labels) for i in keep]
    fitted = carried_enough(carried, labels)
    if not fitted:
        raise ValueError(f"the page lexicon needs, for some narrative, at least {MIN_CARRYING} pages that carry it and "
                         f"as many that do not; the {len(keep)} pages with an eligible passage do not have them")
    return PageLexicon(fitted).fit([lexicon_text(texts[i]) for i in keep], carried)


def logits_of_means(part: dict, means: Sequence[np.ndarray | None]) -> list[PageLogits | None]:
    """:func:`page_logits` from each article's mean embedding (:func:`article_embeddings`), so several page parts
    read one encoding of the same articles.

    >>> logits_of_means({"coef": [1.0, -1.0], "intercept": 0.0}, [np.array([2.0, 0.5]), None])
    [PageLogits(any=1.5, narratives={}, lexicon={}), None]
    """
    from narratives.serve.decider import page_logits as logits_of

    return [None if m is None else logits_of(part, m[None, :]) for m in means]


def blended(part: dict, weight: float) -> dict:
    """``part`` with its per-narrative page models blended after the decider at ``weight`` (the page part's
    ``blend``, :mod:`narratives.serve.decider`); raises ``ValueError`` when no narrative has a model of its own,
    rather than fitting a decider that silently ignores the weight.

    >>> one = {"coef": [1.0], "intercept": 0.0}
    >>> blended({**one, "narratives": {"a": one}}, 1.0)["blend"]
    1.0
    >>> blended(one, 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: page_blend: no narrative has a page model of its own (each needs at least 10 pool pages ...
    """
    if not part.get("narratives"):
        raise ValueError(f"page_blend: no narrative has a page model of its own (each needs at least {MIN_CARRYING} "
                         "pool pages that carry it and as many that do not)")
    return {**part, "blend": float(weight)}
