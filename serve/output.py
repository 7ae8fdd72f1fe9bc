"""Writers for article records: JSONL (resumable), CSV and Parquet, chosen by extension or flag.

CSV and Parquet hold one row per article with flat columns: ``id``, ``source``, ``narratives`` and
``stances`` (``;``-separated), ``stance``, one ``score_<narrative>`` column each, ``evidence``, ``errors``
and ``warnings`` as JSON text, the model version and hash, and any passed-through fields as JSON text.

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
FIXED = ("id", "source", "narratives", "stance", "stances", "scores", "evidence", "n_passages", "model_version",
         "model_hash", "text_sha256", "lang", "errors", "warnings")


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
    extra = {k: v for k, v in rec.items() if k not in FIXED}
    row["fields"] = json.dumps(extra, ensure_ascii=True, default=str) if extra else ""
    return row


def done_sources(path: Path) -> set[str]:
    """For ``--resume``: the sources already in a JSONL output. A last line cut off by a kill is removed
    first (its article is scored again), so the file never holds a broken or duplicated record."""
    if not path.exists():
        return set()
    with open(path, "rb+") as fh:
        data = fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            fh.truncate(end)
            data = data[:end]
    done = set()
    for no, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        try:
            rec = json.loads(line)
            done.add(str(rec["source"]))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}:{no}: not a record written by narratives score; cannot resume") from None
    return done


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
            self.csv.writerow({c: flat_row(rec).get(c) for c in self.columns})
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
