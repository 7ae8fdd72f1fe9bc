"""``narratives labels import``: labels from annotation tools into a passage file of the label folder.

Reads four formats, chosen by ``fmt`` or guessed from the file:

* CSV with a header: ``text``, ``narratives`` (ids separated by ``;``), ``stance``; optional ``id``,
  ``source``, ``lang``, ``split``;
* JSONL: one object per line with the same fields (``narratives`` a list or a ``;`` string);
* a Label Studio JSON export (a list of tasks): ``choices`` results named ``narratives`` and ``stance``
  (see ``data/labels/label_studio.xml``), and span results (``labels``) with offsets into the task
  text, whose labels are narrative ids plus one stance; every span becomes a passage;
* doccano JSONL: ``text`` with ``label`` (a list of labels, or ``[start, end, label]`` spans) or
  ``entities`` (``start_offset``, ``end_offset``, ``label``); labels are narrative ids plus one stance.

Every problem is reported with file and line (or task id); nothing is written unless the whole file
is clean. Passages of one task, row or document share a ``source``; new sources get a ``train`` or
``dev`` split (never the frozen ``test``).

>>> from narratives.train.importers import parse_narratives
>>> parse_narratives("kosovo_precedent; anti_western")
['kosovo_precedent', 'anti_western']
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from narratives.model.taxonomy import STANCES, Taxonomy

from .data import LANGS, SPLITS, has_lone_surrogate, read_jsonl

FORMATS = ("csv", "jsonl", "label-studio", "doccano")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass
class Raw:
    """One labelled text as read from the file, before validation."""

    where: str
    text: object
    narratives: object
    stance: object
    id: object = None
    source: object = None
    lang: object = None
    split: object = None


@dataclass
class ImportResult:
    records: list[dict]
    problems: list[tuple[str, str]]
    warnings: list[tuple[str, str]] = field(default_factory=list)


def parse_narratives(value) -> list[str]:
    """``"a; b"`` or ``["a", "b"]`` -> ``["a", "b"]`` (blank parts dropped)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return value if isinstance(value, list) else value  # validated later


