"""Score whole articles: split into passages, score passages in batches across articles, aggregate.

Aggregation rule (per narrative), over the article's passages of at least ``min_words`` words (default 5:
bylines, datelines and outlet names are too short to be evidence, and the models are trained on passages of
15 to 150 words; shorter passages are still scored and counted):

* the article score is the highest passage score;
* the narrative is predicted when that score reaches the narrative's threshold, i.e. when at least one
  passage carries it;
* its evidence is the passages at or above the threshold, best first, at most ``max_evidence``;
* its stance is *promotes* when the evidence passages' promotes-probabilities, weighted by their
  narrative scores, average 0.5 or more, else *reports*;
* the article stance is *promotes* if any predicted narrative is promoted, *reports* if narratives are
  predicted and none is promoted, and *none* otherwise.

A model whose ``config.json`` holds an ``article_decider`` (:mod:`.decider`) replaces the first two
bullets and the stance rule with that calibrated article-level step: a narrative is predicted when the
decider's probability reaches its cutoff (its evidence is then the passages at or above the threshold, or
the best passage when none is), and its stance comes from the decider's stance part when it has one.
``scores`` stay the best passage scores either way.

>>> recs = list(score_articles([{"id": "a", "text": "Sunny in Belgrade.\\n\\nMarkets were calm."}]))
>>> recs[0]["n_passages"], recs[0]["stance"]
(2, 'none')
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .memory import map_large_blocks, release_memory
from .passages import split_passages
from .predict import decide, model_info

if TYPE_CHECKING:
    from .decider import PageLogits

MAX_PASSAGES = 2000  # per article; beyond this the article is truncated with a warning
MIN_WORDS = 5  # shorter passages are scored and counted but never evidence (see the module docstring)


def __getattr__(name: str) -> Any:
    """``RESERVED``: the article record's fields, from :mod:`narratives.serve.records` (read on first use, so
    importing this module does not import pydantic)."""
    if name == "RESERVED":
        from .records import article_fields

        return article_fields()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def aggregate(passages: list[dict], spans: list[tuple[int, int]], text: str, labels: list[str],
              thresholds: dict[str, float], max_evidence: int = 3, min_words: int = 5,
              decider: dict | None = None, article_promotes: float | None = None,
              judged: list[dict] | None = None, judged_thresholds: dict[str, float] | None = None,
              page: PageLogits | float | None = None, lang: str | None = None) -> dict:
    """Article-level fields from its passage records (see the module docstring for the rule);
    ``article_promotes`` is the article stance model's probability, for a decider that reads the article text;
    ``page``, the article's page-model logits, for a decider with a page part
    (:func:`narratives.serve.decider.article_page_logits`); ``lang``, the article's detected language, for a
    decider whose stance part has per-language cutoffs;
    ``judged`` and ``judged_thresholds``, the passage records and thresholds of the decider's evidence model,
    which the decider reads instead of ``passages`` (the evidence shown is still ``passages``').

    >>> p = [{"scores": {"x": 0.9}, "stance_score": 0.8, "stance": "promotes"},
    ...      {"scores": {"x": 0.2}, "stance_score": 0.1, "stance": "none"}]
    >>> a = aggregate(p, [(0, 3), (4, 7)], "abc def", ["x"], {"x": 0.5}, min_words=1)
    >>> a["narratives"], a["stance"], a["evidence"]["x"][0]["text"]
    (['x'], 'promotes', 'abc')
    """
    from narratives.model.contract import stance_of

    from .records import rounded

    eligible = eligible_indices([text[s:e] for s, e in spans], min_words)
    scores = {lab: max((passages[i]["scores"][lab] for i in eligible), default=0.0) for lab in labels}
    jp, jt = (judged, judged_thresholds) if judged is not None and judged_thresholds is not None else (passages, thresholds)
    if decider is None:
        predicted = [lab for lab in labels if eligible and scores[lab] >= thresholds[lab]]
    else:
        from .decider import presence_cutoff, presence_probability

        predicted = [lab for lab in labels if eligible and presence_probability(
            decider, [p["scores"][lab] for p in jp], eligible, jt[lab], lab, page) >= presence_cutoff(decider, lab)]
    evidence, stances = {}, {}
    for lab in predicted:
        hits = sorted((i for i in eligible if passages[i]["scores"][lab] >= thresholds[lab]),
                      key=lambda i: -passages[i]["scores"][lab])[:max_evidence]
        hits = hits or [max(eligible, key=lambda i: passages[i]["scores"][lab])]
        weight = sum(passages[i]["scores"][lab] for i in hits)
        promo = sum(passages[i]["scores"][lab] * passages[i]["stance_score"] for i in hits) / weight if weight else 0.0
        if decider is not None:
            from .decider import stance_probability

            learned = stance_probability(decider, [p["scores"][lab] for p in jp],
                                         [p["stance_score"] for p in jp], eligible, jt[lab], article_promotes, lang)
            promo = promo if learned is None else learned
        stances[lab] = stance_of(promo)
        evidence[lab] = [{"start": spans[i][0], "end": spans[i][1], "score": rounded(passages[i]["scores"][lab]),
                          "stance": passages[i]["stance"], "stance_score": rounded(passages[i]["stance_score"]),
                          "text": text[spans[i][0]:spans[i][1]]} for i in hits]
    stance = "none"
    if predicted:
        stance = "promotes" if "promotes" in stances.values() else "reports"
    return {"narratives": predicted, "stance": stance, "stances": stances,
            "scores": {k: rounded(v) for k, v in scores.items()}, "evidence": evidence}


def eligible_indices(texts: Sequence[str], min_words: int = MIN_WORDS) -> list[int]:
    """Indices of an article's passages long enough to be evidence (``min_words`` words or more): the
    passages the decider reads.

    >>> eligible_indices(["Short.", "A passage of five words."])
    [1]
    """
    return [i for i, t in enumerate(texts) if len(t.split()) >= min_words]


def score_articles(items: Iterable[dict], model=None, batch_passages: int = 256,
                   max_evidence: int = 3, max_chars: int = 1000, min_words: int = MIN_WORDS) -> Iterator[dict]:
    """Yield one record per input item (``{"id", "text", ...}`` or an ``{"error"}`` item), in order.

    Passages of several articles are scored together in batches of about ``batch_passages``.
    """
    from narratives.model import load_model
    from narratives.model.contract import NarrativeModel

    from .records import error_record

    if max_evidence < 1:
        raise ValueError(f"max_evidence must be at least 1, got {max_evidence}")
    map_large_blocks()  # freed batch buffers go back to the system (see narratives.serve.memory)
    clf = model if isinstance(model, NarrativeModel) else load_model(model)  # a loaded model, or a reference
    info = model_info(clf)
    pending: list[tuple[dict, list[tuple[int, int]], list[str]]] = []
    n_pending = 0

    def flush() -> Iterator[dict]:
        nonlocal pending, n_pending
        flat = [t for _, _, texts in pending for t in texts]
        results = decide(clf, flat) if flat else []
        judged = _judged(clf, flat)
        if flat:
            release_memory()  # the encoders' freed batch buffers, before the next batch allocates its own
        pos = 0
        for item, spans, texts in pending:
            if "error" in item:
                yield error_record(item, info)
                continue
            recs = results[pos:pos + len(texts)]
            own = (judged[0][pos:pos + len(texts)], judged[1]) if judged is not None else None
            pos += len(texts)
            yield _article_record(item, spans, recs, clf, info, max_evidence, min_words, own)
        pending, n_pending = [], 0

    for item in items:
        if "error" not in item and not isinstance(item.get("text"), str):
            item = {"id": item.get("id"), "source": item.get("source"),
                    "error": f"item {item.get('id')!r}: 'text' must be a string, got {type(item.get('text')).__name__}"}
        if "error" in item:
            pending.append((item, [], []))
        else:
            spans = article_spans(item, max_chars)
            texts = [item["text"][s:e] for s, e in spans]
            pending.append((item, spans, texts))
            n_pending += len(texts)
        if n_pending >= batch_passages or len(pending) >= batch_passages:
            yield from flush()
    yield from flush()


def article_spans(item: dict, max_chars: int = 1000) -> list[tuple[int, int]]:
    """The passages of an article item, at most :data:`MAX_PASSAGES` (more adds a warning to the item).

    >>> article_spans({"text": "Sunny in Belgrade.\\n\\nMarkets were calm."})
    [(0, 18), (20, 38)]
    """
    spans = split_passages(item["text"], max_chars=max_chars)
    if len(spans) > MAX_PASSAGES:
        item.setdefault("warnings", []).append(
            f"article has {len(spans)} passages; only the first {MAX_PASSAGES} were scored")
        spans = spans[:MAX_PASSAGES]
    return spans


def score_article(clf, item: dict, max_evidence: int = 3, max_chars: int = 1000,
                  min_words: int = MIN_WORDS) -> tuple[dict, list[tuple[int, int]], list[dict]]:
    """One article scored with a loaded model, for a caller that shows its passages (the workbench): the
    record :func:`score_articles` writes for it, its passage spans, and each passage's decision (exact
    scores, :func:`narratives.serve.predict.decide`).

    >>> from narratives.model import load_model
    >>> rec, spans, decisions = score_article(load_model("baseline"), {"id": "a", "text": "Markets were calm."})
    >>> rec["n_passages"], len(spans), sorted(decisions[0])[:3]
    (1, 1, ['lang', 'narratives', 'scores'])
    """
    spans = article_spans(item, max_chars)
    texts = [item["text"][s:e] for s, e in spans]
    decisions = decide(clf, texts) if spans else []
    record = _article_record(item, spans, decisions, clf, model_info(clf), max_evidence, min_words, _judged(clf, texts))
    return record, spans, decisions


def article_decider(clf) -> dict | None:
    """The model's article decider (``config.json``'s ``article_decider``), checked, or ``None``.

    >>> article_decider(object()) is None
    True
    """
    from narratives.model.loading import article_decider_config

    from .decider import check_decider

    d = article_decider_config(clf)
    return None if d is None else check_decider(d)


def _judged(clf, texts: list[str]) -> tuple[list[dict], dict[str, float]] | None:
    """The passage decisions and thresholds of the model ``clf``'s article decider reads, when that is another
    model (its ``evidence``); else ``None``."""
    from .decider import decision_scorer

    scorer = decision_scorer(clf)
    return None if scorer is clf else (decide(scorer, texts) if texts else [], dict(scorer.thresholds_))


def _article_record(item: dict, spans, recs, clf, info, max_evidence, min_words, judged=None) -> dict:
    from narratives.model.langid import detect_language

    from .records import article_fields, text_sha256

    text = item["text"]
    from .decider import article_page_logits, article_promotes

    # the text its passages cover: an article cut at MAX_PASSAGES is read no further for its stance either
    promotes = article_promotes(clf, [text[:spans[-1][1]]]) if spans else None
    decider = article_decider(clf)
    page = None
    if decider is not None and decider.get("page") is not None:  # else no passage text is gathered for it
        texts = [text[s:e] for s, e in spans]
        page = article_page_logits(clf, [[texts[i] for i in eligible_indices(texts, min_words)]])
    lang = detect_language(text)
    agg = aggregate(recs, spans, text, clf.labels_, clf.thresholds_, max_evidence, min_words,
                    decider, promotes[0] if promotes else None,
                    judged=judged[0] if judged else None, judged_thresholds=judged[1] if judged else None,
                    page=page[0] if page else None, lang=lang)
    warnings = list(item.get("warnings", []))
    if not spans:
        warnings.append("article has no text")
    out = {"id": item.get("id"), "source": item.get("source")}
    reserved = article_fields()
    for k, v in item.get("extra", {}).items():
        out[f"input_{k}" if k in reserved else k] = v
    out.update(agg)
    from narratives.model.langid import unlabelled_warning

    if unlabelled_warning(lang):
        warnings.append(str(unlabelled_warning(lang)))
    out.update({"n_passages": len(spans), **info,
                "text_sha256": text_sha256(text),
                "lang": lang,
                "errors": [], "warnings": warnings})
    return out
