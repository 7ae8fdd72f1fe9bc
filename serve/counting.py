"""How many articles a list of inputs holds, for the progress bar's total and ETA (``narratives score``,
``narratives suggest``). Counted only when a bar is drawn; ``None`` when it cannot be known cheaply
(standard input, an unreadable file): the bar then shows a count without a total.

>>> count_articles(["data/samples"])
14
>>> count_articles(["-"]) is None
True
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path


def _jsonl(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            n += bool(line.strip())
    return n


def _csv(path: Path) -> int:
    with open(path, "rb") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
        csv.field_size_limit(2**31 - 1)
        return max(0, sum(1 for _ in csv.reader(text)) - 1)  # the header is not an article


def _parquet(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(str(path)).metadata.num_rows)


def count_articles(paths: Iterable[str]) -> int | None:
    """Articles in ``paths`` (files and folders as ``narratives score`` reads them), or ``None``."""
    from .readers import CSV_SUFFIXES, JSONL_SUFFIXES, PARQUET_SUFFIXES, expand_paths

    total = 0
    for p in expand_paths(paths):
        if p == "-":
            return None
        path = Path(p)
        suffix = path.suffix.lower()
        try:
            if suffix in CSV_SUFFIXES:
                total += _csv(path)
            elif suffix in PARQUET_SUFFIXES:
                total += _parquet(path)
            elif suffix in JSONL_SUFFIXES:
                total += _jsonl(path)
            else:
                total += 1  # a .txt or .html file, or one that becomes a single error record
        except Exception:  # noqa: BLE001 - a file the reader will report; the bar just has no total
            return None
    return total