def guess_format(path: Path) -> str:
    """The format of a label file, from its extension and (for JSONL) its first record."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "label-studio"
    if suffix in (".jsonl", ".ndjson"):
        for _, rec, _err in read_jsonl(path):
            return "doccano" if isinstance(rec, dict) and ("label" in rec or "entities" in rec) else "jsonl"
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the extension {suffix!r}; pass --format "
                     f"({', '.join(FORMATS)})")


def _read_csv(path: Path, problems: list) -> list[Raw]:
    out = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("text", "narratives", "stance") if c not in (reader.fieldnames or [])]
            if missing:
                problems.append((f"{path}:1", f"missing column(s) {', '.join(missing)}"))
                return []
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:
                    problems.append((where, "more fields than columns in the header"))
                    continue
                out.append(Raw(where, row.get("text"), parse_narratives(row.get("narratives")), row.get("stance"),
                               row.get("id") or None, row.get("source") or None, row.get("lang") or None,
                               row.get("split") or None))
    except UnicodeDecodeError as exc:
        problems.append((str(path), f"not valid UTF-8 ({exc.reason} at byte {exc.start})"))
    except csv.Error as exc:
        problems.append((str(path), f"malformed CSV: {exc}"))
    return out


def _objects(path: Path, problems: list):
    """``(where, object)`` for each JSON-object line of a JSONL file; other lines become problems."""
    for no, rec, err in read_jsonl(path):
        if err or not isinstance(rec, dict):
            problems.append((f"{path}:{no}", err or f"expected a JSON object, got {type(rec).__name__}"))
            continue
        yield f"{path}:{no}", rec


def _read_jsonl(path: Path, problems: list) -> list[Raw]:
    out = []
    for where, rec in _objects(path, problems):
        out.append(Raw(where, rec.get("text"), parse_narratives(rec.get("narratives")), rec.get("stance"),
                       rec.get("id"), rec.get("source"), rec.get("lang"), rec.get("split")))
    return out


def _split_labels(labels, where: str, problems: list) -> tuple[list, object]:
    """Span-style labels (narrative ids plus one stance) -> (narratives, stance)."""
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        problems.append((where, f"labels must be a list of strings, got {labels!r}"))
        return [], None
    stances = [x for x in labels if x in STANCES]
    if len(stances) > 1:
        problems.append((where, f"more than one stance among the labels {labels}"))
    return [x for x in labels if x not in STANCES], (stances[0] if stances else None)


def _span(text: str, start, end, quoted, where: str, problems: list) -> str | None:
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        problems.append((where, f"span offsets {start!r}..{end!r} are outside the text (length {len(text)})"))
        return None
    if quoted is not None and text[start:end] != quoted:
        problems.append((where, "the span's text does not match the task text at its offsets"))
        return None
    return text[start:end]


def _read_label_studio(path: Path, problems: list, warnings: list, text_field: str) -> list[Raw]:
    try:
        tasks = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        problems.append((str(path), f"not valid UTF-8 ({exc.reason} at byte {exc.start})"))
        return []
    except (ValueError, RecursionError) as exc:
        problems.append((str(path), f"malformed JSON ({exc})"))
        return []
    if not isinstance(tasks, list):
        problems.append((str(path), "a Label Studio export is a JSON list of tasks"))
        return []
    out = []
    for i, task in enumerate(tasks):
        tid = task.get("id", f"#{i}") if isinstance(task, dict) else f"#{i}"
        where = f"{path}: task {tid}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(text_field), str):
            problems.append((where, f"data.{text_field} (the task text) is missing or not a string"))
            continue
        text = data[text_field]
        done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        if not done:
            warnings.append((where, "no completed annotation; skipped"))
            continue
        source = data.get("source") or f"{path.stem}-task-{tid}"
        versions = []
        for ann in done:
            choices: dict[str, list] = {}
            spans = []
            for r in ann.get("result") or []:
                value = r.get("value") if isinstance(r, dict) else None
                if not isinstance(value, dict):
                    continue
                if r.get("type") == "choices":
                    if r.get("from_name") not in ("narratives", "stance"):
                        problems.append((where, f"choices named {r.get('from_name')!r}; this importer reads "
                                                "'narratives' and 'stance' (see data/labels/label_studio.xml)"))
                        continue
                    choices.setdefault(str(r.get("from_name")), []).extend(value.get("choices") or [])
                elif r.get("type") == "labels":
                    spans.append(value)
            versions.append((choices, spans))
        if len({json.dumps(v, sort_keys=True) for v in versions}) > 1:
            problems.append((where, f"{len(versions)} annotations of this task disagree; resolve them in Label "
                                    "Studio (or keep one) before importing"))
            continue
        choices, spans = versions[0]
        # The whole text is a passage unless the task only marks spans (a stance chosen alongside spans, as a
        # required stance field forces, does not turn the article into a hard negative).
        if choices.get("narratives") or not spans:
            stance = choices.get("stance") or []
            if len(stance) > 1:
                problems.append((where, f"more than one stance chosen: {stance}"))
            narr = choices.get("narratives", [])
            out.append(Raw(where, text, narr, stance[0] if stance else ("none" if not narr else None),
                           f"{path.stem}-{tid}", source, data.get("lang"), data.get("split")))
        for k, value in enumerate(spans, 1):
            w = f"{where} span {k}"
            span = _span(text, value.get("start"), value.get("end"), value.get("text"), w, problems)
            span_narr, span_stance = _split_labels(value.get("labels"), w, problems)
            if span is not None:
                out.append(Raw(w, span, span_narr, span_stance, f"{path.stem}-{tid}-s{k}", source, data.get("lang"),
                               data.get("split")))
    return out


def _read_doccano(path: Path, problems: list) -> list[Raw]:
    out = []
    for where, rec in _objects(path, problems):
        text, rid = rec.get("text"), rec.get("id", where.rsplit(":", 1)[1])
        labels = rec.get("label", [])
        ents = [[e.get("start_offset"), e.get("end_offset"), e.get("label")]
                for e in rec.get("entities") or [] if isinstance(e, dict)]
        spans = ents + [x for x in labels if isinstance(x, list)] if isinstance(labels, list) else ents
        flat = [x for x in labels if isinstance(x, str)] if isinstance(labels, list) else None
        if flat is None:
            problems.append((where, f"field 'label' must be a list, got {labels!r}"))
            continue
        source = rec.get("source") or f"{path.stem}-{rid}"
        if flat or not spans:
            narr, stance = _split_labels(flat, where, problems)
            if not flat:
                stance = None
            out.append(Raw(where, text, narr, stance, f"{path.stem}-{rid}", source, rec.get("lang"), rec.get("split")))
        by_span: dict[tuple, list] = {}
        if spans and not isinstance(text, str):
            problems.append((where, "field 'text' must be a string"))
            continue
        for s in spans:
            if len(s) == 3 and all(isinstance(x, int) and not isinstance(x, bool) for x in s[:2]):
                by_span.setdefault((s[0], s[1]), []).append(s[2])
            else:
                problems.append((where, f"a span must be [start, end, label] with integer offsets, got {s!r}"))
        for k, ((start, end), labs) in enumerate(sorted(by_span.items(), key=lambda x: str(x[0])), 1):
            w = f"{where} span {k}"
            span = _span(text, start, end, None, w, problems) if isinstance(text, str) else None
            narr, stance = _split_labels(labs, w, problems)
            if span is not None:
                out.append(Raw(w, span, narr, stance, f"{path.stem}-{rid}-s{k}", source, rec.get("lang"),
                               rec.get("split")))
    return out


def read_label_file(path: str | Path, fmt: str | None = None, text_field: str = "text") -> tuple[list[Raw], list, list]:
    """Read a label file of any supported format; returns ``(raws, problems, warnings)``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    fmt = fmt or guess_format(path)
    problems: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    if fmt == "csv":
        raws = _read_csv(path, problems)
    elif fmt == "jsonl":
        raws = _read_jsonl(path, problems)
    elif fmt == "label-studio":
        raws = _read_label_studio(path, problems, warnings, text_field)
    elif fmt == "doccano":
        raws = _read_doccano(path, problems)
    else:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return raws, problems, warnings


