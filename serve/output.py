"""Writers for article records: JSONL (resumable), CSV and Parquet, chosen by extension or flag; and the
reader that turns any of the three back into records (for ``narratives report``).

CSV and Parquet hold one row per article with flat columns: ``id``, ``source``, ``narratives`` and
``stances`` (``;``-separated), ``stance``, one ``score_<narrative>`` column each, ``n_passages``, the model
version and hash, ``text_sha256``, ``lang``, ``evidence``, ``errors`` and ``warnings`` as JSON text; then
the article's passed-through fields (outlet, date, url ...) as columns of their own, named as in the
input (text as is; numbers, lists and objects as JSON text), in the order the first record had them. A
field the first record did not have (or whose name is taken by a column above) goes into a last
``fields`` column as JSON text, empty when there is none.
A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so
that a spreadsheet shows it as text instead of running it as a formula (OWASP, "CSV injection").

>>> flat_row({"id": "a", "narratives": ["x"], "stances": {"x": "promotes"}, "scores": {"x": 0.9},
...           "evidence": {}, "errors": [], "warnings": [], "stance": "promotes", "outlet": "Daily"}, ["outlet"])["outlet"]
'Daily'
>>> unflat_row({"id": "a", "narratives": "x", "stances": "x=promotes", "score_x": "0.9", "outlet": "Daily",
...             "evidence": "{}", "errors": "[]", "warnings": "[]", "fields": ""})["outlet"]
'Daily'
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import IO, Any

FORMATS = ("jsonl", "csv", "parquet")


def output_format(path: Path | None, explicit: str | None) -> str:
    """The format for ``path``: ``explicit`` if given, else by extension (``.csv``, ``.parquet``), else JSONL."""
    if explicit:
        return explicit
    if path is None:
        return "jsonl"
    return {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower(), "jsonl")


def json_line(rec: dict) -> str:
    """One JSON line; text that is not valid Unicode (lone surrogates) is written escaped, not lost."""
    line = json.dumps(rec, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(rec, ensure_ascii=True)
    return line + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_RECORD_LINE = 64_000_000  # a record line that --resume reads (records hold evidence, not the text)


def csv_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula: text starting with ``= + - @``, a tab or a
    carriage return gets a leading ``'`` (OWASP); other values are unchanged.

    >>> csv_safe("=1+1"), csv_safe("-2"), csv_safe("plain"), csv_safe(-2.5)
    ("'=1+1", "'-2", 'plain', -2.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def flat_row(rec: dict, extra_columns: list[str] | tuple[str, ...] = ()) -> dict:
    """One CSV/Parquet row of a record; its fields in ``extra_columns`` become columns, the rest ``fields``."""
    row = {"id": rec.get("id"), "source": rec.get("source"), "narratives": ";".join(rec.get("narratives", [])),
           "stance": rec.get("stance"),
           "stances": ";".join(f"{k}={v}" for k, v in rec.get("stances", {}).items())}
    for lab, v in rec.get("scores", {}).items():
        row[f"score_{lab}"] = v
    for key in ("n_passages", "model_version", "model_hash", "text_sha256", "lang"):
        row[key] = rec.get(key)
    for key in ("evidence", "errors", "warnings"):
        row[key] = json.dumps(rec.get(key, []), ensure_ascii=True)
    from .records import article_fields

    fixed = article_fields()
    extra = {k: v for k, v in rec.items() if k not in fixed}
    for k in extra_columns:
        v = extra.pop(k, None)
        row[k] = v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=True, default=str)
    row["fields"] = json.dumps(extra, ensure_ascii=True, default=str) if extra else ""
    return row


def _extra_names(rec: dict, taken: list[str]) -> list[str]:
    from .records import article_fields

    fixed = article_fields()
    return [k for k in rec if k not in fixed and k not in taken and k != "fields"]


def unflat_row(row: dict) -> dict:
    """A record from a CSV or Parquet row written by :class:`Writer` (the inverse of :func:`flat_row`, with
    passed-through fields as text)."""
    def js(v, empty):
        return json.loads(v) if isinstance(v, str) and v else empty

    rec: dict = {"id": row.get("id"), "source": row.get("source"),
                 "narratives": [n for n in str(row.get("narratives") or "").split(";") if n],
                 "stance": row.get("stance"),
                 "stances": dict(x.split("=", 1) for x in str(row.get("stances") or "").split(";") if "=" in x),
                 "scores": {k[6:]: float(v) for k, v in row.items() if k.startswith("score_") and v not in (None, "")}}
    for key in ("model_version", "model_hash", "text_sha256", "lang"):
        rec[key] = row.get(key)
    n = row.get("n_passages")
    rec["n_passages"] = int(n) if n not in (None, "") else None
    for key, empty in (("evidence", {}), ("errors", []), ("warnings", [])):
        rec[key] = js(row.get(key), empty)
    known = set(rec) | {"fields"}
    rec.update({k: v for k, v in row.items() if k not in known and not k.startswith("score_") and v not in (None, "")})
    rec.update(js(row.get("fields"), {}))
    return rec


def done_sources(path: Path) -> set[str]:
    """For ``--resume``: the sources already in a JSONL output. A last line cut off by a kill is removed
    first (its article is scored again), so the file never holds a broken or duplicated record. The file
    is read line by line: memory holds the sources, not the records.

    >>> done_sources(Path("/nonexistent.jsonl"))
    set()
    """
    from narratives.model.textfiles import bounded_lines

    from .records import check_article_record

    if not path.exists():
        return set()
    with open(path, "rb+") as fh:
        end = _complete_end(fh)
        if end < fh.seek(0, os.SEEK_END):
            fh.truncate(end)
        fh.seek(0)
        done = set()
        for no, line in bounded_lines(fh, MAX_RECORD_LINE):
            try:
                if line is None:
                    raise ValueError
                obj = json.loads(line)
            except (ValueError, RecursionError):
                raise ValueError(f"{path}:{no}: not a record written by narratives score; cannot resume") from None
            try:
                done.add(str(check_article_record(obj, f"{path}:{no}")["source"]))
            except ValueError as exc:
                raise ValueError(f"{exc}; cannot resume") from None
    return done


def _complete_end(fh: IO[bytes], block: int = 1 << 16) -> int:
    """The offset just past the last newline of ``fh`` (0 if none), found by reading back from the end."""
    pos = fh.seek(0, os.SEEK_END)
    while pos > 0:
        start = max(0, pos - block)
        fh.seek(start)
        chunk = fh.read(pos - start)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = start
    return 0


class Writer:
    """Writes records to ``path`` (or standard output for JSONL) in ``fmt``; ``append`` continues a JSONL file."""

    def __init__(self, path: Path | None, fmt: str, labels: list[str], append: bool = False, stdout: IO[str] | None = None):
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
        if fmt != "jsonl" and path is None:
            raise ValueError(f"{fmt} output needs -o FILE")
        if append and fmt != "jsonl":
            raise ValueError("--resume works with JSONL output only")
        self.path, self.fmt, self.labels = path, fmt, labels
        self.base = ["id", "source", "narratives", "stance", "stances", *[f"score_{lab}" for lab in labels],
                     "n_passages", "model_version", "model_hash", "text_sha256", "lang", "evidence", "errors", "warnings"]
        self.extra: list[str] | None = None  # the passed-through fields' columns, from the first record
        self.columns = [*self.base, "fields"]
        self._rows: list[dict] = []
        self._parquet: Any = None
        self.fh: Any = None
        self.csv: Any = None
        if fmt == "jsonl":
            self.fh = open(path, "a" if append else "w", encoding="utf-8") if path else stdout
        elif fmt == "csv":
            assert path is not None
            self.fh = open(path, "w", encoding="utf-8", newline="")

    def _start(self, extra: list[str]) -> None:
        """Fix the columns (the header is written once the first record shows its fields)."""
        self.extra = extra
        self.columns = [*self.base, *extra, "fields"]
        if self.fmt == "csv":
            self.csv = csv.DictWriter(self.fh, fieldnames=self.columns)
            self.csv.writeheader()

    def write(self, rec: dict) -> None:
        if self.fmt == "jsonl":
            assert self.fh is not None
            self.fh.write(json_line(rec))
            self.fh.flush()  # a kill loses at most the line being written
        elif self.fmt == "csv":
            if self.extra is None:
                self._start(_extra_names(rec, self.base))
            row = flat_row(rec, self.extra or ())
            self.csv.writerow({c: csv_safe(row.get(c)) for c in self.columns})
        else:
            self._rows.append(rec)
            if len(self._rows) >= 1000:
                self._flush_parquet()

    def _schema(self):
        import pyarrow as pa

        return pa.schema([(c, pa.float64() if c.startswith("score_") else pa.int64() if c == "n_passages"
                           else pa.string()) for c in self.columns])

    def _flush_parquet(self, force: bool = False) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows and not force:
            return
        if self.extra is None:
            self._start(_extra_names(self._rows[0], self.base) if self._rows else [])
        schema = self._schema()
        rows = [flat_row(r, self.extra or ()) for r in self._rows]
        table = pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema},
                         schema=schema)
        if self._parquet is None:
            self._tmp = Path(f"{self.path}.partial-{os.getpid()}")
            self._parquet = pq.ParquetWriter(str(self._tmp), table.schema)
        self._parquet.write_table(table)
        self._rows = []

    def close(self) -> None:
        if self.fmt == "parquet":
            self._flush_parquet(force=self._parquet is None)  # no records: still a valid, empty file
            self._parquet.close()
            assert self.path is not None
            os.replace(self._tmp, self.path)  # a Parquet file is only valid once closed: publish it whole
        elif self.path is not None:
            if self.fmt == "csv" and self.extra is None:
                self._start([])  # no records: still a CSV file with its header
            self.fh.close()


def read_records(path: Path) -> list[dict]:
    """The records of a ``narratives score`` output in any of its formats (by extension: ``.csv``,
    ``.parquet``, else JSONL); a line or row that is not a record is an error naming it."""
    from .records import check_article_record

    fmt = output_format(path, None)
    if fmt == "jsonl":
        from narratives.model.textfiles import read_jsonl

        out = []
        with open(path, "rb") as fh:
            for no, rec, err in read_jsonl(fh, MAX_RECORD_LINE):
                if rec is None:
                    raise ValueError(f"{path}:{no}: not a JSON record ({err})")
                out.append(check_article_record(rec, f"{path}:{no}"))
        return out
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as fh:
            try:
                rows = list(csv.DictReader(fh))
            except csv.Error as exc:
                raise ValueError(f"{path}: not a CSV file ({exc})") from None
        first = 2  # line 1 is the header
        rows = [{k: v[1:] if isinstance(v, str) and v[:1] == "'" and v[1:2] in FORMULA_START else v
                 for k, v in row.items()} for row in rows]  # undo csv_safe
    else:
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise ValueError(f"{path}: not a Parquet file ({exc})") from None
        first = 1
    out = []
    for no, row in enumerate(rows, first):
        if "narratives" not in row or "id" not in row:
            raise ValueError(f"{path}: {'line' if fmt == 'csv' else 'row'} {no}: not a record written by narratives score "
                             "(no 'narratives' column)")
        where = f"{path}: {'line' if fmt == 'csv' else 'row'} {no}"
        try:
            rec = unflat_row(row)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: unreadable ({exc})") from None
        out.append(check_article_record(rec, where))
    return out
