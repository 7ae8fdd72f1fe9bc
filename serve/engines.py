"""What Ray and Spark workers run: picklable scorers that load the model once per worker process.

* :class:`FrameScorer` scores DataFrames of articles (:func:`narratives.serve.frames.score_frame`): the
  Python entries :func:`narratives.serve.ray_engine.score_dataset` and
  :func:`narratives.serve.spark_engine.score_spark` map it over a Ray Dataset or a Spark DataFrame.
* ``narratives score --engine ray|spark`` reads each input file with the same readers as ``narratives
  score`` (:func:`file_rows`, in workers), scores the items with :class:`ItemScorer` (which calls
  :func:`narratives.serve.articles.score_articles`, the one article scorer) and brings the records back to
  the command in order (:func:`ordered_records`), which writes them with the same writers. The records
  are the ones ``narratives score`` writes without an engine, byte for byte.

Every worker loads the model directory the driver resolved and checks its hash, so a model retrained in
place while a job runs is refused rather than mixed in.

>>> import pickle
>>> s = pickle.loads(pickle.dumps(ItemScorer(model_path("baseline"))))
>>> s._clf is None
True
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .frames import model_path

__all__ = ["ENGINES", "EngineError", "FrameScorer", "ItemScorer", "engine_records", "file_rows", "model_path", "ordered_records"]
ENGINES = ("local", "ray", "spark")


class _Lazy:
    """A model reference that loads once per process, on first use, and is never pickled loaded."""

    def __init__(self, model: str | Path | None, model_hash: str | None = None):
        self.model = None if model is None else str(model)
        self.model_hash = model_hash
        self._clf: Any = None

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_clf"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._clf = None

    def clf(self):
        if self._clf is None:
            from narratives.model import ModelLoadError, load_model

            clf = load_model(self.model)  # cached per process: a worker that runs many tasks loads it once
            if self.model_hash is not None and clf.model_hash_ != self.model_hash:
                raise ModelLoadError(f"{self.model}: model hash {clf.model_hash_[:12]} on this worker, "
                                     f"{self.model_hash[:12]} on the driver (retrained while the job ran?)")
            self._clf = clf
        return self._clf


class FrameScorer(_Lazy):
    """Score a DataFrame batch of articles: a pandas frame gives a pandas frame, an Arrow table an Arrow
    table (see :mod:`narratives.serve.frames` for the columns).

    >>> import pandas as pd
    >>> FrameScorer("baseline")(pd.DataFrame({"id": ["a"], "text": ["Rain."]}))["stance"].tolist()
    ['none']
    """

    def __init__(self, model: str | Path | None = None, model_hash: str | None = None, *, id_column: str = "id",
                 text_column: str = "text", source_column: str | None = None, batch_passages: int = 256,
                 max_evidence: int = 3, min_words: int = 5):
        super().__init__(model, model_hash)
        self.options = {"id_column": id_column, "text_column": text_column, "source_column": source_column,
                        "batch_passages": batch_passages, "max_evidence": max_evidence, "min_words": min_words}

    def __call__(self, batch):
        from .frames import score_frame, score_table

        if hasattr(batch, "schema") and hasattr(batch, "column_names"):  # an Arrow table
            return score_table(batch, self.clf(), **self.options)
        return score_frame(batch, self.clf(), **self.options)

    def map_in_pandas(self, frames: Iterable) -> Iterator:
        """For Spark's ``mapInPandas``: score each pandas frame of the iterator."""
        for frame in frames:
            yield self(frame)


def file_rows(path: str, file_no: int = 0, id_field: str = "id", text_field: str = "text",
              cwd: str | None = None) -> Iterator[dict]:
    """The items of one input file, read as ``narratives score`` reads them, as rows ``{"file", "row",
    "item"}`` (``item``: the item as JSON text, which keeps any field and lone surrogates as they are).
    Duplicate ids are left to :func:`ordered_records`, which sees every file. ``cwd``: the driver's
    working directory, where relative paths are read from.

    >>> row = next(file_rows("/nonexistent.txt"))
    >>> row["row"], json.loads(row["item"])["error"]
    (0, '/nonexistent.txt: file not found')
    """
    import os

    from .readers import _read_all

    if cwd and os.path.isdir(cwd) and os.getcwd() != cwd:
        os.chdir(cwd)  # relative paths are read, and named in records, as on the driver
    for row_no, item in enumerate(_read_all([path], id_field, text_field, None)):
        yield {"file": file_no, "row": row_no, "item": json.dumps(item)}


