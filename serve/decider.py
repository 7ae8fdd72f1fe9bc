"""The article decision as its own calibrated step: whether an article carries a narrative, and with which
stance, from its passages' scores (any model's: the decider only reads passage scores and thresholds).

Without a decider an article carries a narrative when its best passage crosses the passage threshold. A
decider (``config.json``'s ``article_decider``, so it is part of the model's version) instead feeds, per
narrative, these article features to a logistic regression fitted on team-written whole articles
(:mod:`narratives.train.decider`); logits are clipped to +-8 and taken relative to the narrative's passage
threshold ``t``:

* ``best``: logit(best passage score) - logit(t); ``second``: the same for the second best passage;
* ``n_over``: log(1 + passages at or above t); ``headline``: the first passage's margin (the headline or
  first line, whatever its length); ``length``: log(1 + passages of at least ``min_words`` words).

The presence part may hold ``offsets`` (narrative id -> a number added to that narrative's logit, fitted as
one indicator per narrative: some narratives need more evidence than others on real pages); a narrative
without one (added after the decider was fitted) gets 0. The narrative is predicted when the probability
reaches ``cutoff``, or the narrative's own cutoff where the presence part holds ``cutoffs`` (narrative id -> a
probability in (0, 1); read, not fitted: :func:`presence_cutoff`). Its stance, when the decider has a
``stance`` part, comes from a second logistic regression over the promotes-probabilities of the passages
that mention it (margin above ``mention_margin``): their score-weighted mean, their minimum, the last one
in the text (a claim quoted early and refuted later ends on *reports*), and the best passage's. A stance part
with ``"source": "article_text"`` instead reads the whole article's text (:mod:`narratives.model.articlestance`,
two hashed files beside the model's weights): every narrative the article carries takes the article's voice.
A stance part may hold ``cutoffs`` (detected language -> the probability at which an article promotes, instead of
0.5; :mod:`narratives.serve.stancecutoffs`).

A decider with ``evidence`` (``{"model": reference, "model_hash": sha256}``) reads the passage scores and
thresholds of that model instead of its own model's (a scorer fitted on real pages, pinned by hash and loaded
with the model: :func:`decision_scorer`); the record's passage scores and evidence passages stay the model's own.

A decider with a ``page`` part (``{"coef": [...], "intercept": b}``) has a sixth presence feature, ``page``: the
logit of a **page model**, a logistic regression over the mean embedding of the article's eligible passages
(in the embedding space of the model whose scores the decider reads) that says whether the page carries any
narrative at all. It is fitted on the real training pool's pages, article labels only
(:mod:`narratives.train.pagemodel`); being linear in the mean, it is the mean of the passages' projections.
A page part that also holds ``narratives`` (narrative id -> ``{"coef": [...], "intercept": b}``) gives a seventh,
``page_narrative``: the logit of that narrative's own page model over the same mean (one logistic regression per
narrative, fitted on the same pages), so the decider can tell a page about Dodik that carries secession from one
that carries the West's hostility. A narrative with no model of its own (added after fitting) reads ``page`` there.
A page part with ``blend`` (a weight ``w``) instead leaves ``page_narrative`` out of the decider and adds ``w`` times
that logit to the narrative's presence logit after the decider: a product of two experts (the decider's odds times
the page model's odds to the power ``w``), fitted apart, so the page models' weight is not learned on the few
articles the decider is fitted on.
A page part with ``lexicon`` (the settings of a :class:`narratives.model.pagelexicon.PageLexicon`, whose two hashed
files lie beside the model's weights) gives one more presence feature, ``page_lexicon``: the logit of that narrative's
model over the character n-grams of the article's eligible passages, joined (:func:`lexicon_text`); a narrative the
lexicon has no model for (added after fitting) reads ``page`` there.

>>> d = {"version": 1, "presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "cutoff": 0.5}}
>>> check_decider(d) is d
True
>>> round(presence_probability(d, [0.9, 0.1], [0, 1], 0.5), 3)
0.9
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from narratives.model.articlestance import ARTICLE_TEXT, reads_article_text
from narratives.model.loading import article_decider_config, evidence_problem

from .stancecutoffs import check_stance_cutoffs, read_at_cutoff

PRESENCE_FEATURES = ("best", "second", "n_over", "headline", "length")
PAGE_FEATURE = "page"
PAGE_NARRATIVE_FEATURE = "page_narrative"
PAGE_LEXICON_FEATURE = "page_lexicon"
STANCE_FEATURES = ("weighted", "minimum", "last", "best")
CLIP = 8.0
EPS = 1e-4


def logit(p: float) -> float:
    """Clipped logit.

    >>> logit(0.5), logit(1.0)
    (0.0, 8.0)
    """
    p = min(max(float(p), EPS), 1.0 - EPS)
    return max(-CLIP, min(CLIP, math.log(p / (1.0 - p))))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _linear(part: dict, x: Sequence[float], offset: float = 0.0) -> float:
    return _sigmoid(sum(c * v for c, v in zip(part["coef"], x)) + part["intercept"] + offset)


def presence_cutoff(d: Mapping, narrative: str) -> float:
    """The probability at which the decider ``d`` predicts ``narrative``: its own cutoff where the presence part
    holds one (``cutoffs``), else the presence part's ``cutoff``.

    >>> d = {"presence": {"cutoff": 0.6, "cutoffs": {"genocide_denial": 0.4}}}
    >>> presence_cutoff(d, "genocide_denial"), presence_cutoff(d, "anti_western")
    (0.4, 0.6)
    """
    return d["presence"].get("cutoffs", {}).get(narrative, d["presence"]["cutoff"])


def check_presence_cutoffs(cutoffs: object, narratives: Sequence[str] | None = None) -> dict[str, float]:
    """Per-narrative presence cutoffs, checked (each a probability in (0, 1); with ``narratives``, each a narrative
    among them); raises ``ValueError`` naming the bad one.

    >>> check_presence_cutoffs({"anti_western": 1.5})
    Traceback (most recent call last):
    ...
    ValueError: article_decider.presence.cutoffs.anti_western: expected a probability in (0, 1), got 1.5
    """
    if not isinstance(cutoffs, dict):
        raise ValueError("article_decider.presence.cutoffs: expected an object of narrative id -> probability")
    for name, p in cutoffs.items():
        if narratives is not None and name not in narratives:
            raise ValueError(f"article_decider.presence.cutoffs: {name!r} is not a narrative of the model "
                             f"({', '.join(narratives)})")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p < 1.0:
            raise ValueError(f"article_decider.presence.cutoffs.{name}: expected a probability in (0, 1), got {p!r}")
    return cutoffs


def check_decider(d: object) -> dict:
    """Validate a decider object (from a model's config); raises ``ValueError`` naming the bad field.

    >>> check_decider({"version": 1, "presence": {"coef": [1.0], "intercept": 0.0, "cutoff": 0.5}})
    Traceback (most recent call last):
    ...
    ValueError: article_decider.presence.coef: expected 5 numbers, got 1
    """
    if not isinstance(d, dict) or d.get("version") != 1:
        raise ValueError("article_decider: expected an object with version 1")
    stance = d.get("stance")
    if stance is not None and not isinstance(stance, dict):
        raise ValueError("article_decider.stance: expected an object")
    source = (stance or {}).get("source", "passages")
    if source not in ("passages", ARTICLE_TEXT):
        raise ValueError(f"article_decider.stance.source: expected 'passages' or {ARTICLE_TEXT!r}, got {source!r}")
    by_passages = stance is not None and source == "passages"
    if stance is not None:
        check_stance_cutoffs(stance)
    presence = PRESENCE_FEATURES + page_features(_check_page(d.get("page")))
    parts = [("presence", presence)] + ([("stance", STANCE_FEATURES)] if by_passages else [])
    for name, feats in parts:
        part = d.get(name)
        if not isinstance(part, dict):
            raise ValueError(f"article_decider.{name}: expected an object")
        coef = part.get("coef")
        if not isinstance(coef, list) or len(coef) != len(feats) or not all(isinstance(c, (int, float)) for c in coef):
            raise ValueError(f"article_decider.{name}.coef: expected {len(feats)} numbers, got "
                             f"{len(coef) if isinstance(coef, list) else type(coef).__name__}")
        if not isinstance(part.get("intercept"), (int, float)):
            raise ValueError(f"article_decider.{name}.intercept: expected a number")
    offsets = d["presence"].get("offsets", {})
    if not isinstance(offsets, dict) or not all(isinstance(k, str) and isinstance(v, (int, float)) and math.isfinite(v)
                                                for k, v in offsets.items()):
        raise ValueError("article_decider.presence.offsets: expected an object of narrative id -> number")
    cutoff = d["presence"].get("cutoff")
    if not isinstance(cutoff, (int, float)) or not 0.0 < cutoff < 1.0:
        raise ValueError(f"article_decider.presence.cutoff: expected a number in (0, 1), got {cutoff!r}")
    check_presence_cutoffs(d["presence"].get("cutoffs", {}))
    problem = evidence_problem(d["evidence"]) if d.get("evidence") is not None else None
    if problem:
        raise ValueError(problem)
    return d


def _check_page(page: object) -> dict | None:
    """The decider's page part, checked (``None`` when it has none).

    >>> _check_page({"coef": [0.5, "x"], "intercept": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: article_decider.page.coef: expected a non-empty list of numbers
    """
    if page is None:
        return None
    if not isinstance(page, dict):
        raise ValueError("article_decider.page: expected an object")
    coef = page.get("coef")
    if not isinstance(coef, list) or not coef or not all(isinstance(c, (int, float)) and math.isfinite(c) for c in coef):
        raise ValueError("article_decider.page.coef: expected a non-empty list of numbers")
    if not isinstance(page.get("intercept"), (int, float)):
        raise ValueError("article_decider.page.intercept: expected a number")
    by_narrative = page.get("narratives")
    if by_narrative is not None:
        if not isinstance(by_narrative, dict) or not by_narrative:
            raise ValueError("article_decider.page.narratives: expected a non-empty object of narrative id -> model")
        for lab, m in by_narrative.items():
            c = m.get("coef") if isinstance(m, dict) else None
            if (not isinstance(c, list) or len(c) != len(coef) or not isinstance(m.get("intercept"), (int, float))
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in c)):
                raise ValueError(f"article_decider.page.narratives.{lab}: expected coef ({len(coef)} numbers, as the "
                                 "page model's) and an intercept")
    lexicon = page.get("lexicon")
    if lexicon is not None and (not isinstance(lexicon, dict) or not isinstance(lexicon.get("labels"), list)
                                or not all(isinstance(lab, str) for lab in lexicon["labels"])):
        raise ValueError("article_decider.page.lexicon: expected an object with the lexicon's labels (a list of "
                         "narrative ids)")
    if "blend" in page:
        w = page["blend"]
        if not by_narrative or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"article_decider.page.blend: expected a number >= 0 beside per-narrative page models "
                             f"(narratives), got {w!r}" + ("" if by_narrative else " without them"))
    return page


def page_features(page: dict | None) -> tuple[str, ...]:
    """The presence features a page part adds: none, or ``page``, then ``page_narrative`` (per-narrative page models
    read as a feature), then ``page_lexicon`` (a page lexicon).

    >>> page_features(None), page_features({"coef": [1.0], "intercept": 0.0, "narratives": {"a": {}}})
    ((), ('page', 'page_narrative'))
    >>> page_features({"coef": [1.0], "intercept": 0.0, "narratives": {"a": {}}, "blend": 1.0, "lexicon": {}})
    ('page', 'page_lexicon')
    """
    if page is None:
        return ()
    return ((PAGE_FEATURE,) + ((PAGE_NARRATIVE_FEATURE,) if page.get("narratives") and "blend" not in page else ())
            + ((PAGE_LEXICON_FEATURE,) if page.get("lexicon") is not None else ()))


class PageLogits(NamedTuple):
    """An article's page-model logits: ``any`` (does the page carry any narrative), one per narrative when the page
    part has per-narrative models, and one per narrative from the page lexicon when it has one."""

    any: float
    narratives: Mapping[str, float] = {}
    lexicon: Mapping[str, float] = {}

    def of(self, narrative: str | None) -> float:
        """The logit the ``page_narrative`` feature reads for ``narrative`` (``any`` when it has no model).

        >>> PageLogits(1.0, {"a": -2.0}).of("a"), PageLogits(1.0, {"a": -2.0}).of("b")
        (-2.0, 1.0)
        """
        return float(self.narratives.get(narrative, self.any)) if narrative is not None else self.any

    def lexical(self, narrative: str | None) -> float:
        """The logit the ``page_lexicon`` feature reads for ``narrative`` (``any`` when the lexicon has no model).

        >>> PageLogits(1.0, {}, {"a": -2.0}).lexical("a"), PageLogits(1.0, {}, {"a": -2.0}).lexical("b")
        (-2.0, 1.0)
        """
        return float(self.lexicon.get(narrative, self.any)) if narrative is not None else self.any


def presence_features(scores: Sequence[float], eligible: Sequence[int], threshold: float) -> list[float]:
    """The presence features of one narrative: ``scores`` of every passage in order, ``eligible`` the
    indices of passages long enough to be evidence.

    >>> [round(v, 2) for v in presence_features([0.2, 0.9, 0.6], [1, 2], 0.5)]
    [2.2, 0.41, 1.1, -1.39, 1.1]
    """
    t = logit(threshold)
    ranked = sorted((scores[i] for i in eligible), reverse=True)
    best = logit(ranked[0]) - t if ranked else -CLIP - t
    second = logit(ranked[1]) - t if len(ranked) > 1 else -CLIP - t
    n_over = math.log1p(sum(s >= threshold for s in ranked))
    headline = logit(scores[0]) - t if len(scores) else -CLIP - t
    return [best, second, n_over, headline, math.log1p(len(ranked))]


def as_page_logits(page: PageLogits | float) -> PageLogits:
    """A page-model value as :class:`PageLogits` (a number is the ``any`` logit alone).

    >>> as_page_logits(1.5)
    PageLogits(any=1.5, narratives={}, lexicon={})
    """
    return page if isinstance(page, PageLogits) else PageLogits(float(page))


def presence_probability(d: dict, scores: Sequence[float], eligible: Sequence[int], threshold: float,
                         narrative: str | None = None, page: PageLogits | float | None = None) -> float:
    """The decider's probability that the article carries ``narrative`` (its offset, if any, is added);
    ``page`` is the article's page-model logits (:func:`page_logits`; a number is its ``any`` logit alone), which a
    decider with a page part needs.

    >>> d = {"presence": {"coef": [1.0, 0, 0, 0, 0], "intercept": 0.0, "offsets": {"a": -2.2}}}
    >>> round(presence_probability(d, [0.9], [0], 0.5, "a"), 2), round(presence_probability(d, [0.9], [0], 0.5, "b"), 2)
    (0.5, 0.9)
    >>> d2 = {**d, "page": {"coef": [1.0], "intercept": 0.0}, "presence": {"coef": [1.0, 0, 0, 0, 0, 1.0], "intercept": 0.0}}
    >>> round(presence_probability(d2, [0.9], [0], 0.5, "a", page=-2.2), 2)
    0.5
    >>> d3 = {**d2, "page": {"coef": [1.0], "intercept": 0.0, "narratives": {"a": {}}, "blend": 1.0}}
    >>> round(presence_probability(d3, [0.9], [0], 0.5, "a", page=PageLogits(0.0, {"a": -2.2})), 2)
    0.5
    """
    part = d["presence"]
    offset = float(part.get("offsets", {}).get(narrative, 0.0)) if narrative is not None else 0.0
    x = presence_features(scores, eligible, threshold)
    if d.get("page") is not None:
        if page is None:
            raise ValueError("article_decider.page: the decider reads the article's page-model logit, and none was given")
        logits = as_page_logits(page)
        x.append(logits.any)
        features = page_features(d["page"])
        if PAGE_NARRATIVE_FEATURE in features:
            x.append(logits.of(narrative))
        if PAGE_LEXICON_FEATURE in features:
            x.append(logits.lexical(narrative))
        offset += float(d["page"].get("blend", 0.0)) * logits.of(narrative)
    return _linear(part, x, offset)


def page_logit(part: dict, embeddings) -> float:
    """The page model's logit (clipped to +-8) for one article, from its eligible passages' embeddings.

    >>> page_logit({"coef": [1.0, -1.0], "intercept": 0.5}, [[1.0, 0.0], [0.0, 0.0]])
    1.0
    """
    import numpy as np

    x = np.asarray(embeddings, dtype=np.float64)
    coef = np.asarray(part["coef"], dtype=np.float64)
    if x.ndim != 2 or not len(x) or x.shape[1] != coef.size:
        raise ValueError(f"article_decider.page: expected passage embeddings of {coef.size} dimensions, got an "
                         f"array of shape {x.shape}")
    return max(-CLIP, min(CLIP, float(x.mean(0) @ coef) + float(part["intercept"])))


def page_logits(part: dict, embeddings) -> PageLogits:
    """All of a page part's logits for one article (:func:`page_logit` for ``any`` and for each narrative's model).

    >>> page_logits({"coef": [1.0], "intercept": 0.0, "narratives": {"a": {"coef": [-1.0], "intercept": 0.5}}}, [[2.0]])
    PageLogits(any=2.0, narratives={'a': -1.5}, lexicon={})
    """
    return PageLogits(page_logit(part, embeddings),
                      {lab: page_logit(m, embeddings) for lab, m in (part.get("narratives") or {}).items()})


def lexicon_text(passages: Sequence[str]) -> str:
    """The text a page lexicon reads of an article: its eligible passages, one per line.

    >>> lexicon_text(["Headline", "A paragraph."])
    'Headline\\nA paragraph.'
    """
    return "\n".join(passages)


def with_lexicon(logits: Sequence[PageLogits | None], lexicon, texts: Sequence[Sequence[str]]) -> list[PageLogits | None]:
    """``logits`` with each article's page-lexicon logits added (``texts``: each article's eligible passages; an
    article with none keeps ``None``).

    >>> class Lex:
    ...     labels_ = ["a"]
    ...     def logits(self, texts): return [[len(t)] for t in texts]
    >>> with_lexicon([PageLogits(0.5), None], Lex(), [["ab", "c"], []])
    [PageLogits(any=0.5, narratives={}, lexicon={'a': 4.0}), None]
    """
    rows = [(i, lg) for i, lg in enumerate(logits) if lg is not None]
    z = lexicon.logits([lexicon_text(texts[i]) for i, _ in rows]) if rows else []
    out = list(logits)
    for (i, lg), zi in zip(rows, z):
        out[i] = lg._replace(lexicon={lab: float(v) for lab, v in zip(lexicon.labels_, zi)})
    return out


def article_page_logits(clf, texts: Sequence[Sequence[str]]) -> list[PageLogits | None] | None:
    """Each article's page-model logits from the texts of its eligible passages (``None`` for an article with
    none), when ``clf``'s decider has a page part (else ``None``). The embeddings are those of the model the
    decider reads (:func:`decision_scorer`); an int8 export remembers the batch it just scored, so they cost no
    second encoding. A page part with a lexicon adds its logits (:func:`with_lexicon`).

    >>> article_page_logits(object(), [["text"]]) is None
    True
    """
    d = article_decider_config(clf) or {}
    part = d.get("page")
    if part is None:
        return None
    scorer = decision_scorer(clf)
    embed = getattr(scorer, "embed", None)
    if embed is None:
        from narratives.model.artifact import ModelLoadError

        raise ModelLoadError(f"the article decider's page model reads passage embeddings, and the model it reads "
                             f"({getattr(scorer, 'kind', type(scorer).__name__)}) has none")
    flat = [t for ts in texts for t in ts]
    x = embed(flat) if flat else []
    out: list[PageLogits | None] = []
    pos = 0
    for ts in texts:
        out.append(page_logits(part, x[pos:pos + len(ts)]) if ts else None)
        pos += len(ts)
    return with_lexicon(out, page_lexicon(clf), texts) if part.get("lexicon") is not None else out


def mentions(scores: Sequence[float], eligible: Sequence[int], threshold: float, margin: float) -> list[int]:
    """Indices (in text order) of eligible passages whose margin over the threshold is at least ``margin``;
    the best passage when none is.

    >>> mentions([0.1, 0.45, 0.8], [0, 1, 2], 0.5, -0.5)
    [1, 2]
    """
    t = logit(threshold)
    out = [i for i in eligible if logit(scores[i]) - t >= margin]
    if not out and eligible:
        out = [max(eligible, key=lambda i: scores[i])]
    return sorted(out)


def stance_features(scores: Sequence[float], promo: Sequence[float], idx: Sequence[int]) -> list[float]:
    """Stance features over the mention passages ``idx`` (text order): weighted mean, minimum, last and
    best passage's promotes-probability, as logits.

    >>> [round(v, 2) for v in stance_features([0.9, 0.6], [0.9, 0.1], [0, 1])]
    [0.32, -2.2, -2.2, 2.2]
    """
    w = sum(scores[i] for i in idx)
    weighted = sum(scores[i] * promo[i] for i in idx) / w if w else 0.5
    best = max(idx, key=lambda i: scores[i])
    return [logit(weighted), logit(min(promo[i] for i in idx)), logit(promo[idx[-1]]), logit(promo[best])]


def stance_probability(d: dict, scores: Sequence[float], promo: Sequence[float], eligible: Sequence[int],
                       threshold: float, article_promotes: float | None = None, lang: str | None = None) -> float | None:
    """Probability of *promotes* for one narrative, or ``None`` when the decider has no stance part (the
    caller then keeps the passage rule); a stance part that reads the article text returns
    ``article_promotes``, the article stance model's probability, or ``None`` (the passage rule) when there is
    none (NaN: the article holds none of its n-grams). With ``cutoffs`` in the stance part, the probability is
    read at the cutoff of ``lang``, the article's detected language (:func:`narratives.serve.stancecutoffs.
    read_at_cutoff`: 0.5 then falls at the cutoff).

    >>> stance_probability({"stance": {"source": "article_text"}}, [0.9], [0.1], [0], 0.5, 0.8)
    0.8
    >>> stance_probability({"stance": {"source": "article_text", "cutoffs": {"en": 0.4}}}, [0.9], [0.1], [0], 0.5, 0.4, "en")
    0.5
    """
    part = d.get("stance")
    if part is None:
        return None
    if part.get("source") == ARTICLE_TEXT:
        if article_promotes is None or math.isnan(article_promotes):
            return None
        p = float(article_promotes)
    else:
        idx = mentions(scores, eligible, threshold, float(part.get("mention_margin", -1.0)))
        if not idx:
            return None
        p = _linear(part, stance_features(scores, promo, idx))
    return read_at_cutoff(p, lang, part.get("cutoffs", {}))


def decision_scorer(clf):
    """The model whose passage scores ``clf``'s article decider reads: its ``evidence`` model (loaded with
    ``clf`` by ``load_model``, which checks its hash) or ``clf`` itself.

    >>> class M: config_ = {"article_decider": None}
    >>> decision_scorer(M) is M
    True
    """
    d = article_decider_config(clf) or {}
    if not d.get("evidence"):
        return clf
    scorer = getattr(clf, "evidence_model_", None)
    if scorer is None:
        from narratives.model.artifact import ModelLoadError
        from narratives.model.loading import load_evidence

        problem = getattr(clf, "evidence_problem_", None)
        if problem:  # found at load: the model still scores passages, but cannot decide an article
            raise ModelLoadError(problem)
        scorer = clf.evidence_model_ = load_evidence(d["evidence"], getattr(clf, "path_", None), clf.labels_)
    return scorer


def article_promotes(clf, texts: Sequence[str]) -> list[float | None] | None:
    """The article stance model's *promotes* probability of each article text (``None`` for one that holds
    none of its n-grams), when ``clf``'s decider reads the article text (else ``None``). ``load_model`` reads
    the model with the rest; a model loaded otherwise reads it here once, checked against its manifest; a model
    fitted in memory carries the fitted one (``article_stance_``).

    >>> article_promotes(object(), ["text"]) is None
    True
    """
    if not reads_article_text(article_decider_config(clf)):
        return None
    from narratives.model.articlestance import FILES, ArticleStance
    from narratives.model.loading import decider_model

    model = decider_model(clf, "article_stance_", FILES, ArticleStance, "the decider's stance part reads the article text")
    return [None if math.isnan(p) else float(p) for p in model.promotes_probability(list(texts))] if texts else []


def page_lexicon(clf):
    """The page lexicon (:class:`narratives.model.pagelexicon.PageLexicon`) that ``clf``'s decider reads: the one
    ``load_model`` read, or the one fitted in memory (``page_lexicon_``), or else read here once, checked against
    the manifest.

    >>> page_lexicon.__name__
    'page_lexicon'
    """
    from narratives.model.loading import decider_model
    from narratives.model.pagelexicon import FILES, PageLexicon

    return decider_model(clf, "page_lexicon_", FILES, PageLexicon, "the decider's page part reads the page lexicon")