def _language(text: str, given, default_lang: str | None, where: str, problems: list) -> str | None:
    from narratives.model.langid import detect_language

    if given is not None:
        if given not in LANGS:
            problems.append((where, f"lang must be one of {', '.join(LANGS)}, got {given!r}"))
            return None
        return str(given)
    if default_lang:
        return default_lang
    found = detect_language(text)
    if found in LANGS:
        return found
    from narratives.model.langid import UNLABELLED

    if found in UNLABELLED:
        problems.append((where, f"the text looks {UNLABELLED[found]} ({found}), not a language of the labels "
                                f"({', '.join(LANGS)}); give a 'lang' field or --lang if it is one of them"))
        return None
    problems.append((where, f"cannot tell the language (detected {found!r}: Serbian, Bosnian and Croatian in "
                            "Latin script look alike); give a 'lang' field or --lang"))
    return None


def normalise(raws: list[Raw], tax: Taxonomy, prefix: str, problems: list, warnings: list,
              default_lang: str | None = None) -> list[dict]:
    """Validate raw records into passage records (``id, text, lang, narratives, stance, source, split``)."""
    out: list[dict] = []
    seen: dict[str, dict] = {}
    for i, r in enumerate(raws, 1):
        bad = len(problems)
        if not isinstance(r.text, str) or not r.text.strip():
            problems.append((r.where, "empty text"))
            continue
        if has_lone_surrogate(r.text):
            problems.append((r.where, "text is not valid Unicode (lone surrogate)"))
            continue
        narr = r.narratives
        if not isinstance(narr, list) or not all(isinstance(n, str) for n in narr):
            problems.append((r.where, f"narratives must be a list of ids, got {narr!r}"))
            continue
        unknown = [n for n in narr if n not in tax.ids]
        if unknown:
            problems.append((r.where, f"unknown narrative id(s) {unknown}; valid: {', '.join(tax.ids)} (add one with "
                                      "`narratives labels add-narrative`)"))
        stance = r.stance if r.stance not in (None, "") else ("none" if not narr else None)
        if stance not in STANCES:
            problems.append((r.where, f"stance must be one of {', '.join(STANCES)}, got {r.stance!r}"))
        elif (stance == "none") != (not narr):
            problems.append((r.where, "stance must be 'none' exactly when there are no narratives"))
        if r.split is not None and r.split not in SPLITS[:2]:
            problems.append((r.where, f"split must be train or dev (the test split is frozen), got {r.split!r}"))
        lang = _language(r.text, r.lang, default_lang, r.where, problems)
        if len(problems) > bad:
            continue
        rec = {"id": str(r.id) if r.id not in (None, "") else f"{prefix}-{i}", "text": r.text, "lang": lang,
               "narratives": sorted(set(narr)), "stance": stance,
               "source": str(r.source) if r.source not in (None, "") else f"{prefix}-{i}", "split": r.split}
        key = " ".join(r.text.split()).casefold()
        if key in seen:
            first = seen[key]
            if (first["narratives"], first["stance"]) != (rec["narratives"], rec["stance"]):
                problems.append((r.where, f"the same text is labelled differently at {first['where']} "
                                          f"({first['narratives']}/{first['stance']} vs {rec['narratives']}/{rec['stance']})"))
            else:
                warnings.append((r.where, f"duplicate of {first['where']}; kept once"))
            continue
        seen[key] = {**rec, "where": r.where}
        out.append(rec)
    id_at: dict[str, str] = {}
    for rec in out:
        where, rid = str(seen[" ".join(str(rec["text"]).split()).casefold()]["where"]), str(rec["id"])
        if rid in id_at:
            problems.append((where, f"id {rid!r} is used twice in this file (first at {id_at[rid]})"))
        id_at.setdefault(rid, where)
    return out