class ItemScorer(_Lazy):
    """Score a batch of :func:`file_rows` rows (a dict of columns, a pandas frame or an Arrow table) into
    rows ``{"file", "row", "record"}``, ``record`` being the article record as JSON text."""

    def __init__(self, model: str | Path | None = None, model_hash: str | None = None, *,
                 batch_passages: int = 256, max_evidence: int = 3, min_words: int = 5):
        super().__init__(model, model_hash)
        self.options = {"batch_passages": batch_passages, "max_evidence": max_evidence, "min_words": min_words}

    def __call__(self, batch) -> dict[str, list]:
        from .articles import score_articles

        cols = {k: _column(batch, k) for k in ("file", "row", "item")}
        records = score_articles((json.loads(s) for s in cols["item"]), model=self.clf(), **self.options)
        return {"file": cols["file"], "row": cols["row"], "record": [json.dumps(r) for r in records]}

    def map_in_pandas(self, frames: Iterable) -> Iterator:
        """For Spark's ``mapInPandas``: score each pandas frame of rows."""
        import pandas as pd

        for frame in frames:
            yield pd.DataFrame(self(frame))


def _column(batch, name: str) -> list:
    col = batch[name]
    if hasattr(col, "to_pylist"):
        return col.to_pylist()
    return col.tolist() if hasattr(col, "tolist") else list(col)


def ordered_records(lines: Iterable[str]) -> Iterator[dict]:
    """Records from the engine's JSON lines, in input order, with the duplicate-id warnings that
    ``narratives score`` gives (the first occurrence in the whole run is named).

    >>> recs = [{"id": "a", "source": "f:1", "errors": [], "warnings": []},
    ...         {"id": "a", "source": "f:2", "errors": [], "warnings": []}]
    >>> [r["warnings"] for r in ordered_records(json.dumps(r) for r in recs)]
    [[], ["duplicate id 'a' (first at f:1)"]]
    """
    from .readers import DuplicateIds

    seen = DuplicateIds()
    for line in lines:
        rec = json.loads(line)
        if not rec["errors"]:  # the reader's error items are never checked for duplicates
            warning = seen.check(rec["id"], rec["source"])
            if warning:
                rec["warnings"].insert(0, warning)  # the reader adds it before scoring adds any
        yield rec


def engine_records(engine: str, files: Iterable[str], model: str | Path | None, **options) -> Iterator[dict]:
    """The records of ``narratives score FILES --engine ENGINE`` (``ray`` or ``spark``), in input order.
    ``options``: ``id_field``, ``text_field``, ``workers``, ``batch_passages``, ``max_evidence``, ``min_words``.

    >>> next(engine_records("dask", ["a.jsonl"], None))
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'dask'; use one of local, ray, spark
    """
    from .readers import expand_paths

    if engine not in ENGINES[1:]:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    paths = list(expand_paths(files))
    if "-" in paths:
        raise ValueError(f"standard input cannot be read by --engine {engine}; give files")
    if engine == "ray":
        from .ray_engine import ray_records as run
    else:
        from .spark_engine import spark_records as run  # type: ignore[assignment]
    try:
        yield from ordered_records(run(paths, model, **options))
    except ImportError as exc:
        raise EngineError(f"--engine {engine} needs the scale extra (pip install -e '.[scale]'): {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - Ray and Spark wrap a worker's error in their own types
        raise EngineError(f"--engine {engine} failed: {_last_line(exc)}") from exc


class EngineError(RuntimeError):
    """Ray or Spark could not finish the job (the message names the worker's error)."""


def _last_line(exc: BaseException) -> str:
    """The line of an engine's error that names the cause: Ray and Spark put the worker's traceback first.

    >>> _last_line(ValueError("Traceback ...\\n  File x\\nModelLoadError: changed\\n"))
    'ModelLoadError: changed'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
