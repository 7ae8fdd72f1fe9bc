"""``narratives real``: the real-page benchmark (references in data/real, texts in a git-ignored cache).

A thin click layer over :mod:`narratives.train.realpages`, :mod:`~narratives.train.realcache` and
:mod:`~narratives.train.realeval`.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(real, ["--help"]).exit_code
0
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

REAL_HELP = "Reference file or folder of *.jsonl references [default: data/real]."
#: the held-out sets beside the benchmark's halves (realpages.HELD_OUT), written out to keep --help free of its imports
HELD_OUT_SPLITS = ("check", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
                   "holdout9", "holdout10", "holdout11", "holdout12")


def _refs(path):
    from narratives.train.realpages import ReferenceError, load_references

    try:
        return load_references(path)
    except ReferenceError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def real() -> None:
    """The real-page benchmark: real web pages labelled at article level (data/real/*.jsonl); their text
    lives only in a git-ignored cache ($NARRATIVES_REAL_CACHE, else the user cache folder)."""


@real.command("check")
@click.option("--real", "path", type=click.Path(path_type=Path), default=None, help=REAL_HELP)
@click.option("--cache/--no-cache", "with_cache", default=False, show_default=True,
              help="Also check that every page is cached with the labelled text.")
@click.option("--by-query", is_flag=True, default=False,
              help="With --cache, list the missing pages under the query that finds each (one search of the "
                   "team's tool can then refill several).")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --cache, also write the missing pages as a refill plan: one JSON line per query, "
                   '{"query": ..., "pages": [{"id": ..., "url": ...}]}, most pages first.')
@click.option("--split", "splits", multiple=True, type=click.Choice(["dev", "test", "train", *HELD_OUT_SPLITS]),
              help="With --cache, only the pages of this split (repeat for several): a session whose search budget "
                   "cannot refill the whole cache refills what its work reads (train: the training pool) [default: all].")
def real_check(path, with_cache, by_query, plan_path, splits):
    """Validate the reference files (schema, narratives, id and split rules, unique ids and urls) and print
    their counts (the benchmark's halves and the training pool apart); with --cache, also list every page
    missing from the cache."""
    from narratives.train.realcache import cache_dir, missing_pages
    from narratives.train.realpages import HELD_OUT, reference_counts

    if plan_path is not None and not with_cache:
        raise click.UsageError("--plan lists the pages missing from the cache: add --cache")
    if splits and not with_cache:
        raise click.UsageError("--split chooses the pages whose cache is checked: add --cache")

    refs = _refs(path)
    c = {"benchmark": reference_counts([r for r in refs if r.page.split in ("dev", "test")]),
         "training_pool": reference_counts([r for r in refs if r.page.split == "train"]),
         **{f"{s}_set": reference_counts([r for r in refs if r.page.split == s]) for s in HELD_OUT}}
    click.echo(json.dumps(c, indent=1, ensure_ascii=False))
    if with_cache:
        refs = [r for r in refs if not splits or r.page.split in splits]
        missing = missing_pages(refs)
        groups: dict[str | None, list] = {}  # one group without a heading unless --by-query
        for r, why in missing:
            groups.setdefault(r.page.query if by_query else None, []).append((r, why))
        for query, pages in groups.items():
            if query is not None:
                click.echo(f"query: {query}", err=True)
            for r, why in pages:
                click.echo(f"{'  ' if by_query else ''}missing: {r.page.id}  {r.page.url}  ({why})", err=True)
        if plan_path is not None:
            by_q: dict[str, list] = {}
            for r, _ in missing:
                by_q.setdefault(r.page.query, []).append({"id": r.page.id, "url": r.page.url})
            lines = [json.dumps({"query": q, "pages": p}, ensure_ascii=False) + "\n"
                     for q, p in sorted(by_q.items(), key=lambda kv: -len(kv[1]))]
            plan_path.write_text("".join(lines), encoding="utf-8")
            click.echo(f"refill plan: {len(missing)} page(s) under {len(lines)} queries -> {plan_path}", err=True)
        click.echo(f"{len(refs) - len(missing)} of {len(refs)} page(s) cached in {cache_dir()}"
                   + (f"; {len(missing)} missing under {len(groups)} queries" if by_query and missing else ""))
        sys.exit(1 if missing else 0)


@real.command("fill")
@click.option("--real", "path", type=click.Path(path_type=Path), default=None, help=REAL_HELP)
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds per page.")
def real_fill(path, timeout):
    """Fetch every page missing from the cache with an HTTP GET (HTML through the project's reader) and
    store it when its text is the one labelled (same sha256). Reports every page it could not get; exit
    status 1 when any is still missing."""
    from functools import partial

    from narratives.train.realcache import cache_dir, fill, http_text

    refs = _refs(path)
    res = fill(refs, fetch=partial(http_text, timeout=timeout))
    for pid, url, why in res.failed:
        click.echo(f"not cached: {pid}  {url}  ({why})", err=True)
    click.echo(f"{len(res.stored)} stored, {len(res.already)} already cached, {len(res.failed)} not cached "
               f"({cache_dir()})")
    sys.exit(1 if res.failed else 0)


@real.command("put")
@click.argument("page_id")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--real", "path", type=click.Path(path_type=Path), default=None, help=REAL_HELP)
@click.option("--json-string", is_flag=True, default=False,
              help="SOURCE holds the text as one JSON string literal (quotes, \\n and \\u escapes), as a search "
                   "tool's JSON answer shows it: copied from there, it keeps invisible characters a retyped text "
                   "loses.")
def real_put(page_id, source, path, json_string):
    """Store the text of page PAGE_ID from SOURCE (a file, or - for standard input; UTF-8) in the cache,
    after checking its sha256 and length against the reference."""
    from narratives.train.realcache import put

    refs = {r.page.id: r for r in _refs(path)}
    if page_id not in refs:
        raise click.ClickException(f"no reference with id {page_id!r} in {path or 'data/real'}")
    raw, where = source.read(), getattr(source, "name", "<stdin>")  # click's test stdin has no name
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if json_string:
        try:
            text = json.loads(text)
        except ValueError as exc:
            raise click.ClickException(f"{where}: not a JSON string literal ({exc})") from None
        if not isinstance(text, str):
            raise click.ClickException(f"{where}: holds JSON {type(text).__name__}, not a string literal")
    try:
        click.echo(f"stored {put(refs[page_id], text)}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@real.command("put-batch")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--real", "path", type=click.Path(path_type=Path), default=None, help=REAL_HELP)
def real_put_batch(sources, path):
    """Store many pages at once: each SOURCE is a JSON object {"<id>": "<text>", ...}, the texts copied as a
    search tool's JSON answer shows them. Each text is stored only when it, or it less trailing newlines, trailing
    white space or a last line, has the reference's sha256; every page not stored is named with the reason, and
    one bad page never stops the rest (exit status 1 when any was not stored)."""
    from narratives.train.realcache import put_many

    refs = _refs(path)
    n_stored = n_failed = 0
    for src in sources:
        try:
            texts = json.loads(src.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            click.echo(f"{src}: not a JSON object of texts ({exc})", err=True)
            n_failed += 1
            continue
        if not isinstance(texts, dict):
            click.echo(f"{src}: holds JSON {type(texts).__name__}, not an object of id -> text", err=True)
            n_failed += 1
            continue
        stored, failed = put_many(refs, texts)
        for pid, trim in stored:
            click.echo(f"stored {pid}" + ("" if trim == "as given" else f" ({trim})"))
        for pid, why in failed:
            click.echo(f"{src}: {pid}: {why}", err=True)
        n_stored, n_failed = n_stored + len(stored), n_failed + len(failed)
    click.echo(f"{n_stored} stored, {n_failed} not stored")
    sys.exit(1 if n_failed else 0)


@real.command("evaluate")  # --split's choices are realeval.SPLITS
@click.argument("models", nargs=-1)
@click.option("--real", "path", type=click.Path(path_type=Path), default=None, help=REAL_HELP)
@click.option("--split", "splits", multiple=True,
              type=click.Choice(["dev", "test", "all", *HELD_OUT_SPLITS]),
              help="dev: for choosing and tuning; test: the held-out half to report; check: the check set "
                   "(data/real/check_*.jsonl, for choosing between candidates the dev half cannot tell apart); "
                   "holdout: the hold-out set (data/real/holdout_*.jsonl, collected after the check set was read); "
                   "holdout2: the second hold-out set (data/real/holdout2_*.jsonl, collected after the first was read); "
                   "holdout3: the third hold-out set (data/real/holdout3_*.jsonl, collected after the second was read); "
                   "holdout4: the fourth hold-out set (data/real/holdout4_*.jsonl, collected with the third, read "
                   "once for the English stance cutoff); "
                   "holdout5: the fifth hold-out set (data/real/holdout5_*.jsonl, collected after the fourth was read, "
                   "read once for the refit with the fourth set in the pool); "
                   "holdout6 to holdout10: the sixth to tenth hold-out sets, each read once, in the training pool "
                   "since 2026-12-07 (data/real/train_r8_h6_*.jsonl ..., train_r9_h10_*.jsonl: no page carries these "
                   "splits now); "
                   "holdout11: the eleventh hold-out set (data/real/holdout11_*.jsonl, collected after the tenth was "
                   "read, read once for the tenth set in the pool); "
                   "holdout12: the twelfth hold-out set (data/real/holdout12_*.jsonl, collected after the eleventh "
                   "was read); "
                   "repeat for several in one run (each page scored once) [default: test].")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every figure and error to this JSON file.")
@click.option("--errors/--no-errors", default=True, show_default=True, help="Print every error with its id and url.")
def real_evaluate(models, path, splits, json_path, errors):
    """Score the cached real pages of a half with MODELS (names, versions or directories; default: the
    default model), side by side, as articles through the same path as `narratives score`: per-narrative
    P/R/F1, macro-F1, negatives and hard negatives flagged, stance accuracy, per language and pooled
    non-English, and every error. Refuses to run on a partial cache, naming each missing page."""
    from narratives.model import ModelLoadError, TaxonomyError
    from narratives.model.artifact import atomic_write_text
    from narratives.train.realcache import CacheError
    from narratives.train.realeval import evaluate_real_splits
    from narratives.train.realpages import ReferenceError

    splits = list(dict.fromkeys(splits or ["test"]))
    try:
        reports = evaluate_real_splits(list(models) or [None], path=path, splits=splits)
    except (ReferenceError, CacheError, ModelLoadError, TaxonomyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if json_path is not None:  # one split: its report; several: {split: report}
        out = reports[splits[0]] if len(splits) == 1 else reports
        atomic_write_text(json_path, json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    for s in splits:
        echo_report(reports[s], errors)


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def echo_report(report: dict, errors: bool = True) -> None:
    """The side-by-side table of :func:`narratives.train.realeval.evaluate_real`'s report."""
    res = report["models"]
    names = list(res)
    c = report["counts"]
    from narratives.train.realpages import SET_NAMES

    where = SET_NAMES.get(report["split"], f"{report['split']} half")
    click.echo(f"real pages, {where}: {report['n_pages']} pages ({c['negatives']} negatives, "
               f"{c['hard_negatives']} hard; languages {c['languages']}; references {report['references_sha256'][:12]}; "
               f"int8 kernel {report.get('int8_kernel', 'unknown')}, sums {report.get('int8_sums', 'native')})")
    click.echo(f"{'':<24}" + "".join(f"{n[:22]:>24}" for n in names))
    if not names:
        return
    first = res[names[0]]
    for lab in first["per_narrative"]:
        cells = "".join(f"{_f(res[n]['per_narrative'][lab]['precision'])}/{_f(res[n]['per_narrative'][lab]['recall'])}/"
                        f"{_f(res[n]['per_narrative'][lab]['f1'])}".rjust(24) for n in names)
        click.echo(f"{lab + ' P/R/F1':<24}{cells}  n={first['per_narrative'][lab]['support']}")
    rows = [("macro-F1", "macro_f1"), ("negatives flagged", "negatives_flagged"),
            ("hard negatives flagged", "hard_negatives_flagged"), ("stance accuracy", "stance_accuracy"),
            ("stance acc. (found)", "stance_accuracy_found"), ("narrative stance (found)", "narrative_stance_accuracy")]
    for title, key in rows:
        click.echo(f"{title:<24}" + "".join(f"{_f(res[n][key]):>24}" for n in names))
    click.echo("per language: macro-F1 / stance accuracy / negatives flagged")
    slices = [("per_language", k) for k in first["per_language"]] + [("language_groups", k) for k in first["language_groups"]]
    for section, key in slices:
        label = f"{key} (n={first[section][key]['n']})"
        cells = "".join(f"{_f(res[n][section][key]['macro_f1'])} / {_f(res[n][section][key]['stance_accuracy'])} / "
                        f"{_f(res[n][section][key]['negatives_flagged'])}".rjust(24) for n in names)
        click.echo(f"  {label:<22}{cells}")
    for n in names:
        for fp in res[n]["failed_pages"]:
            click.echo(f"[{n}] page could not be scored: {fp['id']} {fp['url']}: {fp['errors']}")
    if errors:
        for n in names:
            errs = res[n]["errors"]
            click.echo(f"errors of {n} ({len(errs)}):")
            for e in errs:
                click.echo(f"  {e['kind']:<12} {e['narrative']:<19} gold={e['gold'] or '-':<8} "
                           f"pred={e['predicted'] or '-':<8} score={_f(e['score'])} {e['lang']:<7} {e['id']}  {e['url']}")
