"""Label files as annotation tools write them, read into :class:`Raw` records before any validation:
CSV, JSONL, a Label Studio JSON export and doccano JSONL (see :mod:`narratives.train.importers`, which
checks and normalises them). Every problem names the file and line (or task id).

>>> parse_narratives("kosovo_precedent; anti_western")
['kosovo_precedent', 'anti_western']
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from narratives.model.taxonomy import STANCES

from .data import read_jsonl

FORMATS = ("csv", "jsonl", "label-studio", "doccano")


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
            return "doccano" if rec is not None and ("label" in rec or "entities" in rec) else "jsonl"
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the extension {suffix!r}; pass --format "
                     f"({', '.join(FORMATS)})")


def _read_csv(path: Path, problems: list) -> list[Raw]:
    import io

    out = []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # name the line, and the byte within it
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1)
        problems.append((f"{path}:{line}", f"not valid UTF-8 ({exc.reason} at byte {col} of the line)"))
        return []
    try:
        with io.StringIO(text, newline="") as fh:
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
    except csv.Error as exc:
        problems.append((str(path), f"malformed CSV: {exc}"))
    return out


def _objects(path: Path, problems: list):
    """``(where, object)`` for each JSON-object line of a JSONL file; other lines become problems."""
    for no, rec, err in read_jsonl(path):
        if rec is None:
            problems.append((f"{path}:{no}", str(err)))
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
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            problems.append((where, f"'annotations' must be a list of annotations, got {annotations!r:.80}"))
            continue
        wrong = [a for a in annotations if not isinstance(a, dict)]
        if wrong:
            problems.append((where, f"an annotation must be a JSON object, got {wrong[0]!r:.80}"))
            continue
        done = [a for a in annotations if not a.get("was_cancelled")]
        if not done:
            warnings.append((where, "no completed annotation; skipped"))
            continue
        source = data.get("source") or f"{path.stem}-task-{tid}"
        versions = []
        broken = False
        for ann in done:
            choices: dict[str, list] = {}
            spans = []
            result = ann.get("result") or []
            if not isinstance(result, list):
                problems.append((where, f"an annotation's 'result' must be a list, got {result!r:.80}"))
                broken = True
                break
            for r in result:
                value = r.get("value") if isinstance(r, dict) else None
                if not isinstance(value, dict):
                    continue
                if r.get("type") == "choices":
                    if r.get("from_name") not in ("narratives", "stance"):
                        problems.append((where, f"choices named {r.get('from_name')!r}; this importer reads "
                                                "'narratives' and 'stance' (see data/labels/label_studio.xml)"))
                        continue
                    chosen = value.get("choices") or []
                    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
                        problems.append((where, f"'choices' must be a list of strings, got {chosen!r:.80}"))
                        continue
                    choices.setdefault(str(r.get("from_name")), []).extend(chosen)
                elif r.get("type") == "labels":
                    spans.append(value)
            versions.append((choices, spans))
        if broken:
            continue
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
