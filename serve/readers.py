"""Read articles from .txt and .html files, folders, JSONL, CSV and Parquet files, or standard input.

Every item is a dict with ``id``, ``text`` and ``source`` (file, or file:line), plus the record's other
fields; an unreadable item becomes ``{"id", "source", "error"}`` so the batch goes on.

Limits: one article record (a .txt or .html file, a JSONL line, a CSV line or field, a Parquet text value)
may hold at most ``MAX_ARTICLE_BYTES`` (10 MB, five times what the 2,000 scored passages of an article can
hold); a bigger one is an error record, refused by size before it is read into memory (Parquet values are
checked once pyarrow has read their row batch). A byte-order mark and CRLF line endings are accepted. An
id seen earlier in the same run gets a warning naming the first one; the article is still scored.

Hostile input (issue 17): a path that is not a regular file (a FIFO, a device, a folder link) or that
cannot be read (permission denied, an I/O error, a symlink loop) is an error record, as is a JSONL record
with a key given twice or a value nested more than ``MAX_JSON_DEPTH`` levels, and a Parquet text value
of binary type; the batch goes on.

>>> import io
>>> [a["id"] for a in read_jsonl_stream(io.StringIO('{"id": "a1", "text": "x"}\\n'), "<stdin>")]
['a1']
"""
from __future__ import annotations

import csv
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
MAX_ARTICLE_BYTES = 10_000_000  # one article record; see the module docstring
MAX_TRACKED_IDS = 1_000_000  # ids remembered for the duplicate warning (bounds memory on huge runs)
_BAD_LINE = "\U0010fffe"  # stands in, for the CSV parser, for a line that was too long or not UTF-8


def _too_big(where: str, what: str) -> str:
    return f"{where}: {what} is over {MAX_ARTICLE_BYTES:,} bytes (the limit for one article); skipped"


def _record(rec: dict, where: str, id_field: str, text_field: str, fallback_id: str) -> dict:
    from narratives.model.textfiles import check_json_value

    deep = check_json_value(rec, strict=False)  # before anything recurses into it (writing it did)
    if deep is not None:
        return {"id": where, "source": where, "error": f"{where}: {deep}"}
    if text_field not in rec:
        return {"id": str(rec.get(id_field, fallback_id)), "source": where,
                "error": f"{where}: missing field {text_field!r} (fields: {', '.join(map(str, rec)) or 'none'})"}
    text = rec[text_field]
    rid = rec.get(id_field)
    rid = fallback_id if rid is None or rid == "" else str(rid)
    if not isinstance(text, str):
        return {"id": rid, "source": where,
                "error": f"{where}: field {text_field!r} must be a string, got {type(text).__name__}"}
    if len(text) > MAX_ARTICLE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_ARTICLE_BYTES:
        return {"id": rid, "source": where, "error": _too_big(where, f"field {text_field!r}")}
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
    """One item per non-blank line of a JSONL stream (a binary file, standard input, or lines of text);
    a line that cannot be read (also one with a key given twice) becomes an error item naming ``name``
    and the line (:func:`narratives.model.textfiles.read_jsonl`, the one JSONL reader)."""
    from narratives.model.textfiles import read_jsonl  # here: `narratives --help` must not load numpy

    too_long = f"line is over {MAX_ARTICLE_BYTES:,} bytes (the limit for one article); skipped"
    for no, rec, err in read_jsonl(fh, MAX_ARTICLE_BYTES, too_long):
        where = f"{name}:{no}"
        if rec is None:
            yield {"id": where, "source": where, "error": f"{where}: {err}"}
            continue
        yield _record(rec, where, id_field, text_field, where)


def _csv_lines(fh: IO[bytes], bad: dict[int, str]) -> Iterator[str]:
    """Decoded lines for the CSV parser. A line that is not UTF-8 is recorded in ``bad`` and passed on
    with its bad bytes escaped (so quoting still parses); a line too long is recorded and replaced by a
    marker. Either way the parser goes on with the next line."""
    from narratives.model.textfiles import BOM, bounded_lines

    for no, line in bounded_lines(fh, MAX_ARTICLE_BYTES):
        if line is None:
            bad[no] = "line"
            yield _BAD_LINE + "\n"
            continue
        if no == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad[no] = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            yield line.decode("utf-8", "surrogateescape")


