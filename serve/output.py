"""Writers for article records: JSONL (resumable), CSV and Parquet, chosen by extension or flag.

CSV and Parquet hold one row per article with flat columns: ``id``, ``source``, ``narratives`` and
``stances`` (``;``-separated), ``stance``, one ``score_<narrative>`` column each, ``evidence``, ``errors``
and ``warnings`` as JSON text, the model version and hash, and any passed-through fields as JSON text.
A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so
that a spreadsheet shows it as text instead of running it as a formula (OWASP, "CSV injection").

>>> flat_row({"id": "a", "narratives": ["x"], "stances": {"x": "promotes"}, "scores": {"x": 0.9},
...           "evidence": {}, "errors": [], "warnings": [], "stance": "promotes"})["score_x"]
0.9
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


def flat_row(rec: dict) -> dict:
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
    row["fields"] = json.dumps(extra, ensure_ascii=True, default=str) if extra else ""
    return row


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
        self.columns = ["id", "source", "narratives", "stance", "stances", *[f"score_{lab}" for lab in labels],
                        "n_passages", "model_version", "model_hash", "text_sha256", "lang", "evidence", "errors", "warnings",
                        "fields"]
        self._rows: list[dict] = []
        self._parquet: Any = None
        self.fh: Any = None
        if fmt == "jsonl":
            self.fh = open(path, "a" if append else "w", encoding="utf-8") if path else stdout
        elif fmt == "csv":
            assert path is not None
            self.fh = open(path, "w", encoding="utf-8", newline="")
            self.csv = csv.DictWriter(self.fh, fieldnames=self.columns)
            self.csv.writeheader()

    def write(self, rec: dict) -> None:
        if self.fmt == "jsonl":
            assert self.fh is not None
            self.fh.write(json_line(rec))
            self.fh.flush()  # a kill loses at most the line being written
        elif self.fmt == "csv":
            row = flat_row(rec)
            self.csv.writerow({c: csv_safe(row.get(c)) for c in self.columns})
        else:
            self._rows.append(flat_row(rec))
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
        schema = self._schema()
        table = pa.table({f.name: pa.array([r.get(f.name) for r in self._rows], type=f.type) for f in schema},
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
            self.fh.close()
