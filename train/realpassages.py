"""Training passages from real pages of the training pool (``data/real/train_*.jsonl``, text from the
git-ignored cache): every passage of a page labelled with no narrative as a negative, and, for each narrative a
page carries, the one passage a first model scores highest for it (multiple-instance positives).

A page of the pool carries article-level labels only, so its passages have no labels of their own, except on
a page with no narrative: then none of its passages carries one, and each is an exact negative of the kind
the team cannot write by hand, real on-topic reporting (burials at Potočari, court rulings, KFOR, gas deals,
sanctions news) in the outlets' own language and layout. ``narratives train --real-negatives`` adds them to
the fitted passages (split ``train``, stance ``none``, one source per page so threshold folds keep a page
together). ``--real-positives`` adds, for each narrative of a page that carries one, the passage that the
model fitted without them scores highest for it, with the page's stance for that narrative (a page labelled at
article level says some passage carries the narrative, not which one; the best-scored passage is the
likeliest), then fits again. Only the pool is read: the benchmark's dev half stays out of the passage models (the article
decider is fitted on it) and its test half is never read. The passages are cut exactly as ``narratives
score`` cuts an article, and those under :data:`~narratives.serve.articles.MIN_WORDS` words (never evidence
there) are left out.

>>> negative_passages("/nonexistent/real")[0], positive_pages("/nonexistent/real")[0]
([], [])
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from narratives.serve.articles import MIN_WORDS, article_spans, eligible_indices

from .data import Passage


@dataclass(frozen=True)
class PoolPage:
    """A pool page that carries narratives: its id, ``where`` (file:line), language, labels and the
    passages of at least ``min_words`` words, cut as ``narratives score`` cuts them, with their character
    ``spans`` in the page's text where known."""

    id: str
    where: str
    lang: str
    labels: dict[str, str]
    passages: tuple[str, ...]
    spans: tuple[tuple[int, int], ...] = ()


def page_passages(text: str, min_words: int = MIN_WORDS) -> list[tuple[int, str]]:
    """``(index, passage)`` for the passages of a page's text that ``narratives score`` would read: cut as it
    cuts an article, those under ``min_words`` words left out.

    >>> page_passages("Title\\n\\nThe court ruled on the appeal today.", min_words=5)
    [(1, 'The court ruled on the appeal today.')]
    """
    return [(k, text[s:e]) for k, (s, e) in page_spans(text, min_words)]


def page_spans(text: str, min_words: int = MIN_WORDS) -> list[tuple[int, tuple[int, int]]]:
    """``(index, (start, end))`` of the passages :func:`page_passages` gives.

    >>> page_spans("Title\\n\\nThe court ruled on the appeal today.", min_words=5)
    [(1, (7, 43))]
    """
    spans = article_spans({"text": text})
    return [(k, spans[k]) for k in eligible_indices([text[s:e] for s, e in spans], min_words)]


def negative_passages(path: str | Path | None = None, min_words: int = MIN_WORDS) -> tuple[list[Passage], dict]:
    """``(passages, provenance)``: the negative passages of the pool's pages without narrative, and
    ``{"pages", "passages", "references_sha256"}`` (the digest of the pages they come from). Raises
    ``CacheError`` naming every page missing from the cache, ``ReferenceError`` for bad references."""
    from .realcache import cached_texts
    from .realeval import reference_digest
    from .realpages import load_references

    refs = [r for r in load_references(path) if r.page.split == "train" and not r.page.labels]
    texts = cached_texts(refs) if refs else {}
    out = [Passage(id=f"{r.page.id}#{k}", text=t, narratives=(), stance="none", source=f"real:{r.page.id}",
                   split="train", lang=r.page.lang, where=f"{r.where} (passage {k + 1})")
           for r in refs for k, t in page_passages(texts[r.page.id], min_words)]
    return out, {"pages": len(refs), "passages": len(out), "references_sha256": reference_digest(refs)}


def positive_pages(path: str | Path | None = None, min_words: int = MIN_WORDS) -> tuple[list[PoolPage], dict]:
    """``(pages, provenance)``: the pool's pages that carry a narrative, with their passages, and
    ``{"pages", "references_sha256"}``. Raises ``CacheError`` naming every missing page."""
    from .realcache import cached_texts
    from .realeval import reference_digest
    from .realpages import load_references

    refs = [r for r in load_references(path) if r.page.split == "train" and r.page.labels]
    texts = cached_texts(refs) if refs else {}
    pages = []
    for r in refs:
        spans = tuple(span for _, span in page_spans(texts[r.page.id], min_words))
        pages.append(PoolPage(r.page.id, r.where, r.page.lang, dict(r.page.labels),
                              tuple(texts[r.page.id][s:e] for s, e in spans), spans))
    return [p for p in pages if p.passages], {"pages": len(refs), "references_sha256": reference_digest(refs)}


def top_passages(clf, pages: Sequence[PoolPage], top: int = 1) -> list[Passage]:
    """For each narrative of each page, the ``top`` passages ``clf`` scores highest for it (ties: the first;
    all of a page's passages when it has fewer), labelled with that narrative and the page's stance for it; a
    passage picked for several narratives carries them all (its stance: ``promotes`` if the page promotes any
    of them). Narratives ``clf`` does not know are skipped.

    >>> class Clf:
    ...     labels_ = ["a", "b"]
    ...     def score(self, passages, langs=None):
    ...         return [[0.1, 0.9], [0.8, 0.2]], [0.5, 0.5]
    >>> [(p.text, p.narratives, p.stance) for p in top_passages(Clf(), [PoolPage("x-1", "f:1", "en",
    ...     {"a": "reports", "b": "promotes"}, ("first", "second"))])]
    [('first', ('b',), 'promotes'), ('second', ('a',), 'reports')]
    >>> [(p.text, p.narratives) for p in top_passages(Clf(), [PoolPage("x-1", "f:1", "en", {"a": "reports"},
    ...     ("first", "second"))], top=2)]
    [('first', ('a',)), ('second', ('a',))]
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    flat = [t for p in pages for t in p.passages]
    langs = [p.lang for p in pages for _ in p.passages]
    scores = clf.score(flat, langs=langs)[0] if flat else []
    labels = list(clf.labels_)
    out: list[Passage] = []
    start = 0
    for page in pages:
        rows = scores[start:start + len(page.passages)]
        start += len(page.passages)
        picked: dict[int, list[str]] = {}
        for narrative in page.labels:
            if narrative in labels:
                j = labels.index(narrative)
                for k in sorted(range(len(rows)), key=lambda i: (-float(rows[i][j]), i))[:top]:
                    picked.setdefault(k, []).append(narrative)
        for k, narratives in sorted(picked.items()):
            stance = "promotes" if any(page.labels[n] == "promotes" for n in narratives) else "reports"
            out.append(Passage(id=f"{page.id}#top{k}", text=page.passages[k], narratives=tuple(narratives),
                               stance=stance, source=f"real:{page.id}", split="train", lang=page.lang,
                               where=f"{page.where} (passage {k + 1}, best scored)"))
    return out
