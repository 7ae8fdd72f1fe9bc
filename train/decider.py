"""Fit the article decider (:mod:`narratives.serve.decider`) on team-written articles, and attach it to a
model directory as a new version of that model.

The articles (:mod:`narratives.train.teamarticles`, ``train`` split) are split into passages and scored by
the model exactly as ``narratives score`` does; each (article, narrative) pair gives one row of presence
features, labelled by whether the article carries the narrative, and each labelled narrative one row of
stance features, labelled *promotes* or *reports*. Both parts are logistic regressions (scikit-learn,
L2, ``C``) pooled over the narratives: the features are relative to each narrative's threshold, so one set
of weights serves all, and the decider works over any model's passage scores.

>>> rows = [{"scores": {"a": 0.9}, "stance_score": 0.9}, {"scores": {"a": 0.1}, "stance_score": 0.1}]
>>> x, y = presence_rows([(rows, [0, 1], {"a": "promotes"})], ["a"], {"a": 0.5})
>>> len(x), y
(1, [1])
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from narratives.serve.articles import MIN_WORDS, article_spans, eligible_indices
from narratives.serve.decider import (
    ARTICLE_TEXT,
    PAGE_LEXICON_FEATURE,
    PAGE_NARRATIVE_FEATURE,
    PRESENCE_FEATURES,
    STANCE_FEATURES,
    PageLogits,
    as_page_logits,
    check_decider,
    mentions,
    page_features,
    presence_features,
    stance_features,
)

Scored = tuple[list[dict], list[int], dict[str, str]]  # passage records, eligible indices, gold labels
MENTION_MARGIN = -1.0


def split_and_score(clf, articles, min_words: int = MIN_WORDS, max_chars: int = 1000) -> list[tuple[Scored, list]]:
    """Each article's :data:`Scored` tuple and its passage spans, split (:func:`article_spans`) and scored as
    ``narratives score`` does (all passages in one call, so the model batches across articles)."""
    from narratives.serve.predict import decide

    articles = list(articles)
    spans = [article_spans({"text": a.text}, max_chars) for a in articles]
    texts = [[a.text[s:e] for s, e in sp] for a, sp in zip(articles, spans)]
    flat = [t for ts in texts for t in ts]
    recs = decide(clf, flat) if flat else []
    out: list[tuple[Scored, list]] = []
    pos = 0
    for a, sp, ts in zip(articles, spans, texts):
        mine = [{"scores": r["scores"], "stance_score": r["stance_score"], "stance": r["stance"]}
                for r in recs[pos:pos + len(ts)]]
        pos += len(ts)
        out.append(((mine, eligible_indices(ts, min_words), a.labels), sp))
    return out


def score_articles_passages(clf, articles, min_words: int = MIN_WORDS, max_chars: int = 1000) -> list[Scored]:
    """Passage records (``scores``, ``stance_score``) of each article, its eligible passage indices and its
    labels, split and scored as ``narratives score`` does."""
    return [sc for sc, _ in split_and_score(clf, articles, min_words, max_chars)]


def presence_rows(scored: Sequence[Scored], labels: Sequence[str], thresholds: dict[str, float],
                  per_narrative: bool = False, pages: Sequence[PageLogits | float | None] | None = None,
                  page_narrative: bool = False, page_lexicon: bool = False):
    """``(X, y)``: one row per article and narrative (articles with no eligible passage are skipped); with
    ``pages`` (each article's page-model logits) each row has the ``page`` feature too, with
    ``page_narrative`` the ``page_narrative`` feature after it (that narrative's own page logit), and with
    ``page_lexicon`` the ``page_lexicon`` feature last (that narrative's page-lexicon logit); with
    ``per_narrative`` each row ends with one indicator per narrative (what the offsets are fitted on).
    A narrative that no article carries (one just added) has no rows: nothing here says how its evidence
    should be read, so it is decided by the pooled part alone, like a narrative added after fitting.

    >>> rows = [{"scores": {"a": 0.9, "new": 0.9}, "stance_score": 0.9}]
    >>> X, y = presence_rows([(rows, [0], {"a": "promotes"}), (rows, [0], {})], ["a", "new"], {"a": 0.5, "new": 0.5})
    >>> len(X), y
    (2, [1, 0])
    """
    X, y = [], []
    fitted = carried(scored, labels)
    for k, (recs, eligible, gold) in enumerate(scored):
        if not eligible:
            continue
        logits = None if pages is None or pages[k] is None else as_page_logits(pages[k])
        if pages is not None and logits is None:
            raise ValueError(f"article {k}: it has eligible passages and no page-model logit")
        for j, lab in enumerate(fitted):
            onehot = [float(k == j) for k in range(len(fitted))] if per_narrative else []
            page = [] if logits is None else ([logits.any] + ([logits.of(lab)] if page_narrative else [])
                                              + ([logits.lexical(lab)] if page_lexicon else []))
            X.append(presence_features([r["scores"][lab] for r in recs], eligible, thresholds[lab]) + page + onehot)
            y.append(int(lab in gold))
    return X, y


def carried(scored: Sequence[Scored], labels: Sequence[str]) -> list[str]:
    """The narratives (in ``labels`` order) that at least one article with an eligible passage carries."""
    return [lab for lab in labels if any(lab in gold for _, eligible, gold in scored if eligible)]


def stance_rows(scored: Sequence[Scored], labels: Sequence[str], thresholds: dict[str, float],
                margin: float = MENTION_MARGIN):
    """``(X, y)``: one row per labelled narrative of an article, y = 1 for *promotes*.

    >>> rows = [{"scores": {"a": 0.9}, "stance_score": 0.9}, {"scores": {"a": 0.7}, "stance_score": 0.1}]
    >>> stance_rows([(rows, [0, 1], {"a": "reports"})], ["a"], {"a": 0.5})[1]
    [0]
    """
    X, y = [], []
    for recs, eligible, gold in scored:
        for lab, stance in gold.items():
            if lab not in labels or not eligible:
                continue
            scores = [r["scores"][lab] for r in recs]
            idx = mentions(scores, eligible, thresholds[lab], margin)
            X.append(stance_features(scores, [r["stance_score"] for r in recs], idx))
            y.append(int(stance == "promotes"))
    return X, y


def _logreg(X, y, C: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:
        raise ValueError(f"need both classes to fit, got only {sorted(set(y))} in {len(y)} row(s)")
    m = LogisticRegression(C=C, max_iter=5000).fit(X, y)
    return {"coef": [round(float(c), 6) for c in m.coef_[0]], "intercept": round(float(m.intercept_[0]), 6)}


def fit_decider(scored: Sequence[Scored], labels: Sequence[str], thresholds: dict[str, float], cutoff: float = 0.5,
                C: float = 1.0, stance: bool = True, provenance: dict | None = None,
                per_narrative: bool = False, article_stance=None, page: dict | None = None,
                pages: Sequence[PageLogits | float | None] | None = None) -> dict:
    """The decider object (JSON-ready) fitted on ``scored`` articles; with ``article_stance`` (a fitted
    :class:`narratives.model.articlestance.ArticleStance`) its stance part reads the article text instead of
    the passages' stance scores (the caller saves that model's files beside the decider); with ``page`` (a
    fitted page part, :func:`narratives.train.pagemodel.fit_page_model`) and ``pages`` (each scored article's
    page-model logits) it has the ``page`` presence feature, ``page_narrative`` too when the page part has
    per-narrative models, and ``page_lexicon`` when it has a page lexicon (the logits in ``pages`` then hold its
    logits; the caller saves its files beside the decider).

    >>> hi = [{"scores": {"a": 0.9}, "stance_score": 0.9}] * 2
    >>> lo = [{"scores": {"a": 0.2}, "stance_score": 0.5}] * 2
    >>> d = fit_decider([(hi, [0, 1], {"a": "promotes"}), (lo, [0, 1], {})], ["a"], {"a": 0.5}, stance=False)
    >>> d["presence"]["coef"][0] > 0, d["stance"]
    (True, None)
    """
    if (page is None) != (pages is None):
        raise ValueError("a page part needs each article's page-model logit, and logits need the page part")
    features = list(PRESENCE_FEATURES) + list(page_features(page))
    px, py = presence_rows(scored, labels, thresholds, per_narrative, pages, PAGE_NARRATIVE_FEATURE in features,
                           PAGE_LEXICON_FEATURE in features)
    presence = _logreg(px, py, C)
    if per_narrative:  # the indicator columns' weights are the narratives' offsets
        k = len(features)
        presence["offsets"] = dict(zip(carried(scored, labels), presence["coef"][k:]))
        presence["coef"] = presence["coef"][:k]
    d: dict = {"version": 1, "presence_features": features,
               "presence": {**presence, "cutoff": cutoff}, "stance": None, "C": C,
               "fitted_on": {**(provenance or {}), "presence_rows": len(py), "positives": int(sum(py))}}
    if page is not None:
        d["page"] = page
    if stance and article_stance is not None:
        d["stance"] = {"source": ARTICLE_TEXT, **article_stance.settings()}
    elif stance:
        sx, sy = stance_rows(scored, labels, thresholds)
        d["stance_features"] = list(STANCE_FEATURES)
        d["stance"] = {**_logreg(sx, sy, C), "mention_margin": MENTION_MARGIN}
        d["fitted_on"].update(stance_rows=len(sy), promotes=int(sum(sy)))
    return check_decider(d)


def articles_digest(articles) -> str:
    """sha256 over the articles' ids, labels and texts (which data a decider was fitted on).

    >>> articles_digest([])[:12]
    'e3b0c44298fc'
    """
    rows = sorted(json.dumps([a.id, a.labels, a.text], sort_keys=True, ensure_ascii=False) for a in articles)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()


CARD_HEADING = "## Article decider"


def card_section(decider: dict | None) -> list[str]:
    """The model card's lines about the article decision (a decider's settings and data, or the passage rule).

    >>> card_section(None)[2].startswith("No decider")
    True
    """
    if decider is None:
        return [CARD_HEADING, "", f"No decider: an article carries a narrative when its best passage (of at least "
                f"{MIN_WORDS} words) reaches the narrative's threshold.", ""]
    p, fit = decider["presence"], decider.get("fitted_on", {})
    data = f"{fit.get('n_articles', '?')} team-written articles ({fit.get('split', 'train')} split of data/articles)"
    if fit.get("real_dev_pages"):
        data += (f" and the article labels of the {fit['real_dev_pages']} real pages of the benchmark's dev half "
                 f"(references digest `{str(fit.get('real_dev_references_sha256', ''))[:12]}`; the test half is "
                 "never used)")
    elif fit.get("real_dev_skipped"):
        data += f"; the real pages' dev half was not used ({fit['real_dev_skipped']})"
    if fit.get("real_pool_pages"):
        data += (f", and of the {fit['real_pool_pages']} real pages of the training pool (data/real/train_*.jsonl, "
                 f"references digest `{str(fit.get('real_pool_references_sha256', ''))[:12]}`)")
    lines = [CARD_HEADING, "",
             f"Whether an article carries a narrative is decided by a logistic regression over its passages' scores "
             f"(features {', '.join(decider.get('presence_features', PRESENCE_FEATURES))}; C {decider.get('C')}; "
             f"cutoff {p['cutoff']}"
             + (f"; for {', '.join(f'{n} {c}' for n, c in p['cutoffs'].items())}, their own cutoffs" if p.get("cutoffs")
                else "")
             + f"), fitted on {data}. See `narratives.serve.decider`.", ""]
    ev = decider.get("evidence")
    if ev:
        lines += [f"It reads the passage scores and thresholds of `{ev['model']}` (version {ev['model_hash'][:12]}, "
                  "pinned: with another version `score` and `serve` refuse to start), not this model's own; the "
                  "passage scores and evidence passages of each article record are this model's.", ""]
    page = decider.get("page")
    if page:
        pf = page.get("fitted_on", {})
        lines += [f"Its `page` feature is the logit of a page model: a logistic regression (C {page.get('C')}) over "
                  f"the mean embedding of the article's passages, fitted on {pf.get('pages', '?')} pages of the real "
                  f"training pool ({pf.get('carrying', '?')} carrying a narrative; references digest "
                  f"`{str(pf.get('references_sha256', ''))[:12]}`), that says whether a page carries any narrative. "
                  "See `narratives.train.pagemodel`.", ""]
        if page.get("narratives"):
            each = (f"one such model per narrative, fitted on the same pages ({', '.join(page['narratives'])}; a "
                    "narrative without one reads `page`)")
            lines[-2] += (f" It also holds {each}, whose logit is added at weight {page['blend']} to the narrative's "
                          "presence logit after the decider." if "blend" in page
                          else f" Its `page_narrative` feature is the logit of {each}.")
        lex = page.get("lexicon")
        if lex:
            lines += [f"Its `page_lexicon` feature is the logit of a page lexicon: per narrative, a balanced logistic "
                      f"regression (C {lex.get('C')}) over the character n-grams (2 to 5, TF-IDF) of the article's "
                      f"eligible passages, Serbian Cyrillic transliterated, fitted on {lex.get('n_pages', '?')} pages "
                      f"of the same pool ({', '.join(lex.get('labels', []))}; a narrative without one reads `page`). "
                      f"In the files {' and '.join(lex.get('files', []))}. See `narratives.model.pagelexicon`.", ""]
    if p.get("offsets"):
        lines += ["| narrative | offset |", "|---|---|", *[f"| {k} | {v:+.2f} |" for k, v in p["offsets"].items()], ""]
    st = decider.get("stance")
    if st and st.get("source") == ARTICLE_TEXT:
        lines += [f"The article stance comes from the whole article's text: a logistic regression (C {st.get('C')}) "
                  f"over word and character n-grams of {st.get('n_articles')} articles that carry a narrative "
                  f"({st.get('promotes')} promote one): the team articles above that carry one and, when the cache "
                  "held it, the real training pool's pages that do (data/real/train_*.jsonl); never the benchmark's "
                  "dev half, which so stays a held-out measure of it. In the files "
                  f"{' and '.join(st.get('files', []))}. Every narrative the article carries takes its stance.", ""]
    else:
        lines += ["The article stance comes from " + ("a second logistic regression over the promotes-probabilities "
                  "of the passages that mention the narrative." if st else "the passage stance rule."), ""]
    if st and st.get("cutoffs"):
        each = ", ".join(f"{lang} {p}" for lang, p in st["cutoffs"].items())
        lines[-2] += (f" An article promotes when that probability reaches the cutoff of its detected language ({each}; "
                      "0.5 for any other); see `narratives.serve.stancecutoffs`.")
    return lines


def set_stance_cutoffs(model_path: str | Path, cutoffs: dict[str, float], out: str | Path) -> str:
    """Write a copy of the model ``model_path`` (a directory, or a name or version as ``load_model`` takes) at ``out``
    whose decider reads its stance at ``cutoffs`` (detected language ->
    probability; ``{}`` removes them), nothing else changed: the decider's weights and files, the model's weights.
    Returns the new model hash; raises ``ValueError`` when the model has no decider with a stance part.

    >>> set_stance_cutoffs.__name__
    'set_stance_cutoffs'
    """
    return _with_decider_edit(model_path, out, "stance", cutoffs)


def set_narrative_cutoffs(model_path: str | Path, cutoffs: dict[str, float], out: str | Path) -> str:
    """Write a copy of the model ``model_path`` at ``out`` whose decider predicts each narrative of ``cutoffs`` at its
    own presence cutoff (narrative -> probability; ``{}`` removes them: the presence ``cutoff`` for all), nothing else
    changed. Returns the new model hash; raises ``ValueError`` when the model has no decider or a cutoff names a
    narrative the model does not have.

    >>> set_narrative_cutoffs.__name__
    'set_narrative_cutoffs'
    """
    return _with_decider_edit(model_path, out, "presence", cutoffs)


def _with_decider_edit(model_path: str | Path, out: str | Path, part: str, cutoffs: dict[str, float]) -> str:
    """A copy of the model whose decider's ``part`` (``stance`` or ``presence``) holds ``cutoffs`` (none: removed)."""
    from narratives.model.artifact import DECIDER_FILES, verify_model_dir
    from narratives.model.loading import resolve_model
    from narratives.serve.decider import check_presence_cutoffs

    manifest = verify_model_dir(resolve_model(model_path))  # every file checked against its hash before anything is copied
    model_path = manifest["path"]
    d = manifest["config"].get("article_decider")
    if not isinstance(d, dict) or not isinstance(d.get(part), dict):
        what = "a stance part" if part == "stance" else "a presence part"
        raise ValueError(f"{model_path}: the model has no article decider with {what} to read at cutoffs "
                         "(fit one with `narratives decider fit`)")
    if part == "presence":
        check_presence_cutoffs(cutoffs, manifest["config"].get("labels"))
    files = {name: (Path(model_path) / name).read_bytes() for name in DECIDER_FILES if name in manifest["files"]}
    return attach_decider(model_path, with_cutoffs(d, part, cutoffs), out, files)  # checks the cutoffs before writing


def with_cutoffs(d: dict, part: str, cutoffs: Mapping[str, float]) -> dict:
    """The decider ``d`` with the cutoffs of its ``part`` (``stance``: per language; ``presence``: per narrative) set
    to ``cutoffs``, nothing else changed; ``{}`` leaves none (``d`` itself when it had none).

    >>> with_cutoffs({"presence": {"cutoff": 0.6}}, "presence", {"anti_western": 0.7})["presence"]
    {'cutoff': 0.6, 'cutoffs': {'anti_western': 0.7}}
    >>> d = {"stance": None}
    >>> with_cutoffs(d, "stance", {}) is d, with_cutoffs({"stance": {"C": 1.0, "cutoffs": {"en": 0.4}}}, "stance", {})
    (True, {'stance': {'C': 1.0}})
    """
    old = d.get(part) or {}
    if not cutoffs and "cutoffs" not in old:
        return d
    return {**d, part: {k: v for k, v in old.items() if k != "cutoffs"} | ({"cutoffs": dict(cutoffs)} if cutoffs else {})}


def attach_decider(model_path: str | Path, decider: dict | None, out: str | Path,
                   files: dict[str, bytes] | None = None) -> str:
    """Write a copy of the model directory at ``out`` (atomically) whose ``config.json`` holds ``decider``
    as ``article_decider`` (``None`` removes it) and whose decider files are ``files`` (any earlier ones are
    removed); returns the new model hash. The copy's weights are the same files, so only the article
    decision changes; its card names the new version and describes the decider."""
    from narratives.model.artifact import rewrite_config

    checked = check_decider(decider) if decider is not None else None

    def edit(config: dict) -> dict:
        config.pop("article_decider", None)
        return config if checked is None else {**config, "article_decider": checked}

    return rewrite_config(model_path, out, edit, lambda old, new: card_section(decider), decider_files=files or {})
