"""Read articles from .txt and .html files, folders, JSONL, CSV and Parquet files, or standard input.

Every item is a dict with ``id``, ``text`` and ``source`` (file, or file:line), plus the record's other
fields; an unreadable item becomes ``{"id", "source", "error"}`` so the batch goes on.

>>> import io
>>> [a["id"] for a in read_jsonl_stream(io.StringIO('{"id": "a1", "text": "x"}\\n'), "<stdin>")]
['a1']
"""
from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
CSV_SUFFIXES = {".csv"}
PARQUET_SUFFIXES = {".parquet"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | CSV_SUFFIXES | PARQUET_SUFFIXES


def _record(rec: dict, where: str, id_field: str, text_field: str, fallback_id: str) -> dict:
    if text_field not in rec:
        return {"id": str(rec.get(id_field, fallback_id)), "source": where,
                "error": f"{where}: missing field {text_field!r} (fields: {', '.join(map(str, rec)) or 'none'})"}
    text = rec[text_field]
    rid = rec.get(id_field)
    rid = fallback_id if rid is None or rid == "" else str(rid)
    if not isinstance(text, str):
        return {"id": rid, "source": where,
                "error": f"{where}: field {text_field!r} must be a string, got {type(text).__name__}"}
    extra = {k: _json_safe(v) for k, v in rec.items() if k not in (id_field, text_field)}
    return {"id": rid, "text": text, "source": where, "extra": extra}


def _json_safe(v):
    """NaN and infinities (which Python's json reads) become null: strict JSON parsers reject them."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def read_jsonl_stream(fh: Iterable[str] | Iterable[bytes], name: str, id_field: str = "id",
                      text_field: str = "text") -> Iterator[dict]:
    for no, line in enumerate(fh, 1):
        where = f"{name}:{no}"
        raw: str
        if isinstance(line, bytes):
            try:
                raw = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield {"id": where, "source": where, "error": f"{where}: not valid UTF-8 ({exc.reason})"}
                continue
        else:
            raw = str(line)
        if no == 1:
            raw = raw.lstrip("\ufeff")
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield {"id": where, "source": where, "error": f"{where}: malformed JSON: {exc.msg} (column {exc.colno})"}
            continue
        except RecursionError:
            yield {"id": where, "source": where, "error": f"{where}: malformed JSON: nested too deeply"}
            continue
        if not isinstance(rec, dict):
            yield {"id": where, "source": where, "error": f"{where}: expected a JSON object, got {type(rec).__name__}"}
            continue
        yield _record(rec, where, id_field, text_field, where)


def read_csv_file(path: Path, id_field: str = "id", text_field: str = "text") -> Iterator[dict]:
    """Rows of a CSV file, streamed (memory stays flat however long the file is)."""
    csv.field_size_limit(1 << 30)
    where = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, strict=True)
            fields = reader.fieldnames or []
            if text_field not in fields:
                yield {"id": str(path), "source": str(path),
                       "error": f"{path}: missing column {text_field!r} (columns: {', '.join(fields) or 'none'})"}
                return
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:  # more cells than header columns
                    yield {"id": where, "source": where, "error": f"{where}: row has more cells than the header"}
                    continue
                if None in row.values():  # DictReader pads short rows with None
                    yield {"id": where, "source": where,
                           "error": f"{where}: row has fewer cells than the header ({len(fields)} columns)"}
                    continue
                yield _record(row, where, id_field, text_field, where)
    except UnicodeDecodeError as exc:
        yield {"id": where, "source": where,
               "error": f"{path}: not valid UTF-8 after {where} ({exc.reason}); the rest of the file was not read"}
    except csv.Error as exc:
        yield {"id": where, "source": where,
               "error": f"{where}: CSV error: {exc} (an unterminated quote? the rest of the file was not read)"}


def read_parquet_file(path: Path, id_field: str = "id", text_field: str = "text") -> Iterator[dict]:
    """Rows of a Parquet file, read in record batches (memory stays flat)."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        yield {"id": str(path), "source": str(path), "error": f"{path}: not a readable Parquet file ({exc})"}
        return
    names = pf.schema_arrow.names
    if text_field not in names:
        yield {"id": str(path), "source": str(path),
               "error": f"{path}: missing column {text_field!r} (columns: {', '.join(names) or 'none'})"}
        return
    row_no = 0
    for batch in pf.iter_batches(batch_size=1000):
        for row in batch.to_pylist():
            row_no += 1
            where = f"{path}:{row_no}"
            yield _record({k: _json_safe(_plain(v)) for k, v in row.items()}, where, id_field, text_field, where)


def _plain(v):
    """Parquet values JSON cannot hold (dates, decimals, bytes) become strings."""
    if v is None or isinstance(v, (str, int, float, bool, list, dict)):
        return v
    return str(v)


def read_html_file(path: Path) -> dict:
    from .html import html_to_text

    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return {"id": path.stem, "source": str(path), "error": f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})"}
    text, title = html_to_text(raw)
    return {"id": path.stem, "text": text, "source": str(path), "extra": {"title": title} if title else {}}


def read_text_file(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return {"id": path.stem, "source": str(path), "error": f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})"}
    return {"id": path.stem, "text": text, "source": str(path), "extra": {}}


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Folders become their supported files (recursively, sorted); ``-`` stays standard input."""
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            yield from (str(f) for f in sorted(path.rglob("*")) if f.is_file() and f.suffix.lower() in SUPPORTED)
        else:
            yield p


def read_articles(paths: Iterable[str], id_field: str = "id", text_field: str = "text",
                  stdin: IO[bytes] | None = None) -> Iterator[dict]:
    """Yield one item per article found in ``paths`` (files, folders, or ``-`` for JSONL on stdin).

    >>> next(read_articles(["/nonexistent.txt"]))["error"]
    '/nonexistent.txt: file not found'
    """
    for p in expand_paths(paths):
        if p == "-":
            yield from read_jsonl_stream(stdin or sys.stdin.buffer, "<stdin>", id_field, text_field)
            continue
        path = Path(p)
        suffix = path.suffix.lower()
        if not path.exists():
            yield {"id": p, "source": p, "error": f"{p}: file not found"}
        elif suffix not in SUPPORTED:
            yield {"id": p, "source": p,
                   "error": f"{p}: unsupported file type {suffix or '(none)'} (use {', '.join(sorted(SUPPORTED))})"}
        elif suffix in TEXT_SUFFIXES:
            yield read_text_file(path)
        elif suffix in HTML_SUFFIXES:
            yield read_html_file(path)
        elif suffix in PARQUET_SUFFIXES:
            yield from read_parquet_file(path, id_field, text_field)
        elif suffix in CSV_SUFFIXES:
            yield from read_csv_file(path, id_field, text_field)
        else:
            with open(path, "rb") as fh:
                yield from read_jsonl_stream(fh, p, id_field, text_field)
