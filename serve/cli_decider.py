"""``narratives decider``: fit the article decider on team-written articles and attach it to a model.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(decider, ["--help"]).exit_code
0
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_options import EVIDENCE_HELP
from .cli_train import PAGE_MODEL, STANCE_SOURCE


@click.group()
def decider() -> None:
    """The article decision as a calibrated step (see narratives.serve.decider): fitted on whole team-written
    articles (data/articles/*.jsonl), stored in the model's config.json, so it is part of its version."""


TEAM_SPLIT = click.option("--team-split", "team_splits", multiple=True, type=click.Choice(["train", "dev"]),
                          default=("train",), show_default=True,
                          help="Which splits of the team-written articles to fit on (repeat for both).")
PER_NARRATIVE = click.option("--per-narrative/--pooled", default=True, show_default=True,
                             help="Fit an offset per narrative (else one set of weights for all narratives).")
REAL = click.option("--real", "real_path", type=click.Path(exists=True, path_type=Path), default=None,
                    help="Real-page reference file or folder [default: data/real].")


def _source(source: str) -> str:
    return "auto (the article text when the cache holds the training pool, else the passages)" if source == "auto" \
        else source


def _errors() -> tuple[type[Exception], ...]:
    from narratives.model.artifact import ModelLoadError
    from narratives.train.realcache import CacheError
    from narratives.train.realpages import ReferenceError
    from narratives.train.teamarticles import ArticleError

    return (ArticleError, CacheError, ReferenceError, ModelLoadError, ValueError, FileNotFoundError)


POOL_STACK = click.option(
    "--pool-stack/--no-pool-stack", default=None,
    help="Also fit the decider on the real training pool's pages, each scored out of fold: by the evidence model's "
         "heads, the page model and the page lexicon refitted without its fold (5 folds; the evidence model must be "
         "a frozen-embedding model, e.g. e5-real; the cache must hold the pool). The shipped models stay as they are "
         "[default: decider fit, as for training; decider cv, no].")


@decider.command("fit")
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Model directory to write: a copy of MODEL with the decider in its config.json.")
@click.option("--articles", type=click.Path(path_type=Path), default=None,
              help="Article file or folder [default: data/articles].")
@click.option("--cutoff", default=None, type=click.FloatRange(0.01, 0.99),
              help="Probability at which a narrative is predicted (choose it with `narratives decider cv`) "
                   "[default: as for training: the shipped model's for one built like it, else 0.5].")
@click.option("--C", "C", default=None, type=click.FloatRange(min=1e-4),
              help="L2 inverse strength [default: as for training: the shipped model's for one built like it, else 10].")
@click.option("--stance/--no-stance", default=None,
              help="Also fit the article-level stance part (else the passage stance rule stays) [default: yes].")
@click.option("--team-split", "team_splits", multiple=True, type=click.Choice(["train", "dev"]),
              help="Which splits of the team-written articles to fit on (repeat for both) [default: as for "
                   "training, train and dev].")
@click.option("--real-dev/--no-real-dev", default=None,
              help="Also fit on the real-page benchmark's dev half (text from the local cache; the test half is "
                   "never read) [default: as for training, when the cache holds every dev page; it says which].")
@click.option("--real-pool/--no-real-pool", default=None,
              help="Also fit on the real training pool (data/real/train_*.jsonl, text from the local cache) "
                   "[default: as for training, no].")
@REAL
@click.option("--per-narrative/--pooled", default=None,
              help="Fit an offset per narrative (else one set of weights for all narratives) [default: per narrative].")
@STANCE_SOURCE
@PAGE_MODEL
@click.option("--page-narratives/--no-page-narratives", default=None,
              help="With the page model, also fit one page model per narrative, read by the page_narrative feature "
                   "[default: as for training, no].")
@click.option("--page-blend", type=click.FloatRange(min=0), default=None, metavar="W",
              help="With --page-narratives, add W times each narrative's page logit to its presence logit after the "
                   "decider, instead of reading it as a decider feature [default: as for training, not so].")
@click.option("--page-lexicon/--no-page-lexicon", default=None,
              help="With the page model, also fit a page lexicon (per narrative, a logistic regression over the page's "
                   "character n-grams, on the same training pool), read by the page_lexicon feature [default: as for "
                   "training].")
@click.option("--evidence", default=None, metavar="MODEL", help=EVIDENCE_HELP)
@click.option("--stance-cutoff", "stance_cutoffs", multiple=True, metavar="LANG=P",
              help="Read the stance part's probability at P for articles detected as LANG (en, ru, sr-Cyrl, hbs-Latn, "
                   "...): they promote when it reaches P, not 0.5 (repeat, or comma-separate) [default: as for "
                   "training].")
@click.option("--narrative-cutoff", "narrative_cutoffs", multiple=True, metavar="NARRATIVE=P",
              help="Predict NARRATIVE when its presence probability reaches P instead of --cutoff (repeat, or "
                   "comma-separate; read, not fitted: choose them with `narratives decider cv --narrative-cutoffs` or "
                   "benchmarks/narrative_cutoffs.py) [default: as for training].")
@POOL_STACK
def decider_fit(model, out, articles, cutoff, C, stance, team_splits, real_dev, real_pool, real_path, per_narrative,
                stance_source, page_model, page_narratives, page_blend, page_lexicon, evidence, stance_cutoffs,
                narrative_cutoffs, pool_stack):
    """Score the team articles (and the real pages' dev half) with MODEL, fit the decider, and write MODEL plus
    the decider to --out (a new model version; the weights are unchanged). Prints the decider.

    Every setting not given is what `narratives train` would use for a model built like MODEL (the shipped
    model's settings for one built like it, e.g. C 10 and cutoff 0.5 for the default's recipe; else C 10,
    cutoff 0.5), so refitting a decider over a saved model gives the one training would have fitted."""
    from narratives.model import load_model
    from narratives.train.decider import attach_decider
    from narratives.train.deciderplan import fit_planned, fit_settings, plan_decider

    given = {"C": C, "cutoff": cutoff, "stance": stance, "per_narrative": per_narrative,
             "team_splits": tuple(team_splits) or None, "real_dev": real_dev, "real_pool": real_pool, "articles": articles,
             "real": real_path, "stance_source": stance_source, "page_model": page_model,
             "page_narratives": page_narratives, "page_blend": page_blend, "page_lexicon": page_lexicon,
             "pool_stack": pool_stack,
             "stance_cutoffs": _cutoffs(stance_cutoffs) if stance_cutoffs else None,
             "presence_cutoffs": _narrative_cutoffs(narrative_cutoffs) if narrative_cutoffs else None}
    try:
        clf = load_model(model)
        options = fit_settings(clf, given, evidence)
        click.echo(f"decider settings: C {options.C}, cutoff {options.cutoff}, team splits "
                   f"{'+'.join(options.team_splits)}, real dev {'auto' if options.real_dev is None else options.real_dev}, "
                   f"stance from {_source(options.stance_source) if options.stance else 'the passage rule'}, passage "
                   f"scores of {options.evidence or 'the model itself'}, page model "
                   f"{'auto (when the cache holds the training pool)' if options.page_model is None else options.page_model}"
                   + (", per narrative too" if options.page_narratives else "")
                   + (", with its page lexicon" if options.page_lexicon else "")
                   + (", the training pool stacked out of fold" if options.pool_stack else "")
                   + (f", blended at weight {options.page_blend}" if options.page_blend is not None else "")
                   + (f", stance cutoffs {_cutoffs_text(options.stance_cutoffs)}" if options.stance_cutoffs else "")
                   + (f", narrative cutoffs {_cutoffs_text(options.presence_cutoffs)}" if options.presence_cutoffs
                      else ""),
                   err=True)
        fitted = fit_planned(clf, plan_decider(options, tuple(clf.labels_), log=sys.stderr), clf.model_hash_)
        h = attach_decider(clf.path_, fitted.config, out, fitted.files)
    except _errors() as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(fitted.config, indent=1))
    click.echo(f"wrote {out} (model hash {h[:12]})")


def _cutoffs(specs, param_hint: str = "--stance-cutoff") -> dict[str, float]:
    from .stancecutoffs import parse_cutoffs

    try:
        return parse_cutoffs(specs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


def _narrative_cutoffs(specs, param_hint: str = "--narrative-cutoff") -> dict[str, float]:
    from .decider import check_presence_cutoffs
    from .stancecutoffs import parse_pairs

    try:
        return check_presence_cutoffs(parse_pairs(specs, "narrative cutoff", "NARRATIVE", "anti_western=0.7"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


def _cutoffs_text(cutoffs: dict[str, float]) -> str:
    return ",".join(f"{lang}={p}" for lang, p in cutoffs.items()) or "none"


@decider.command("stance-cutoffs")
@click.argument("model")
@click.argument("cutoffs", nargs=-1, metavar="LANG=P...")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Model directory to write: a copy of MODEL whose decider reads its stance at these cutoffs.")
def decider_stance_cutoffs(model, cutoffs, out):
    """Write a copy of MODEL whose article decider reads its stance probability at per-language cutoffs: an article
    detected as LANG promotes when the probability reaches P instead of 0.5 (no LANG=P: back to 0.5 everywhere).
    Nothing is refitted; the copy is a new version. Choose cutoffs with `narratives decider cv --stance-cutoff`.

    Example: narratives decider stance-cutoffs ensemble-int8 en=0.4 --out my-model"""
    from narratives.train.decider import set_stance_cutoffs

    _write_copy(set_stance_cutoffs, model, _cutoffs(cutoffs, "LANG=P"), out, "stance cutoffs")


@decider.command("narrative-cutoffs")
@click.argument("model")
@click.argument("cutoffs", nargs=-1, metavar="NARRATIVE=P...")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Model directory to write: a copy of MODEL whose decider predicts each narrative at its cutoff.")
def decider_narrative_cutoffs(model, cutoffs, out):
    """Write a copy of MODEL whose article decider predicts NARRATIVE when its presence probability reaches P instead
    of the decider's one cutoff (no NARRATIVE=P: back to the one cutoff for all). Nothing is refitted; the copy is a new
    version. Choose cutoffs with benchmarks/narrative_cutoffs.py or `narratives decider cv --narrative-cutoffs`.

    Example: narratives decider narrative-cutoffs ensemble-int8 genocide_denial=0.4 anti_western=0.7 --out my-model"""
    from narratives.train.decider import set_narrative_cutoffs

    _write_copy(set_narrative_cutoffs, model, _narrative_cutoffs(cutoffs, "NARRATIVE=P"), out, "narrative cutoffs")


def _write_copy(set_cutoffs, model, parsed: dict[str, float], out, what: str) -> None:
    """Write the copy of ``model`` that ``set_cutoffs`` makes at ``out`` and say so (an error names what failed)."""
    try:
        h = set_cutoffs(model, parsed, out)
    except _errors() as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out} (model hash {h[:12]}; {what} {_cutoffs_text(parsed)})")


@decider.command("cv")
@click.argument("model")
@click.option("--articles", type=click.Path(path_type=Path), default=None,
              help="Article file or folder [default: data/articles].")
@click.option("--C", "Cs", multiple=True, type=click.FloatRange(min=1e-4), default=(0.3, 1.0, 3.0),
              show_default=True, help="Values of C to try (repeat).")
@click.option("--cutoff", "cutoffs", multiple=True, type=click.FloatRange(0.01, 0.99),
              default=(0.3, 0.35, 0.4, 0.45, 0.5), show_default=True, help="Cutoffs to try (repeat).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 50),
              help="Number of groups the dev pages are cut into (each decided by a decider that never saw it).")
@click.option("--fold-seeds", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Cut the dev pages into folds this many ways (seeds 0, 1, ...) and print each figure's mean.")
@click.option("--stance/--no-stance", "stances", default=None,
              help="Only settings with (or without) the stance part [default: both].")
@PER_NARRATIVE
@TEAM_SPLIT
@click.option("--real-pool/--no-real-pool", default=None,
              help="Put the real training pool (data/real/train_*.jsonl) in every fold's fit (an incomplete cache is "
                   "an error) [default: no].")
@REAL
@click.option("--stance-source", "stance_sources", multiple=True, type=click.Choice(["passages", "article_text"]),
              default=("passages",), show_default=True,
              help="Where the stance part reads an article's stance (repeat to compare; article_text fits the "
                   "article stance model in every fold, with the real training pool when the cache holds it).")
@click.option("--page-model", "page_models", multiple=True, type=click.Choice(["off", "on", "narratives", "blend", "lexicon"]),
              default=("off",), show_default=True,
              help="Without or with the page feature (repeat to compare; on fits the page model once on the real "
                   "training pool, which the cache must hold, in the embedding space of the model the decider reads; "
                   "narratives adds the per-narrative page models and their page_narrative feature; blend adds them "
                   "to the decider's logit at weight 1, as decider fit --page-blend 1 does; lexicon adds the page "
                   "lexicon and its page_lexicon feature, as decider fit --page-lexicon does).")
@click.option("--evidence", default=None, metavar="MODEL",
              help="Decide from MODEL's passage scores and thresholds, as a decider fitted with --evidence MODEL "
                   "does (the passage-rule and no-stance rows then read MODEL's passages too, where serving shows "
                   "the model's own) [default: own, the model's own].")
@click.option("--stance-cutoff", "stance_cutoffs", multiple=True, metavar="LANG=P|none", default=("none",),
              show_default=True,
              help="Per-language cutoffs to read the stance part at (repeat to compare, e.g. --stance-cutoff none "
                   "--stance-cutoff en=0.4; comma-separate languages in one).")
@click.option("--narrative-cutoffs", "narrative_cutoffs", multiple=True, metavar="NARRATIVE=P,...|none",
              default=("none",), show_default=True,
              help="Per-narrative presence cutoffs to read each fold's decider at, instead of --cutoff for those "
                   "narratives (repeat to compare, e.g. --narrative-cutoffs none --narrative-cutoffs "
                   "genocide_denial=0.4,anti_western=0.7).")
@POOL_STACK
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Also write the rows here.")
def decider_cv(model, articles, Cs, cutoffs, folds, fold_seeds, stances, per_narrative, team_splits, real_pool,
               real_path, stance_sources, page_models, evidence, stance_cutoffs, narrative_cutoffs, pool_stack, json_out):
    """Cross-validate decider settings on the real pages' dev half (fitted on the team articles plus the
    other folds of the dev pages; see narratives.train.decidercv) and print them, best first, beside the
    passage rule (decider none). The test half is never read."""
    from narratives.model import load_model
    from narratives.train.decidercv import cross_validate, real_articles
    from narratives.train.deciderplan import stance_pool_pages, training_articles
    from narratives.train.evidence import evidence_model, evidence_settings

    paged = tuple(dict.fromkeys({"off": False, "on": True}.get(m, m) for m in page_models))
    read_at = [{} if spec.strip().lower() == "none" else _cutoffs([spec]) for spec in stance_cutoffs]
    presence_at = [{} if spec.strip().lower() == "none" else _narrative_cutoffs([spec], "--narrative-cutoffs")
                   for spec in narrative_cutoffs]
    if any(paged) and real_pool:
        raise click.UsageError("--page-model on and --real-pool: the page model is fitted on the pool, so the pool's "
                               "pages in the decider's fit would give it in-sample logits")
    if pool_stack and real_pool:
        raise click.UsageError("--pool-stack and --real-pool: the pool's pages would be in the fit twice, once scored "
                               "by models fitted on them")
    try:
        clf = load_model(model)
        team, real, _ = training_articles(tuple(clf.labels_), articles, team_splits, True, real_path,
                                          bool(real_pool))
        stance_pool = stance_pool_pages(team, real_path) if "article_text" in stance_sources else []
        ref = evidence_settings(evidence).get("evidence")
        scorer = evidence_model(ref, clf.labels_) if ref else clf
        pool_pages = real_articles(real_path, "train")[0] if any(paged) or pool_stack else []
        stacked = None
        if pool_stack:
            from narratives.train.pagemodel import PAGE_C
            from narratives.train.poolstack import cross_fit, team_passages

            stacked = cross_fit(scorer, pool_pages, team_passages(real_path), PAGE_C if any(paged) else None,
                                "lexicon" in paged)
        rows = cross_validate(scorer, team, real, Cs=Cs, cutoffs=cutoffs, folds=folds, seeds=range(fold_seeds),
                              per_narrative=per_narrative,
                              stances=(True, False) if stances is None else (stances,),
                              stance_sources=stance_sources, stance_pool=stance_pool, page_models=paged,
                              page_pool=pool_pages if any(paged) else (),
                              stance_cutoffs=read_at, presence_cutoffs=presence_at, stacked=stacked)
    except _errors() as exc:
        raise click.ClickException(str(exc)) from None
    pool = sum(a.split == "real-train" for a in team)
    click.echo(f"{len(real)} dev pages, {len(team) - pool} team articles, {pool} pool pages"
               + (f", {len(stacked.scored)} pool pages stacked (out of fold)" if stacked else "") + f", {folds} folds"
               + (f", means over {fold_seeds} fold seeds" if fold_seeds > 1 else ""))
    if "article_text" in stance_sources:
        text_pool = sum(bool(a.labels) for a in team if a.split == "real-train") + len(stance_pool)
        click.echo(f"article stance model: fitted once on the team articles and {text_pool} pool pages that carry a "
                   "narrative" + ("" if text_pool else " (the cache lacks the pool: training would not fit this "
                                  "model, see --stance-source)"))
    by_cutoffs, by_narrative = any(read_at), any(presence_at)
    click.echo("decider    C      cutoff  stance        page   " + ("stance cutoffs  " if by_cutoffs else "")
               + ("narrative cutoffs  " if by_narrative else "")
               + "macro-F1  negatives flagged  stance acc  non-English F1  objective")
    for r in rows:
        st = "" if "stance" not in r else r.get("stance_source", "passages") if r["stance"] else "False"
        page = {True: "on", False: "off", "narratives": "narr", "blend": "blend", "lexicon": "lex"}.get(
            r.get("page_model", False) if r["decider"] != "none" else None, "")
        cuts = f"{_cutoffs_text(r['stance_cutoffs']) if 'stance_cutoffs' in r else '':<15} " if by_cutoffs else ""
        if by_narrative:
            cuts += f"{_cutoffs_text(r['presence_cutoffs']) if 'presence_cutoffs' in r else '':<18} "
        click.echo(f"{r['decider']:<10} {r.get('C', ''):<6} {r.get('cutoff', ''):<7} {st:<13} {page:<6} {cuts}"
                   f"{r['macro_f1']:<9} "
                   f"{r['negatives_flagged']:<18} {r['stance_accuracy']:<11} {r['non_english_macro_f1']!s:<15} "
                   f"{r['objective']}")
    if json_out:
        from narratives.model.artifact import write_json

        write_json(json_out, rows)
