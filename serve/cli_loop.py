"""CLI commands of the retraining loop: import labels, add a narrative, list / compare / promote / roll
back model versions, and suggest passages to label next. Registered on the main group in ``cli.py``.

>>> from click.testing import CliRunner
>>> from narratives.serve.cli import main
>>> CliRunner().invoke(main, ["models", "--help"]).exit_code
0
"""
from __future__ import annotations

import json
from pathlib import Path

import click

LABELS_HELP = "Label folder (taxonomy.yaml and *.jsonl label files) [default: data/labels]."
CORPUS_HELP = "Folder with the seed articles [default: ../shared/seeds]."


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "label-studio", "doccano"]), default=None,
              help="The file's format [default: from the extension; .json is a Label Studio export].")
@click.option("--name", default=None, help="Name of the new label file, without .jsonl [default: imported_<file stem>].")
@click.option("--lang", default=None, help="Language of records that give none (en, sr-Latn, sr-Cyrl, bs, hr, ru) "
                                           "[default: detected; Latin-script Serbian/Bosnian/Croatian need it].")
@click.option("--text-field", default="text", show_default=True, help="[Label Studio] The task data field with the text.")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
def labels_import(file, fmt, name, lang, text_field, labels_path, corpus, dry_run):
    """Import labels from CSV, JSONL, a Label Studio JSON export or doccano JSONL into a new label file.

    \b
    CSV columns: text, narratives (ids separated by ';'), stance (promotes, reports, none);
    optional id, source, lang, split. Label Studio: see data/labels/label_studio.xml for the
    labelling interface it expects. Every problem is printed with file and line (or task id), and
    nothing is written unless the whole file is clean. New sources get a train or dev split."""
    from narratives.model import TaxonomyError
    from narratives.train.data import LabelError
    from narratives.train.importers import import_labels

    try:
        res = import_labels(file, labels_path, corpus, name=name, fmt=fmt, lang=lang, text_field=text_field,
                            dry_run=dry_run)
    except LabelError as exc:
        for where, msg in exc.problems:
            click.echo(f"error: {where}: {msg}", err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s); nothing written") from None
    except (TaxonomyError, ValueError) as exc:
        raise _fail(exc) from None
    for where, msg in res.warnings:
        click.echo(f"warning: {where}: {msg}", err=True)
    splits = {s: sum(r["split"] == s for r in res.records) for s in ("train", "dev")}
    verb = "would import" if dry_run else "imported"
    where = "" if dry_run or not res.records else f" into {labels_path or _labels()}/{name or 'imported_' + file.stem}.jsonl"
    click.echo(f"{verb} {len(res.records)} passage(s) (train {splits['train']}, dev {splits['dev']}){where}")


def _labels() -> Path:
    from narratives.model.paths import labels_dir

    return labels_dir()


@click.command("add-narrative")
@click.argument("narrative_id")
@click.option("--name", required=True, help="A short human-readable name.")
@click.option("--description", required=True, help="What the narrative claims (it also serves as a few-shot prior).")
@click.option("--cue", "cues", multiple=True, help="A typical phrasing, in the team's own words (repeatable).")
@click.option("--keyword", "keywords", multiple=True, help="A word stem that makes a passage obvious (repeatable).")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
def add_narrative(narrative_id, name, description, cues, keywords, labels_path):
    """Add a narrative to the taxonomy (data/labels/taxonomy.yaml) and to the Label Studio interface
    (data/labels/label_studio.xml). Label a handful of passages for it
    (8 or more), import them, and train: a baseline model uses the description and cues as a prior
    for any narrative with fewer than 30 labelled passages."""
    from narratives.model.taxonomy import TaxonomyError
    from narratives.model.taxonomy import add_narrative as _add
    from narratives.train.ls_interface import add_to_interface

    folder = labels_path or _labels()
    path = folder / "taxonomy.yaml"
    try:
        tax = _add(path, narrative_id, name, description, tuple(cues), tuple(keywords))
    except TaxonomyError as exc:
        raise _fail(exc) from None
    click.echo(f"{path}: added {narrative_id!r}; {len(tax.ids)} narratives")
    try:
        if add_to_interface(folder, narrative_id):
            click.echo(f"{folder / 'label_studio.xml'}: added {narrative_id!r} (paste it into Label Studio's "
                       "labelling interface again)")
    except ValueError as exc:
        raise _fail(ValueError(f"{folder / 'label_studio.xml'}: {exc}; add the narrative there by hand")) from None