def read_csv_file(path: Path, id_field: str = "id", text_field: str = "text", fh: IO[bytes] | None = None
                  ) -> Iterator[dict]:
    """Rows of a CSV file (or of ``fh``, already open), streamed (memory stays flat however long the file
    or any line is)."""
    csv.field_size_limit(MAX_ARTICLE_BYTES)
    where = str(path)
    bad: dict[int, str] = {}

    def bad_item(no: int) -> dict:
        at = f"{path}:{no}"
        msg = _too_big(at, "line") if bad[no] == "line" else f"{at}: {bad[no]}"
        return {"id": at, "source": at, "error": msg}

    try:
        with fh or open(path, "rb") as fh:
            reader = csv.DictReader(_csv_lines(fh, bad), strict=True)
            fields = reader.fieldnames or []
            if 1 in bad:
                yield bad_item(1) | {"error": bad_item(1)["error"] + " (the header; the file was not read)"}
                return
            if text_field not in fields:
                yield {"id": str(path), "source": str(path),
                       "error": f"{path}: missing column {text_field!r} (columns: {', '.join(fields) or 'none'})"}
                return
            last = reader.line_num
            for row in reader:
                first, last = last + 1, reader.line_num
                where = f"{path}:{last}"
                broken = [no for no in range(first, last + 1) if no in bad]
                if broken:  # the row holds a line that could not be read: report that line instead
                    yield from (bad_item(no) for no in broken)
                    continue
                if None in row:  # more cells than header columns
                    yield {"id": where, "source": where, "error": f"{where}: row has more cells than the header"}
                    continue
                if None in row.values():  # DictReader pads short rows with None
                    yield {"id": where, "source": where,
                           "error": f"{where}: row has fewer cells than the header ({len(fields)} columns)"}
                    continue
                yield _record(row, where, id_field, text_field, where)
    except csv.Error as exc:
        yield {"id": where, "source": where,
               "error": f"{where}: CSV error: {exc} (an unterminated quote? the rest of the file was not read)"}


