"""The article decider as a step of training: its settings (:class:`DeciderOptions`), the default for models
built like a shipped model that carries one (:data:`SHIPPED`), the articles it is fitted on (checked before any
model is fitted: :func:`plan_decider`) and the fit itself over a model's passage scores (:func:`fit_planned`,
run before the model directory is written, so a failed fit leaves every existing model as it was).

``narratives train``, ``narratives ensemble`` and ``narratives route`` fit it this way; ``narratives decider
fit`` uses the same plan and fit over a saved model.

>>> default_options(("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer"))).C
10.0
>>> default_options(("tfidf-logreg", ())) is None
True
>>> resolve_options("auto", ("tfidf-logreg", ())) is None, resolve_options(DeciderOptions(C=3), ("x", ())).C
(True, 3.0)
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .evidence import canonical_reference, evidence_model, evidence_settings
from .teamarticles import Article, ArticleError


class DeciderOptions(BaseModel):
    """How the article decider is fitted. ``real_dev``: ``True`` requires the real-page benchmark's dev half
    (an incomplete cache is an error), ``False`` leaves it out, ``None`` uses it when the cache holds every
    dev page and says so either way. ``real_pool``: the training pool of real pages (``data/real/train_*.jsonl``,
    labelled like the benchmark and never scored), off unless asked: cross-validated on the dev half and the
    pool together it did not help any shipped recipe, and a model fitted with ``--real-negatives`` has seen the
    pool's negative pages. ``stance_source``: ``passages`` (a logistic regression over the passages' stance
    scores) or ``article_text`` (:mod:`narratives.model.articlestance`, fitted on the articles that carry a
    narrative, the pool's pages with one included whenever the cache holds the pool, whatever ``real_pool``
    says; it needs the pool in the cache, since on team articles alone it was worse than ``passages``) or
    ``auto`` (``article_text`` when the cache holds the pool, else ``passages``, and the run says which: what the
    default's recipe uses). ``evidence``: a model reference (name, version or directory) whose passage scores
    and thresholds the decider reads instead of the model's own, pinned by its hash in the decider (``None``:
    the model's own); with ``evidence_optional`` (the shipped settings) a model that cannot be read or scores
    other narratives (one just added) gives way to the model's own scores, and the run says so; given on the
    command line it is an error. ``page_model``: the ``page`` presence feature (:mod:`narratives.train.pagemodel`,
    a page-level model fitted on the training pool with ``page_C``, over the embeddings of the model the decider
    reads): ``True`` requires the pool in the cache, ``None`` uses it when the cache holds the pool and says
    which, ``False`` leaves it out. ``page_narratives``: the page part also holds one page model per narrative, read
    by the ``page_narrative`` feature (with the page model only). ``page_blend``: with ``page_narratives``, the
    per-narrative page logits are not a decider feature but added, times this weight, to each narrative's presence
    logit after the decider (:mod:`narratives.serve.decider`, ``blend``). ``page_lexicon``: the page part also holds a
    page lexicon (:mod:`narratives.model.pagelexicon`, per-narrative models of the page's character n-grams, fitted on
    the same pool), read by the ``page_lexicon`` feature (with the page model only). ``stance_cutoffs``: detected language ->
    the stance probability at which an article in it promotes, instead of 0.5 (:mod:`narratives.serve.stancecutoffs`;
    read, not fitted; with the stance part only). ``presence_cutoffs``: narrative id -> the presence probability at
    which it is predicted, instead of ``cutoff`` (read, not fitted; :func:`narratives.serve.decider.presence_cutoff`;
    each a narrative of the model, checked by :func:`plan_decider` before anything is fitted). ``pool_stack``: the
    training pool's pages join the decider's fit, each scored out of fold (:mod:`narratives.train.poolstack`: the
    evidence model's heads, page model and page lexicon refitted without it); the cache must hold the pool. The
    test half is never read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    C: float = Field(default=10.0, gt=0)
    cutoff: float = Field(default=0.5, gt=0, lt=1)
    stance: bool = True
    stance_source: Literal["passages", "article_text", "auto"] = "passages"
    per_narrative: bool = True
    team_splits: tuple[Literal["train", "dev"], ...] = ("train", "dev")
    real_dev: bool | None = None
    real_pool: bool | None = False
    articles: Path | None = None
    real: Path | None = None
    evidence: str | None = None
    evidence_optional: bool = False
    page_model: bool | None = False
    page_C: float = Field(default=30.0, gt=0)
    page_narratives: bool = False
    page_blend: float | None = Field(default=None, ge=0)
    page_lexicon: bool = False
    pool_stack: bool = False
    stance_cutoffs: dict[str, float] = {}
    presence_cutoffs: dict[str, float] = {}

    @model_validator(mode="after")
    def _stance_cutoffs_need_a_stance_part(self) -> DeciderOptions:
        from narratives.serve.stancecutoffs import check_stance_cutoffs

        check_stance_cutoffs({"cutoffs": self.stance_cutoffs})
        if self.stance_cutoffs and not self.stance:
            raise ValueError("stance_cutoffs: they are read on the stance part's probability; fit one too (--stance)")
        return self

    @model_validator(mode="after")
    def _presence_cutoffs_are_probabilities(self) -> DeciderOptions:
        from narratives.serve.decider import check_presence_cutoffs

        check_presence_cutoffs(self.presence_cutoffs)
        return self

    @model_validator(mode="after")
    def _page_narratives_need_the_page_model(self) -> DeciderOptions:
        if self.page_narratives and self.page_model is False:
            raise ValueError("page_narratives: the per-narrative page models are part of the page model; "
                             "ask for it too (--page-model)")
        if self.page_lexicon and self.page_model is False:
            raise ValueError("page_lexicon: the page lexicon is part of the page model; ask for it too (--page-model)")
        if self.page_blend is not None and not self.page_narratives:
            raise ValueError("page_blend: it weighs the per-narrative page models; ask for them too (--page-narratives)")
        return self

    @model_validator(mode="after")
    def _pool_stack_alone(self) -> DeciderOptions:
        if self.pool_stack and self.real_pool:
            raise ValueError("pool_stack: the pool's pages would be in the fit twice, once scored by models fitted on "
                             "them (--real-pool); ask for one")
        if self.pool_stack and self.page_narratives:
            raise ValueError("pool_stack: the stacked rows carry the page model's and page lexicon's logits, not "
                             "per-narrative page models (--page-narratives)")
        return self


# What a plan sets when the page model is not fitted: its page lexicon, part of it, goes too.
NO_PAGE_MODEL = {"page_model": False, "page_lexicon": False}

# Why ``article_text`` needs the training pool: `narratives decider cv e5-real --C 10 --cutoff 0.5 --stance
# --team-split train --team-split dev --stance-source article_text` with a cache of the dev half only.
TEAM_ONLY_TEXT_STANCE = "0.689 against 0.730 with the passages"

Signature = tuple[str, tuple[str, ...]]  # a model's kind and its members' kinds (sorted; empty for a fitted kind)

# The shipped models that carry a decider, by how they are built, with the settings chosen for each on the real
# pages' dev half (README, "Article decider"); tests/train/test_deciderplan.py checks them against their config.json.
SHIPPED: dict[Signature, tuple[str, DeciderOptions]] = {
    ("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer")): (
        "ensemble-int8", DeciderOptions(C=10.0, cutoff=0.6, stance_source="auto", evidence="e5-real",
                                        evidence_optional=True, page_model=None, page_lexicon=True)),
    ("ensemble", ("e5-lora", "tfidf-logreg")): ("e5-lean", DeciderOptions(C=3.0, cutoff=0.6)),
    ("routed", ("frozen-embedding", "tfidf-logreg")): ("multilingual", DeciderOptions(C=10.0, cutoff=0.5)),
}

class DeciderRequest(BaseModel):
    """What a command line asked for: ``fit`` True (a decider, the model's default settings or
    :class:`DeciderOptions`' own), False (none) or None (the model's default, if it has one), with
    ``settings`` over those (a :class:`DeciderOptions` field each).

    >>> from pydantic import ValidationError
    >>> try:
    ...     DeciderRequest(fit=False, settings={"C": 3.0})
    ... except ValidationError as exc:
    ...     print(exc.errors()[0]["msg"])
    Value error, --no-decider takes no decider settings (got C)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    fit: bool | None = None
    settings: dict[str, Any] = {}

    @model_validator(mode="after")
    def _consistent(self) -> DeciderRequest:
        if self.fit is False and self.settings:
            raise ValueError(f"--no-decider takes no decider settings (got {', '.join(self.settings)})")
        # each setting checked now, before any work; whether the page model is on is the model's default until
        # merged (resolve_options), so settings that need it are not refused here for want of it
        DeciderOptions.model_validate({"page_model": None, **self.settings})
        return self


Choice = DeciderOptions | DeciderRequest | Literal["auto"] | None


def default_options(signature: Signature) -> DeciderOptions | None:
    """The decider settings of the shipped model built the same way, or ``None`` (no default decider)."""
    hit = SHIPPED.get(signature)
    return hit[1] if hit else None


def resolve_options(choice: Choice, signature: Signature) -> DeciderOptions | None:
    """``"auto"``: the default for ``signature``; ``None``: no decider; options: those; a
    :class:`DeciderRequest`: as it says (a ValueError when it gives settings for a model without a default
    decider and does not ask for one)."""
    if not isinstance(choice, DeciderRequest):
        return default_options(signature) if choice == "auto" else choice
    if choice.fit is False:
        return None
    base = default_options(signature)
    if base is None and not choice.fit:
        if choice.settings:
            raise ValueError(f"a {signature[0]} model has no default article decider; add --decider to fit one "
                             f"with {', '.join(choice.settings)}")
        return None
    merged = {**(base or DeciderOptions()).model_dump(), **choice.settings}
    if choice.settings.get("page_model") is False and "page_lexicon" not in choice.settings:
        merged.update(NO_PAGE_MODEL)  # --no-page-model over a default with a lexicon: the lexicon, part of it, goes too
    return DeciderOptions.model_validate(merged)


def fit_settings(clf, given: dict[str, Any], evidence: str | None = None) -> DeciderOptions:
    """The settings ``narratives decider fit`` uses over a saved model: those ``given`` (``None`` = not given)
    and ``evidence`` (:func:`evidence_settings`) over what training would use for a model built like ``clf``
    (:func:`resolve_options` with a decider asked for), so a refit decider is the one training would have fitted.

    >>> class M: config_ = {"kind": "tfidf-logreg"}
    >>> class E: kind, members_ = "ensemble", {"a": M()}
    >>> fit_settings(E(), {"C": 3.0, "cutoff": None}).model_dump(include={"C", "cutoff", "team_splits"})
    {'C': 3.0, 'cutoff': 0.5, 'team_splits': ('train', 'dev')}
    """
    settings = {k: v for k, v in given.items() if v is not None} | evidence_settings(evidence)
    options = resolve_options(DeciderRequest(fit=True, settings=settings), signature_of(clf))
    assert options is not None  # fit=True always gives settings
    return options


def signature_of(clf) -> Signature:
    """The :data:`Signature` of a fitted or built model (a combined model's members' kinds).

    >>> class M: config_ = {"kind": "tfidf-logreg"}
    >>> class E: kind, members_ = "ensemble", {"a": M()}
    >>> signature_of(E())
    ('ensemble', ('tfidf-logreg',))
    """
    members = [*getattr(clf, "members_", {}).values()]
    if getattr(clf, "fallback_", None) is not None:
        members.append(clf.fallback_)
    return str(clf.kind), tuple(sorted({str(m.config_["kind"]) for m in members}))


def training_articles(narratives: tuple[str, ...], articles: Path | None, team_splits, real_dev: bool,
                      real: Path | None, real_pool: bool | None = False) -> tuple[list[Article], list[Article], str | None]:
    """``(team articles of team_splits and, with real_pool, the real training pool's pages, the real pages' dev
    half or [], its references digest or None)``; ``real_pool`` None takes the pool when the cache holds it
    all; raises ``ArticleError``, ``CacheError`` (naming every missing page) or ``ReferenceError``.
    Cross-validation folds over the dev half only: the first list is in every fold's fit."""
    from .decidercv import real_articles
    from .teamarticles import load_articles

    team = [a for a in load_articles(articles, narratives) if a.split in team_splits]
    pool = _real_pages(real_pool, real, "train")[0] if real_pool is not False else []
    found, digest = real_articles(real, "dev") if real_dev else ([], None)
    return team + pool, found, digest


def stance_pool_pages(team: list[Article], real: Path | None) -> list[Article]:
    """The training pool's pages that carry a narrative, for the article stance model, when ``team`` does not
    already hold the pool and the cache holds it all (else none: the model is fitted without them)."""
    if any(a.split == "real-train" for a in team):
        return []
    return [a for a in _real_pages(None, real, "train")[0] if a.labels]


@dataclass(frozen=True)
class DeciderPlan:
    """Settings and the articles they apply to, checked; ``real_dev_note`` says why the dev half is unused."""

    options: DeciderOptions
    team: list[Article]
    real: list[Article]
    digest: str | None
    real_dev_note: str | None
    pool: tuple[Article, ...] = ()
    pool_digest: str | None = None
    pool_note: str | None = None
    stance_pool: tuple[Article, ...] = ()  # pool pages for the article stance model only (see DeciderOptions)
    page_pool: tuple[Article, ...] = ()  # pool pages for the page model only, with their references digest
    page_pool_digest: str | None = None
    stack_pool: tuple[Article, ...] = ()  # pool pages the decider is fitted on out of fold (pool_stack)
    stack_digest: str | None = None

    def stance_articles(self) -> list[Article]:
        """The articles the article stance model is fitted on: the team articles and the training pool's pages
        that carry a narrative; never the benchmark's dev half (see :func:`narratives.train.decidercv.cross_validate`),
        which so stays a held-out measure of it."""
        return [a for a in self.team + list(self.pool or self.stance_pool) if a.labels]

    def provenance(self, base_model_hash: str | None = None) -> dict:
        """What the decider's ``fitted_on`` records about its data (settings are recorded by the fit)."""
        from .decider import articles_digest

        p: dict = {"articles_sha256": articles_digest(self.team), "n_articles": len(self.team),
                   "split": ",".join(sorted(set(self.options.team_splits)))}
        if base_model_hash:
            p["base_model_hash"] = base_model_hash
        if self.real:
            p.update(real_dev_pages=len(self.real), real_dev_references_sha256=self.digest)
        elif self.real_dev_note:
            p["real_dev_skipped"] = self.real_dev_note
        if self.pool:
            p.update(real_pool_pages=len(self.pool), real_pool_references_sha256=self.pool_digest)
        elif self.pool_note:
            p["real_pool_skipped"] = self.pool_note
        if self.stack_pool:
            p["pool_stacked"] = {"pages": len(self.stack_pool), "references_sha256": self.stack_digest}
        if self.options.stance and self.options.stance_source == "article_text":
            p["stance_articles_sha256"] = articles_digest(self.stance_articles())
            if self.stance_pool:
                p["stance_pool_pages"] = len(self.stance_pool)
        return p

    def page_provenance(self) -> dict:
        """What the page part's ``fitted_on`` records about its pages."""
        return {"references_sha256": self.page_pool_digest, "split": "real-train"}


def _check_classes(arts: list[Article], options: DeciderOptions, where: str) -> None:
    if not any(a.labels for a in arts):
        raise ArticleError(f"{where}: the article decider needs articles that carry a narrative, and none of the "
                           f"{len(arts)} selected does; pass --articles FILE_OR_DIR, or --no-decider")
    stances = {s for a in arts for s in a.labels.values()}
    if options.stance and len(stances) < 2:
        raise ArticleError(f"{where}: the decider's stance part needs articles that promote and articles that "
                           f"report a narrative, found only {sorted(stances)}; pass --articles FILE_OR_DIR, or "
                           "--no-decider")


def plan_decider(options: DeciderOptions, narratives: tuple[str, ...], log=sys.stderr) -> DeciderPlan:
    """Load and check the articles the decider will be fitted on, before any model is fitted, and say on
    ``log`` which data it uses (and why the real pages' dev half is left out when it is)."""
    from narratives.serve.decider import check_presence_cutoffs

    check_presence_cutoffs(options.presence_cutoffs, narratives)  # a cutoff for a narrative the model lacks: before any fit
    where = str(options.articles or "data/articles")
    try:
        team = training_articles(narratives, options.articles, options.team_splits, False, None)[0]
    except ArticleError as exc:
        raise ArticleError(f"the article decider cannot be fitted on {where} (pass --articles FILE_OR_DIR with "
                           f"articles labelled in this taxonomy, or --no-decider): {exc}") from None
    real, digest, note = _real_pages(options.real_dev, options.real, "dev")
    pool, pool_digest, pool_note = _real_pages(options.real_pool, options.real, "train")
    by_text = options.stance and options.stance_source in ("article_text", "auto")
    asked = True if options.stance_source == "article_text" else None  # explicit: an incomplete cache is an error
    stance_pool = _real_pages(asked, options.real, "train") if by_text and not pool else ([], None, None)
    _check_classes(team + real + pool, options, where)
    print(_data_line(f"{len(team)} team articles ({'+'.join(options.team_splits)} split of {where})",
                     [(real, note, "the benchmark's dev half", "--no-real-dev"),
                      (pool, pool_note, "the training pool", "--no-real-pool")]), file=log)
    pooled = sum(bool(a.labels) for a in pool or stance_pool[0])
    if by_text and not pooled and asked:
        raise ArticleError(f"--stance-source article_text: no page of the real training pool carries a narrative "
                           f"({options.real or 'data/real'}); pass --stance-source passages or auto")
    if by_text and not pooled:
        options = options.model_copy(update={"stance_source": "passages"})
        why = stance_pool[2] or "none of its pages carries a narrative"
        print(f"article stance model: not fitted, the training pool not used ({why}): the stance part reads the "
              f"passages instead (a text model of the team articles alone was worse on the dev half: stance "
              f"{TEAM_ONLY_TEXT_STANCE} out of fold, e5-real)", file=log)
    elif by_text:
        options = options.model_copy(update={"stance_source": "article_text"})
        carrying = sum(bool(a.labels) for a in team)
        print(f"article stance model: fitting on the {carrying} team articles that carry a narrative and the "
              f"{pooled} pages of the real training pool that do (never the benchmark's dev half)", file=log)
    resolved = _resolve_evidence(options, narratives, log)
    if options.evidence and not resolved.evidence and options.page_model is None:
        print("page model: not fitted (it reads the embeddings of the evidence model, which gave way)", file=log)
        resolved = resolved.model_copy(update=NO_PAGE_MODEL)
    options, page_pool, page_digest = _plan_page_model(resolved, bool(pool), narratives, log)
    stack: list[Article] = []
    stack_digest: str | None = None
    if options.pool_stack:  # the page model's pool when it has one: the same pages, read from the cache once
        stack, stack_digest = (page_pool, page_digest) if page_pool else _real_pages(True, options.real, "train")[:2]
    if stack:
        print(f"article decider: also fitting on the {len(stack)} pages of the training pool, each scored by the "
              "evidence model's heads, page model and page lexicon refitted without its fold", file=log)
    uncarried = [n for n in narratives if not any(n in a.labels for a in team + real + pool + stack)]
    if uncarried:
        print(f"warning: no article carries {', '.join(uncarried)}: the decider learns nothing of it and decides "
              "it by the other narratives' pooled weights, with no offset of its own; write team articles that "
              "carry it (data/articles) before relying on `score` for it, or fit with --no-decider", file=log)
    return DeciderPlan(options, team, real, digest, note, tuple(pool), pool_digest if pool else None, pool_note,
                       tuple(a for a in stance_pool[0] if a.labels), tuple(page_pool), page_digest, tuple(stack),
                       stack_digest)


def _plan_page_model(options: DeciderOptions, pool_in_fit: bool, narratives: tuple[str, ...],
                     log) -> tuple[DeciderOptions, list[Article], str | None]:
    """The pool pages the page model is fitted on and their digest, with ``page_model`` resolved to True or
    False (said on ``log``); an error where it is required and cannot be fitted. Its page lexicon, when asked, is
    checked the same way: it needs a narrative that enough of the pool's pages carry and enough do not."""
    if options.page_model is False:
        return options, [], None
    required = options.page_model is True
    why = None
    if pool_in_fit:
        why = ("the training pool is in the decider's fit (--real-pool), and the page model, fitted on the pool, "
               "would give its pages in-sample logits")
        pages: list[Article] = []
        digest = None
    else:
        pages, digest, why = _real_pages(True if required else None, options.real, "train")
        if pages and (all(a.labels for a in pages) or not any(a.labels for a in pages)):
            why, pages = "the training pool holds pages of one kind only (with and without a narrative are needed)", []
    if not pages:
        if required:
            raise ArticleError(f"--page-model: {why}")
        print(f"page model: not fitted ({why})", file=log)
        return options.model_copy(update=NO_PAGE_MODEL), [], None
    from .pagemodel import MIN_CARRYING, lexicon_narratives

    if options.page_lexicon and not lexicon_narratives(pages, narratives):
        why = (f"no narrative is carried by at least {MIN_CARRYING} pages of the pool and absent from as many, as a "
               "page lexicon needs")
        if options.page_model is True:
            raise ArticleError(f"--page-lexicon: {why}")
        print(f"page lexicon: not fitted ({why})", file=log)
        options = options.model_copy(update={"page_lexicon": False})
    print(f"page model: fitting on the {len(pages)} pages of the real training pool ({sum(bool(a.labels) for a in pages)} "
          f"carry a narrative; C {options.page_C}{'; with its page lexicon' if options.page_lexicon else ''}; never "
          "the benchmark's pages)", file=log)
    return options.model_copy(update={"page_model": True}), pages, digest


def _resolve_evidence(options: DeciderOptions, narratives: tuple[str, ...], log) -> DeciderOptions:
    """Check the evidence model before any fitting: readable and scoring ``narratives`` in order, else an error
    (given) or the model's own scores, said on ``log`` (the shipped settings)."""
    if not options.evidence:
        return options
    try:
        scorer = evidence_model(options.evidence, narratives)
    except ValueError as exc:  # ModelLoadError too
        if not options.evidence_optional:
            raise ArticleError(str(exc)) from None
        print(f"article decider: reading the model's own passage scores, not {options.evidence}'s ({exc}); "
              f"retrain {options.evidence} on these labels and refit with `narratives decider fit MODEL --evidence "
              "NEW_VERSION`", file=log)
        return options.model_copy(update={"evidence": None})
    print(f"article decider: reading the passage scores of {options.evidence} ({scorer.model_hash_[:12]}), "
          "not the model's own", file=log)
    return options


def _data_line(team: str, parts: list[tuple[list[Article], str | None, str, str]]) -> str:
    """The one line that says what the decider is fitted on, and why any real pages are left out.

    >>> _data_line("3 team articles", [([], "not asked (--no-real-dev)", "the dev half", "--no-real-dev")])
    'article decider: fitting on 3 team articles only; the dev half not used: not asked (--no-real-dev)'
    """
    used = [(f"the {len(found)} real pages of {what}", flag) for found, _, what, flag in parts if found]
    fill = " (fill it with `narratives real fill` or `narratives real put`)"
    unused = [f"{what} not used: {why}" + (fill if "cache" in str(why) else "") for found, why, what, _ in parts
              if not found and why]
    line = f"article decider: fitting on {team}"
    if used:
        line += (" and " + " and ".join(u for u, _ in used) + " (the cache holds them all; "
                 + " and ".join(f for _, f in used) + " leave" + ("s" if len(used) == 1 else "")
                 + " them out; the test half is never read)")
    else:
        line += " only"
    if unused:
        line += "; " + "; ".join(unused)
    return line


def _real_pages(asked: bool | None, path: Path | None, split: str) -> tuple[list[Article], str | None, str | None]:
    """``(pages, digest, why unused)`` of the real pages of ``split`` for the decider: ``asked`` False leaves
    them out, True makes an incomplete cache an error, None uses them when the cache holds them all."""
    from .decidercv import real_articles
    from .realcache import CacheError

    what = "the dev half" if split == "dev" else "the training pool"
    if asked is False:
        return [], None, "not asked (--no-real-dev)" if split == "dev" else "not asked (--real-pool adds it)"
    try:
        found, digest = real_articles(path, split)
    except CacheError as exc:
        if asked:
            raise
        return [], None, f"the real-page cache lacks {len(exc.missing)} page(s) of {what}"
    return (found, digest, None) if found else ([], None, f"no real-page references in {what}")


@dataclass(frozen=True)
class FittedDecider:
    """A fitted decider: its ``config`` (``config.json``'s ``article_decider``) and its hashed ``files``
    (the article stance model's, or none), saved together."""

    config: dict
    files: dict[str, bytes]
    article_stance: Any = None
    page_lexicon: Any = None


def fit_planned(clf, plan: DeciderPlan, base_model_hash: str | None = None) -> FittedDecider:
    """The decider fitted over ``clf``'s passage scores of the planned articles (JSON-ready, checked), with
    the article stance model when its settings ask for one.

    >>> fit_planned.__name__
    'fit_planned'
    """
    from .decider import fit_decider, score_articles_passages, with_cutoffs

    o = plan.options
    scorer = evidence_model(o.evidence, clf.labels_) if o.evidence else clf
    if plan.stack_pool:
        from .poolstack import check_refittable

        check_refittable(scorer)  # before any scoring
    fitted_on = plan.team + plan.real + list(plan.pool)
    scored = score_articles_passages(scorer, fitted_on)
    stance_model = fit_article_stance(plan.stance_articles()) if o.stance and o.stance_source == "article_text" else None
    page = pages = lexicon = None
    if o.page_model:
        from .pagemodel import blended, fit_page_lexicon, fit_page_model, page_logits

        page = fit_page_model(scorer, plan.page_pool, o.page_C, plan.page_provenance(),
                              narratives=list(clf.labels_) if o.page_narratives else ())
        if o.page_blend is not None:
            page = blended(page, o.page_blend)
        if o.page_lexicon:
            lexicon = fit_page_lexicon(plan.page_pool, list(clf.labels_))
            page = {**page, "lexicon": lexicon.settings()}
        pages = page_logits(page, scorer, fitted_on, lexicon)
    stacked = None
    if plan.stack_pool:
        from .poolstack import cross_fit, team_passages

        stacked = cross_fit(scorer, plan.stack_pool, team_passages(o.real), o.page_C if o.page_model else None,
                            o.page_lexicon)
        scored = scored + stacked.scored
        pages = None if pages is None else pages + (stacked.pages or [])
    d = fit_decider(scored, list(clf.labels_), dict(scorer.thresholds_), cutoff=o.cutoff, C=o.C, stance=o.stance,
                    provenance=plan.provenance(base_model_hash), per_narrative=o.per_narrative,
                    article_stance=stance_model, page=page, pages=pages)
    if stacked is not None:
        d["fitted_on"]["pool_stacked"].update(stacked.provenance)
    if o.evidence:
        d["evidence"] = {"model": canonical_reference(o.evidence), "model_hash": scorer.model_hash_}
    # read, not fitted (the presence cutoffs' narratives checked by plan_decider)
    d = with_cutoffs(with_cutoffs(d, "stance", o.stance_cutoffs), "presence", o.presence_cutoffs)
    files = {**(stance_model.files() if stance_model else {}), **(lexicon.files() if lexicon else {})}
    return FittedDecider(d, files, stance_model, lexicon)


def fit_article_stance(articles: list[Article]):
    """The article stance model fitted on ``articles`` (each carries a narrative; promotes when any is promoted).

    >>> from narratives.train.teamarticles import Article
    >>> arts = [Article(str(i), t, "en", {"a": s}, "x", "train", "f:1") for i, (t, s) in
    ...         enumerate([("they claim the brothers lie", "reports"), ("the brothers stand forever", "promotes")])]
    >>> fit_article_stance(arts).n_promotes_
    1
    """
    from narratives.model.articlestance import ArticleStance

    from .realeval import page_stance

    return ArticleStance().fit([a.text for a in articles], [int(page_stance(a.labels) == "promotes") for a in articles])