@click.group("models")
def models() -> None:
    """The models directory ($NARRATIVES_MODELS, else the user data directory, e.g.
    ~/.local/share/narratives/models): your versions and the default; shipped models are listed too."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models_list(as_json):
    """Every model version with its kind, creation time, label data hash and held-out macro-F1;
    '*' marks the default."""
    from narratives.model.artifact import ModelLoadError
    from narratives.model.registry import default_ref, find_model, list_models

    try:
        default = find_model(default_ref())
    except ModelLoadError as exc:
        raise _fail(exc) from None
    entries = list_models()
    if as_json:
        click.echo(json.dumps([{**{k: str(v) if isinstance(v, Path) else v for k, v in e.__dict__.items()},
                                "default": default is not None and e.path.resolve() == default.resolve()}
                               for e in entries], indent=2))
        return
    click.echo(format_models_table(entries, default))


def format_models_table(entries: list, default: Path | None) -> str:
    """The ``models list`` table: columns as wide as their longest cell, '*' on the default, '(shipped)'
    only on the models that come with the package.

    >>> from narratives.model.registry import ModelEntry
    >>> e = ModelEntry("3fa1020adc89", Path("/m/3fa1020adc89"), "3fa1020adc89", "frozen-embedding", ["a"])
    >>> print(format_models_table([e], None))  # doctest: +NORMALIZE_WHITESPACE
      name          version       kind              created  labels  data  dev F1  test F1
      3fa1020adc89  3fa1020adc89  frozen-embedding  -             1  -        n/a      n/a
    """
    f = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    head = ["name", "version", "kind", "created", "labels", "data", "dev F1", "test F1"]
    rows = [[e.name, e.version, e.kind, e.created or "-", str(len(e.labels)), (e.data_sha256 or "-")[:12],
             f(e.dev_macro_f1), f(e.test_macro_f1)] for e in entries]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {4, 6, 7}

    def line(mark: str, cells: list[str], tail: str = "") -> str:
        return (f"{mark} " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(cells, widths))) + tail).rstrip()

    out = [line(" ", head)]
    for e, r in zip(entries, rows):
        mark = "*" if default is not None and e.path.resolve() == default.resolve() else " "
        out.append(line(mark, r, "  (shipped)" if e.shipped else ""))
    return "\n".join(out)


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--split", default="test", show_default=True, type=click.Choice(["dev", "test"]),
              help="The labelled split both models are scored on.")
@click.option("--max-drop", default=0.02, show_default=True, type=float,
              help="F1 drop per narrative that counts as a regression.")
@click.option("--fail-on-drop", is_flag=True, help="Exit with status 1 when any narrative regresses (for CI).")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(a, b, split, max_drop, fail_on_drop, labels_path, corpus, as_json):
    """Compare model A (e.g. the current default: 'default') with model B on the frozen test split:
    F1 per narrative and B - A, flagging every narrative whose F1 drops by more than --max-drop."""
    report = _compare(a, b, labels_path, corpus, split, max_drop)
    from narratives.train.compare import format_comparison

    click.echo(json.dumps(report, indent=2) if as_json else format_comparison(report))
    if fail_on_drop and report["regressions"]:
        raise SystemExit(1)


def _compare(a, b, labels_path, corpus, split, max_drop) -> dict:
    from narratives.model import ModelLoadError, TaxonomyError
    from narratives.train.compare import compare_models
    from narratives.train.data import LabelError

    try:
        return compare_models(a, b, labels_path, corpus, split=split, max_drop=max_drop)
    except (LabelError, TaxonomyError, ModelLoadError, ValueError) as exc:
        raise _fail(exc) from None


@click.command("promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Promote even if some narrative's F1 drops by more than --max-drop.")
@click.option("--max-drop", default=0.02, show_default=True, type=float,
              help="F1 drop per narrative that refuses the promotion.")
@click.option("--note", default=None, help="Why (kept in the default pointer's history).")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
def promote(version, force, max_drop, note, labels_path, corpus):
    """Make VERSION (a version or name from `narratives models list`) the default that `predict`,
    `score` and the server use. It is first compared with the current default on the frozen test split
    and refused if any narrative's F1 drops by more than --max-drop (unless --force). The switch is
    one atomic file replace; `narratives rollback` undoes it."""
    from narratives.model import TaxonomyError
    from narratives.model.artifact import ModelLoadError
    from narratives.model.registry import read_default, set_default
    from narratives.train.compare import compare_models, format_comparison
    from narratives.train.data import LabelError

    try:
        before: dict | None = read_default() or {}
    except ModelLoadError:
        before = None  # an unreadable pointer: nothing to compare with or to guard
    try:
        report = compare_models("default", version, labels_path, corpus, split="test", max_drop=max_drop)
    except ModelLoadError as exc:
        if not force:
            raise _fail(ModelLoadError(f"{exc} (pass --force to promote without the comparison)")) from None
        click.echo(f"warning: not compared ({exc})", err=True)
        report = {"regressions": []}
    except (LabelError, TaxonomyError, ValueError) as exc:
        raise _fail(exc) from None
    else:
        click.echo(format_comparison(report))
    if report["regressions"] and not force:
        other = "a" in report and report["a"]["kind"] != report["b"]["kind"]  # the comparison's note says why
        raise click.ClickException(f"not promoted: F1 drops by more than {max_drop} on "
                                   f"{', '.join(report['regressions'])} (use --force to promote anyway"
                                   + (f"; or train a {report['a']['kind']} model, see the note above)" if other else ")"))
    try:
        from narratives.model import load_model

        load_model(version)  # loadable (members and encoders too) before it becomes the default
        record = set_default(version, note=note, expect=before)
    except ModelLoadError as exc:
        raise _fail(exc) from None
    click.echo(f"default is now {record['model']} (version {record['version']})")


@click.command("rollback")
def rollback():
    """Make the previous default the default again (repeatable, one step at a time)."""
    from narratives.model.artifact import ModelLoadError
    from narratives.model.registry import rollback as _rollback

    try:
        record = _rollback()
    except ModelLoadError as exc:
        raise _fail(exc) from None
    version = f"version {record['version']}" if record.get("version") else "the shipped default, not pinned to a version"
    click.echo(f"default is now {record['model']} ({version})")


@click.command("suggest")
@click.argument("files", nargs=-1, required=True)
@click.option("-n", "n", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many passages to suggest (tasks in the output file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("suggested_tasks.json"),
              show_default=True, help="Label Studio import file to write.")
@click.option("--model", default=None, help="The model whose uncertainty ranks passages (a name, version or directory) "
                                            "[default: the default model].")
@click.option("--against", default="auto", show_default=True,
              help="A second model for disagreement; 'auto' = the baseline when --model is another kind; 'none'.")
@click.option("--per-article", default=3, show_default=True, type=click.IntRange(min=1),
              help="At most this many passages from one article.")
@click.option("--min-words", default=8, show_default=True, type=click.IntRange(min=0),
              help="Skip passages shorter than this; raised to the label folder's passage minimum (targets.yaml: "
                   "15 words), so every suggestion can be imported and passes `labels check`.")
@click.option("--id-field", default="id", show_default=True, help="JSONL/CSV/Parquet field holding the article id.")
@click.option("--text-field", default="text", show_default=True, help="JSONL/CSV/Parquet field holding the article text.")
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Label folder whose passages are never suggested again [default: data/labels].")
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
def suggest(files, n, output, model, against, per_article, min_words, id_field, text_field, labels_path, corpus):
    """Rank the passages of unlabelled articles (files, folders, JSONL/CSV/Parquet) by the model's
    uncertainty and its disagreement with a second model, and write the top N as a Label Studio import
    file with the model's decisions as pre-annotations (carrying model_version)."""
    from narratives.model import ModelLoadError
    from narratives.train.suggest import suggest as _suggest
    from narratives.train.suggest import write_tasks

    try:
        tasks = _suggest(files, n=n, model=model, against=None if against == "none" else against,
                         per_article=per_article, min_words=min_words, labels=labels_path, corpus=corpus,
                         id_field=id_field, text_field=text_field)
    except (ModelLoadError, ValueError) as exc:
        raise _fail(exc) from None
    write_tasks(tasks, output)
    click.echo(f"wrote {len(tasks)} task(s) to {output}")


@models.command("refresh")
@click.argument("names", nargs=-1, required=True)
@click.option("--labels", "labels_path", type=click.Path(file_okay=False, path_type=Path), default=None, help=LABELS_HELP)
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=None, help=CORPUS_HELP)
@click.option("--reference", default=None,
              help="The directory of the card's reference model, when it is not in the models directory.")
def models_refresh(names, labels_path, corpus, reference):
    """Re-evaluate models on the current labels with the current metric code and rewrite their
    metrics.json, card and plots. The model files, and so the version, do not change."""
    from narratives.model import ModelLoadError, TaxonomyError, resolve_model
    from narratives.train.data import LabelError
    from narratives.train.trainer import rewrite_card

    for name in names:
        try:
            h = rewrite_card(resolve_model(name), labels_path, corpus, reevaluate=True, reference=reference)
        except (LabelError, TaxonomyError, ModelLoadError, ValueError, KeyError) as exc:
            raise _fail(exc) from None
        click.echo(f"{name}: card and metrics rewritten (version {h[:12]})")
