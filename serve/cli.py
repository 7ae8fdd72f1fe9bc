"""The ``narratives`` command: a thin click layer over importable functions.

Heavy libraries (scikit-learn, and later torch) are imported inside each command, so
``narratives --help`` stays instant.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(main, ["--help"]).exit_code
0
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from .cli_options import CORPUS_HELP, LABELS_HELP, MODEL_HELP, SHIPPED_HELP  # noqa: F401  (SHIPPED_HELP: tests)


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
              help="Write records here: .jsonl, .csv or .parquet by extension; - is standard output [default: JSONL "
                   "on standard output].")
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
    from narratives.serve.decider import decision_scorer
    from narratives.serve.output import Writer, done_sources, output_format
    from narratives.serve.readers import expand_paths, read_articles

    if output is not None and str(output) == "-":
        output = None  # -o - is standard output, as - is standard input (it used to create a file named "-")
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
        decision_scorer(clf)  # ... also when its article decider's evidence model cannot be used
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
    from narratives.serve.decider import decision_scorer
    from narratives.serve.http import serve as _serve

    try:  # fail here, with a clear message, rather than inside the server's start-up
        decision_scorer(load_model(model))
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
    from collections import Counter

    from narratives.model.paths import labels_dir
    from narratives.model.taxonomy import TaxonomyError, load_taxonomy
    from narratives.train.realpages import HELD_OUT, SET_NAMES, check_references

    folder = labels_path or labels_dir()
    try:
        tax = load_taxonomy(folder / "taxonomy.yaml")
    except TaxonomyError:
        return []  # check_labels reports it
    refs, problems = check_references(folder.parent / "real", tax)
    if refs:
        n = Counter(r.page.split for r in refs)
        sets = [f"{n[s]} {SET_NAMES[s].removeprefix('the ')}" for s in (*HELD_OUT, "train")]
        click.echo(f"{len(refs)} real-page references in {folder.parent / 'real'} ({n['dev'] + n['test']} benchmark, "
                   f"{', '.join(sets)})")
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
    from . import cli_decider, cli_loop, cli_onnx, cli_real, cli_train

    main.add_command(cli_real.real)
    main.add_command(cli_decider.decider)
    main.add_command(cli_onnx.export_onnx)
    for command in (cli_train.train, cli_train.route, cli_train.ensemble, cli_train.evaluate):
        main.add_command(command)
    labels.add_command(cli_loop.labels_import)
    labels.add_command(cli_loop.add_narrative)
    for cmd in (cli_loop.models, cli_loop.compare, cli_loop.promote, cli_loop.rollback, cli_loop.suggest):
        main.add_command(cmd)


_register()

if __name__ == "__main__":
    main()
