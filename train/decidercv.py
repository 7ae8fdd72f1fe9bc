"""Choose the article decider's settings on the real pages' dev half, by cross-validation over its pages.

The decider (:mod:`narratives.serve.decider`) can be fitted on the team-written articles alone, or on those
plus the real-page benchmark's **dev** half (``--real-dev``: article-level labels of real pages, whose text
comes from the local cache and never enters the repository). Its settings (``C``, ``cutoff``, whether it has
a stance part) are chosen here: the dev pages are cut into ``folds`` groups (by page, seeded); for each
group a decider is fitted on the team articles plus the other groups, and decides that group's pages exactly
as ``narratives score`` would (:func:`narratives.serve.articles.aggregate`). The figures are then those of
``narratives real evaluate`` over all dev pages, each decided by a decider that never saw it. The test half
is never read.

Settings are ranked by the mean of the three figures the real-media targets are set on: macro-F1, the share
of negatives *not* flagged, and page stance accuracy (:func:`objective`).

>>> objective({"macro_f1": 0.7, "negatives_flagged": 0.4, "stance_accuracy": 0.6})
0.6333
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product

import numpy as np

from narratives.serve.decider import PageLogits

from .decider import Scored, fit_decider, split_and_score, with_cutoffs
from .poolstack import Stacked
from .teamarticles import Article

PAGE_BLEND = 1.0  # the weight of the per-narrative page logits in a ``blend`` setting (a product of two experts)


def objective(fig: dict) -> float:
    """Mean of macro-F1, 1 - negatives flagged and stance accuracy (rounded to 4 places)."""
    return round((fig["macro_f1"] + (1.0 - fig["negatives_flagged"]) + fig["stance_accuracy"]) / 3.0, 4)


def real_dev_articles(path=None) -> tuple[list[Article], str]:
    """The real-page benchmark's dev half as :class:`Article` objects (text from the cache), and the digest
    of their references (:func:`narratives.train.realeval.reference_digest`); raises ``CacheError`` naming
    every missing page, ``ReferenceError`` for bad references."""
    return real_articles(path, "dev")


def real_articles(path=None, split: str = "dev") -> tuple[list[Article], str]:
    """The real pages of ``split`` (``dev``: the benchmark's dev half; ``train``: the training pool,
    ``data/real/train_*.jsonl``) as :class:`Article` objects with their text from the cache, and the digest
    of their references; raises ``CacheError`` naming every missing page. The test half is refused.

    >>> real_articles("/nonexistent/real", "train")[0]
    []
    """
    from .realeval import reference_digest
    from .realpages import load_references

    if split not in ("dev", "train"):
        raise ValueError(f"a decider is never fitted on the {split!r} pages (dev or train only)")
    refs = [r for r in load_references(path) if r.page.split == split]
    return reference_articles(refs), reference_digest(refs)


def reference_articles(refs) -> list[Article]:
    """Real-page references as :class:`Article` objects (split ``real-<split>``), their text from the cache;
    raises ``CacheError`` naming every missing page.

    >>> reference_articles([])
    []
    """
    from .realcache import cached_texts

    texts = cached_texts(refs) if refs else {}
    return [Article(id=r.page.id, text=texts[r.page.id], lang=r.page.lang, labels=dict(r.page.labels),
                    source=r.page.id, split=f"real-{r.page.split}", where=r.where) for r in refs]


def _records(items, decider, labels, thresholds, promotes: Sequence[float | None] | None = None,
             pages: Sequence[PageLogits | None] | None = None) -> list[dict]:
    from narratives.serve.articles import aggregate

    promotes = promotes if promotes is not None else [None] * len(items)
    pages = pages if pages is not None else [None] * len(items)
    return [aggregate(recs, spans, text, labels, thresholds, decider=decider, article_promotes=p, page=g, lang=lang)
            for ((recs, _, _), spans, text, lang), p, g in zip(items, promotes, pages)]


def cross_validate(clf, team: Sequence[Article], real: Sequence[Article], Cs: Sequence[float] = (0.3, 1.0, 3.0),
                   cutoffs: Sequence[float] = (0.3, 0.35, 0.4, 0.45, 0.5), stances: Sequence[bool] = (True,),
                   folds: int = 5, seeds: Sequence[int] = (0,), per_narrative: bool = True,
                   stance_sources: Sequence[str] = ("passages",), stance_pool: Sequence[Article] = (),
                   page_models: Sequence[bool | str] = (False,), page_pool: Sequence[Article] = (),
                   page_C: float = 30.0, stance_cutoffs: Sequence[Mapping[str, float]] = ({},),
                   fit_also: Sequence[Article] = (), folds_in_fit: bool = True,
                   presence_cutoffs: Sequence[Mapping[str, float]] = ({},), stacked: Stacked | None = None) -> list[dict]:
    """One row per setting (plus ``decider: none``, the passage rule): the pooled out-of-fold figures on
    ``real`` (the dev pages) and the :func:`objective`, best first. Pages and articles are scored once.
    With several ``seeds`` the pages are cut into folds once per seed and each figure is the mean over the
    seeds (:func:`mean_figures`): 122 dev pages rank close settings differently from one cut to the next.
    ``stance_sources`` holding ``article_text`` adds settings whose stance part reads the article text: the
    article stance model is fitted on the articles of ``team`` and ``stance_pool`` that carry a narrative, as
    :func:`narratives.train.deciderplan.fit_planned` does (never on dev pages: with the other folds' pages
    added, the dev half's stance accuracy fell from 0.779 to 0.738-0.746 over four fold seeds for e5-real).
    ``page_models`` holding ``True`` adds settings with the ``page`` feature: the page model
    (:mod:`narratives.train.pagemodel`) is fitted once on ``page_pool`` (the training pool, never a dev page),
    so it is the same in every fold; ``"narratives"`` adds settings whose page part also has one model per narrative
    (the ``page_narrative`` feature), fitted on the same pages; ``"blend"`` adds settings where those models'
    logits are added to the decider's at weight :data:`PAGE_BLEND` instead (the page part's ``blend``); ``"lexicon"``
    adds settings whose page part also has a page lexicon (the ``page_lexicon`` feature,
    :mod:`narratives.model.pagelexicon`), fitted once on the same pages.
    ``stance_cutoffs`` (one row per entry, for the settings with a stance part): per-language cutoffs read on
    the stance probability (:mod:`narratives.serve.stancecutoffs`; ``{}``, 0.5 everywhere); they are not fitted,
    so each fold's decider is fitted once and read with each; ``presence_cutoffs`` likewise (one row per entry):
    per-narrative presence cutoffs (:func:`narratives.train.decider.with_cutoffs`; ``{}``, ``cutoff`` for every
    narrative).
    ``fit_also``: articles in every fold's fit and never scored (real pages of a spent held-out set, say; not in
    the article stance model's fit); ``folds_in_fit`` False fits every fold's decider on ``team`` and ``fit_also``
    alone, so ``real`` is scored by one decider that saw none of it (what a shipped decider fitted without those
    pages does on them). ``stacked``: the training pool's out-of-fold rows (:func:`narratives.train.poolstack.cross_fit`,
    built once, with the page model's and page lexicon's logits when ``page_models`` asks for them), in every fold's
    fit."""
    from .realeval import page_figures

    if len(real) < folds:
        raise ValueError(f"need at least {folds} dev pages for {folds} folds, got {len(real)}")
    if stacked is not None and ({"narratives", "blend"} & set(page_models) or (any(page_models) and stacked.pages is None)):
        raise ValueError("the stacked pool rows carry the page model's and page lexicon's logits only: build them with "
                         "the page model, and compare page settings off, on and lexicon")
    stack_scored = stacked.scored if stacked is not None else []
    stack_pages = (stacked.pages or []) if stacked is not None else []
    labels, thresholds = list(clf.labels_), dict(clf.thresholds_)
    team_scored: list[Scored] = [sc for sc, _ in split_and_score(clf, [*team, *fit_also])]
    from narratives.model.langid import detect_language

    # each page's passages, spans, text and language (detected as narratives score detects it), once for all folds
    real_items = [(sc, spans, a.text, detect_language(a.text)) for (sc, spans), a in zip(split_and_score(clf, real), real)]
    gold = [a.labels for a in real]
    hard = [not a.labels for a in real]
    groups = [np.random.RandomState(seed).permutation(len(real)) % folds for seed in seeds]

    def figures(records: list[dict]) -> dict:
        f = page_figures(gold, records, hard, labels)
        ne = [i for i, a in enumerate(real) if a.lang != "en"]
        f_ne = page_figures([gold[i] for i in ne], [records[i] for i in ne], [hard[i] for i in ne], labels)
        return {k: f[k] for k in ("macro_f1", "negatives_flagged", "stance_accuracy")} | {
            "non_english_macro_f1": f_ne["macro_f1"], "objective": objective(f)}

    rows = [{"decider": "none", **figures(_records(real_items, None, labels, thresholds))}]
    settings = [(C, cutoff, stance, source, page) for C, cutoff, stance, source, page
                in product(Cs, cutoffs, stances, stance_sources, page_models) if stance or source == stance_sources[0]]
    page_parts: dict = {}  # page setting -> (page part, team articles' logits, dev pages' logits)
    if any(page_models):
        from narratives.serve.decider import with_lexicon

        from .pagemodel import article_embeddings, blended, eligible_texts, fit_page_lexicon, fit_page_model, logits_of_means

        full = fit_page_model(clf, page_pool, page_C, narratives=labels if {"narratives", "blend"} & set(page_models) else ())
        team_means, real_means = article_embeddings(clf, [*team, *fit_also]), article_embeddings(clf, real)  # once
        for setting in (m for m in page_models if m):
            part = (blended(full, PAGE_BLEND) if setting == "blend" else full if setting == "narratives"
                    else {k: v for k, v in full.items() if k != "narratives"})
            team_logits, real_logits = logits_of_means(part, team_means), logits_of_means(part, real_means)
            if setting == "lexicon":
                lexicon = fit_page_lexicon(page_pool, labels)
                part = {**part, "lexicon": lexicon.settings()}
                team_logits = with_lexicon(team_logits, lexicon, eligible_texts([*team, *fit_also]))
                real_logits = with_lexicon(real_logits, lexicon, eligible_texts(real))
            page_parts[setting] = (part, team_logits, real_logits)
    text_model = None  # the article stance model: fitted once, on no dev page, so the same in every fold
    if any(stance and source == "article_text" for _, _, stance, source, _ in settings):
        from .deciderplan import fit_article_stance

        text_model = fit_article_stance([a for a in [*team, *stance_pool] if a.labels])
    promotes_all = (text_model.promotes_probability([a.text for a in real]) if text_model is not None
                    else [None] * len(real))  # one probability per page: the model is the same in every fold
    for C, cutoff, stance, source, page in settings:
        by_text = stance and source == "article_text"
        variants = [(s, p) for s in (stance_cutoffs if stance else [{}]) for p in presence_cutoffs]
        per_seed: list[list[dict]] = [[] for _ in variants]
        for group in groups:
            records: list[list[dict]] = [[{}] * len(real) for _ in variants]
            for g in range(folds):
                train = [i for i in range(len(real)) if group[i] != g and folds_in_fit]
                fit_on = team_scored + stack_scored + [real_items[i][0] for i in train]
                page_part, team_pages, real_pages = page_parts.get(page, (None, [], []))
                pages = [*team_pages, *stack_pages, *(real_pages[i] for i in train)] if page else None
                d = fit_decider(fit_on, labels, thresholds, cutoff=cutoff, C=C, stance=stance,
                                per_narrative=per_narrative, article_stance=text_model if by_text else None,
                                page=page_part, pages=pages)
                held = [i for i in range(len(real)) if group[i] == g]
                promotes = [promotes_all[i] for i in held] if by_text else None
                held_pages = [real_pages[i] for i in held] if page else None
                for v, (cuts, narrative_cuts) in enumerate(variants):
                    read = with_cutoffs(with_cutoffs(d, "stance", cuts), "presence", narrative_cuts)
                    for i, rec in zip(held, _records([real_items[i] for i in held], read, labels, thresholds,
                                                     promotes, held_pages)):
                        records[v][i] = rec
            for v in range(len(variants)):
                per_seed[v].append(figures(records[v]))
        row = {"decider": "fitted", "C": C, "cutoff": cutoff, "stance": stance, "per_narrative": per_narrative}
        if stance:
            row["stance_source"] = source
        if any(page_models):
            row["page_model"] = page
        for (cuts, narrative_cuts), seeds_figures in zip(variants, per_seed):
            mean = mean_figures(seeds_figures)
            extra = {"stance_cutoffs": dict(cuts)} if stance and any(stance_cutoffs) else {}
            if any(presence_cutoffs):
                extra["presence_cutoffs"] = dict(narrative_cuts)
            rows.append({**row, **extra, **mean, "objective": objective(mean)})  # of the means: the row stays consistent
    return sorted(rows, key=lambda r: -r["objective"])


def mean_figures(per_seed: Sequence[dict]) -> dict:
    """Each figure's mean over the fold seeds (4 places; ``None`` where a seed has none, as a half without
    non-English pages has no non-English macro-F1).

    >>> mean_figures([{"macro_f1": 0.8, "objective": 0.7}, {"macro_f1": 0.7, "objective": 0.75}])
    {'macro_f1': 0.75, 'objective': 0.725}
    """
    keys = per_seed[0].keys()
    return {k: None if any(f[k] is None for f in per_seed) else round(float(np.mean([f[k] for f in per_seed])), 4)
            for k in keys}