def read_parquet_file(path: Path, id_field: str = "id", text_field: str = "text", fh: IO[bytes] | None = None
                      ) -> Iterator[dict]:
    """Rows of a Parquet file (or of ``fh``, already open), read in record batches (memory stays flat). A
    binary text value is an error, never its Python repr."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh if fh is not None else str(path))
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
        for row in _rows(batch):
            row_no += 1
            where = f"{path}:{row_no}"
            if isinstance(row, Exception):
                why = f"not valid UTF-8 ({row.reason})" if isinstance(row, UnicodeDecodeError) else f"unreadable row ({row})"
                yield {"id": where, "source": where, "error": f"{where}: {why}"}
                continue
            yield _record({k: v if k == text_field and isinstance(v, bytes) else _json_safe(_plain(v))
                           for k, v in row.items()}, where, id_field, text_field, where)


def _rows(batch) -> Iterator[dict | Exception]:
    """A record batch as dicts; when the batch holds a value Python cannot take (invalid UTF-8 in a
    string column), each row is converted on its own and the bad ones become their exception."""
    try:
        yield from batch.to_pylist()
        return
    except Exception:  # noqa: BLE001 - pyarrow raises UnicodeDecodeError or ArrowException subtypes
        pass
    for i in range(batch.num_rows):
        try:
            yield batch.slice(i, 1).to_pylist()[0]
        except Exception as exc:  # noqa: BLE001
            yield exc


def _plain(v):
    """Parquet values JSON cannot hold (dates, decimals, bytes) become strings."""
    if v is None or isinstance(v, (str, int, float, bool, list, dict)):
        return v
    return str(v)


def _read_article_bytes(path: Path, fh: IO[bytes] | None = None) -> bytes | dict:
    """The bytes of a one-article file, or an error item when it is over the size limit (checked first)."""
    with fh or open(path, "rb") as fh:
        raw = fh.read(MAX_ARTICLE_BYTES + 1)
    if len(raw) > MAX_ARTICLE_BYTES:
        return {"id": path.stem, "source": str(path), "error": _too_big(str(path), "file")}
    return raw


def _read_article_text(path: Path, fh: IO[bytes] | None = None) -> str | dict:
    """The UTF-8 text of a one-article file (byte-order mark dropped), or an error item (too big, not UTF-8)."""
    raw = _read_article_bytes(path, fh)
    if isinstance(raw, dict):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return {"id": path.stem, "source": str(path), "error": f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})"}


def read_html_file(path: Path, fh: IO[bytes] | None = None) -> dict:
    """One article from an HTML file: its text without boilerplate, its title as an extra field (an
    error item for HTML nested too deeply to extract in linear time)."""
    from .html import HTMLTooDeep, html_to_text

    html = _read_article_text(path, fh)
    if isinstance(html, dict):
        return html
    try:
        text, title = html_to_text(html)
    except HTMLTooDeep as exc:
        return {"id": path.stem, "source": str(path), "error": f"{path}: {exc}; skipped"}
    return {"id": path.stem, "text": text, "source": str(path), "extra": {"title": title} if title else {}}


def read_text_file(path: Path, fh: IO[bytes] | None = None) -> dict:
    """One article from a UTF-8 text file (byte-order mark dropped, line endings kept)."""
    text = _read_article_text(path, fh)
    if isinstance(text, dict):
        return text
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
    """Yield one item per article found in ``paths`` (files, folders, or ``-`` for JSONL on stdin); an id
    seen before gets a warning naming where it was first seen.

    >>> next(read_articles(["/nonexistent.txt"]))["error"]
    '/nonexistent.txt: file not found'
    """
    seen = DuplicateIds()
    for item in _read_all(paths, id_field, text_field, stdin):
        if "error" not in item:
            warning = seen.check(item["id"], item["source"])
            if warning:
                item.setdefault("warnings", []).append(warning)
        yield item


class DuplicateIds:
    """Remembers ids (at most ``MAX_TRACKED_IDS``) and where each was first seen.

    >>> d = DuplicateIds()
    >>> d.check("a", "f:1"), d.check("a", "f:2")
    (None, "duplicate id 'a' (first at f:1)")
    """

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def check(self, rid: str, source: str) -> str | None:
        """The warning for an id seen before, else ``None`` (and the id is remembered)."""
        first = self.seen.get(rid)
        if first is not None:
            return f"duplicate id {rid!r} (first at {first})"
        if len(self.seen) < MAX_TRACKED_IDS:
            self.seen[rid] = source
        return None


def _read_all(paths: Iterable[str], id_field: str, text_field: str, stdin: IO[bytes] | None) -> Iterator[dict]:
    for p in expand_paths(paths):
        if p == "-":
            yield from read_jsonl_stream(stdin or sys.stdin.buffer, "<stdin>", id_field, text_field)
        else:
            yield from _read_path(p, id_field, text_field)


def _cannot_read(p: str, exc: OSError, rest: str = "") -> dict:
    why = exc.strerror or str(exc)
    if str(exc) == "not a regular file":
        return {"id": p, "source": p, "error": f"{p}: not a regular file; skipped"}
    return {"id": p, "source": p, "error": f"{p}: cannot read: {why}{rest}"}


def _read_path(p: str, id_field: str, text_field: str) -> Iterator[dict]:
    """The items of one file. It is opened only if it is a regular file (a FIFO would block); an error
    opening or reading it (also midway: the rest of the file is then skipped) becomes an error item."""
    from narratives.model.textfiles import open_regular

    path = Path(p)
    suffix = path.suffix.lower()
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        yield {"id": p, "source": p, "error": f"{p}: file not found"}
        return
    except OSError as exc:  # permission denied, a symlink loop, a FIFO or device
        yield _cannot_read(p, exc)
        return
    if suffix not in SUPPORTED:
        fh.close()
        yield {"id": p, "source": p,
               "error": f"{p}: unsupported file type {suffix or '(none)'} (use {', '.join(sorted(SUPPORTED))})"}
        return
    n = 0
    try:
        with fh:
            if suffix in TEXT_SUFFIXES:
                items: Iterable[dict] = [read_text_file(path, fh)]
            elif suffix in HTML_SUFFIXES:
                items = [read_html_file(path, fh)]
            elif suffix in PARQUET_SUFFIXES:
                items = read_parquet_file(path, id_field, text_field, fh)
            elif suffix in CSV_SUFFIXES:
                items = read_csv_file(path, id_field, text_field, fh)
            else:
                items = read_jsonl_stream(fh, p, id_field, text_field)
            for item in items:
                n += 1
                yield item
    except OSError as exc:  # an I/O error while reading (e.g. a link to /proc/self/mem)
        yield _cannot_read(p, exc, f" (after {n} record(s); the rest of the file was not read)" if n else "")
