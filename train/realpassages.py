"""Negative training passages from real pages: every passage of a training-pool page labelled with no
narrative (``data/real/train_*.jsonl``, text from the git-ignored cache).

A page of the pool carries article-level labels only, so its passages have no labels of their own, except on
a page with no narrative: then none of its passages carries one, and each is an exact negative of the kind
the team cannot write by hand, real on-topic reporting (burials at Potočari, court rulings, KFOR, gas deals,
sanctions news) in the outlets' own language and layout. ``narratives train --real-negatives`` adds them to
the fitted passages (split ``train``, stance ``none``, one source per page so threshold folds keep a page
together). Only the pool is read: the benchmark's dev half stays out of the passage models (the article
decider is fitted on it) and its test half is never read. The passages are cut exactly as ``narratives
score`` cuts an article, and those under :data:`~narratives.serve.articles.MIN_WORDS` words (never evidence
there) are left out.

>>> negative_passages("/nonexistent/real")[0]
[]
"""
from __future__ import annotations

from pathlib import Path

from narratives.serve.articles import MIN_WORDS, article_spans

from .data import Passage


def negative_passages(path: str | Path | None = None, min_words: int = MIN_WORDS) -> tuple[list[Passage], dict]:
    """``(passages, provenance)``: the negative passages of the pool's pages without narrative, and
    ``{"pages", "passages", "references_sha256"}`` (the digest of the pages they come from). Raises
    ``CacheError`` naming every page missing from the cache, ``ReferenceError`` for bad references."""
    from .realcache import cached_texts
    from .realeval import reference_digest
    from .realpages import load_references

    refs = [r for r in load_references(path) if r.page.split == "train" and not r.page.labels]
    texts = cached_texts(refs) if refs else {}
    out: list[Passage] = []
    for r in refs:
        text = texts[r.page.id]
        for k, (s, e) in enumerate(article_spans({"text": text})):
            if len(text[s:e].split()) >= min_words:
                out.append(Passage(id=f"{r.page.id}#{k}", text=text[s:e], narratives=(), stance="none",
                                   source=f"real:{r.page.id}", split="train", lang=r.page.lang,
                                   where=f"{r.where} (passage {k + 1})"))
    return out, {"pages": len(refs), "passages": len(out), "references_sha256": reference_digest(refs)}