def import_labels(path: str | Path, labels: str | Path | None = None, corpus: str | Path | None = None,
                  name: str | None = None, fmt: str | None = None, lang: str | None = None,
                  text_field: str = "text", dry_run: bool = False) -> ImportResult:
    """Import a label file into ``<labels>/<name>.jsonl`` (default name ``imported_<file stem>``).

    Raises :class:`~narratives.train.data.LabelError` listing every problem, and writes nothing, when
    any record is invalid, conflicts with another (same text, other labels; same id), or the target
    exists. Texts already in the label folder with the same labels are skipped with a warning.

    >>> import_labels("new.csv", name="week48")  # doctest: +SKIP
    ImportResult(records=[{'id': 'week48-1', ...}], problems=[], warnings=[])
    """
    from narratives.model.artifact import atomic_write_text
    from narratives.model.paths import labels_dir
    from narratives.model.taxonomy import load_taxonomy

    from .data import LabelError, Passage, load_passages
    from .passage_rule import folder_bounds, word_problem
    from .splits import assign_splits

    path = Path(path)
    folder = Path(labels) if labels is not None else labels_dir()
    tax = load_taxonomy(folder / "taxonomy.yaml")
    name = name or f"imported_{path.stem}"
    if not SAFE_NAME.match(name) or name.endswith(".jsonl") or name == "seed_spans":
        raise LabelError([(name, "the name must be letters, digits, '_', '-' or '.', without .jsonl")])
    target = folder / f"{name}.jsonl"
    raws, problems, warnings = read_label_file(path, fmt, text_field)
    records = normalise(raws, tax, name, problems, warnings, lang)
    existing = load_passages(folder, corpus, tax, require_split=False)
    by_id = {p.id: p for p in existing}
    by_text = {" ".join(p.text.split()).casefold(): p for p in existing}
    where_of = {r.text: r.where for r in reversed(raws) if isinstance(r.text, str)}  # the first occurrence wins
    limits = folder_bounds(folder)
    kept = []
    for rec in records:
        where = where_of[rec["text"]]
        problem = word_problem(rec["text"], limits)
        if problem:  # the rule `labels check` applies; `suggest` proposes nothing outside it
            problems.append((where, f"{problem} under {folder / 'targets.yaml'}: shorten, extend or leave it out "
                                    "(standalone headings go in a headline file, see targets.yaml)"))
            continue
        old = by_text.get(" ".join(rec["text"].split()).casefold())
        if old is not None:
            if (list(old.narratives), old.stance) == (rec["narratives"], rec["stance"]):
                warnings.append((where, f"already labelled at {old.where}; skipped"))
            else:
                problems.append((where, f"labelled differently at {old.where} ({list(old.narratives)}/{old.stance})"))
            continue
        if rec["id"] in by_id:
            problems.append((where, f"id {rec['id']!r} is already used at {by_id[rec['id']].where}"))
            continue
        kept.append(rec)
    if target.exists():
        problems.append((str(target), "exists already; choose another --name (an import never overwrites labels)"))
    if not problems and kept:
        new = [Passage(r["id"], r["text"], tuple(r["narratives"]), r["stance"], r["source"], r["split"], r["lang"],
                       str(target)) for r in kept]
        # New sources are stratified among themselves, so each import brings its own share of dev passages
        # (the label folder's dev split may be full already); a source already in a split stays there.
        known = {p.source: p.split for p in existing if p.split}
        given: dict[str, set] = {}
        for r in kept:
            given.setdefault(r["source"], set()).update({r["split"]} - {None})
        for source, splits in sorted(given.items()):
            if known.get(source) == "test":
                problems.append((str(path), f"source {source!r} is in the test split, which takes no imported "
                                            "passages (it is, or will be, frozen); give new passages a new source"))
            elif len(splits) > 1 or (source in known and splits - {known[source]}):
                problems.append((str(path), f"source {source!r} would feed several splits "
                                            f"({', '.join(sorted(splits | ({known[source]} if source in known else set())))}); "
                                            "all passages of a source share one split"))
        for r in kept:
            if r["source"] in known:
                r["split"] = r["split"] or known[r["source"]]
            elif given.get(r["source"]):
                r["split"] = r["split"] or next(iter(given[r["source"]]))
        fresh = [p for p in new if p.source not in known and not given.get(p.source)]
        assignment = assign_splits(fresh, frozen_test=True) if fresh and not problems else {}
        for r in kept:
            r["split"] = r["split"] or assignment.get(r["source"])
    if problems:
        raise LabelError(problems)
    if not dry_run and kept:
        try:
            atomic_write_text(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), exclusive=True)
        except FileExistsError:
            raise LabelError([(str(target), "exists already; choose another --name")]) from None
        refresh_card(folder, corpus)
    return ImportResult(kept, problems, warnings)


def refresh_card(folder: Path, corpus: str | Path | None = None) -> bool:
    """Regenerate the counts section of the label folder's data card (``README.md``) after the labels
    changed, so ``narratives labels check`` passes without a separate ``narratives labels card``; a folder
    without a card (or without its markers) is left alone. Returns whether the card changed."""
    from .data import load_passages
    from .datacard import START, update_card

    card = folder / "README.md"
    if not card.exists() or START not in card.read_text(encoding="utf-8"):
        return False
    return update_card(card, load_passages(folder, corpus, require_split=False))

