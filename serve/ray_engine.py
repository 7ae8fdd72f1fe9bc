"""Ray Data: score articles on a Ray cluster, or on one machine with Ray's local cluster.

Two entries, both built on ``Dataset.map_batches`` with a callable class (one model per actor, loaded
once) and an actor pool smaller than the cluster's CPUs, so that a read task always finds a CPU (on a
2-CPU machine: one scoring actor and one reader; :func:`default_workers`):

* :func:`score_dataset` maps :class:`~narratives.serve.engines.FrameScorer` over a Dataset with id and
  text columns: one row per article with the record's columns (:func:`narratives.serve.frames.record_schema`),
  other columns passed through; write it with ``ds.write_parquet(...)``.
* :func:`ray_records` is ``narratives score --engine ray``: input files are read by Ray tasks with the
  readers of ``narratives score``, scored by actors, and the records come back in order to the command.

``ray.init()`` is called only when Ray is not initialised yet (it joins the cluster named by
``RAY_ADDRESS`` if set, else starts a local one without the dashboard); a cluster's nodes need this
package installed in the same environment.

>>> default_workers(2), default_workers(16)
(1, 15)
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def default_workers(cpus: float) -> int:
    """Scoring actors for a cluster of ``cpus`` CPUs: all but one, at least one."""
    return max(1, int(cpus) - 1)


def _init() -> bool:
    """Initialise Ray if needed; True when this call started it (and so should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(include_dashboard=False, log_to_driver=False)
    return True


class _Reader:
    """A read task: the items of one input file (streamed; Ray splits the output into blocks)."""

    def __init__(self, id_field: str, text_field: str, cwd: str):
        self.id_field, self.text_field, self.cwd = id_field, text_field, cwd

    def __call__(self, row: dict[str, Any]) -> Iterator[dict[str, Any]]:
        from .engines import file_rows

        yield from file_rows(row["path"], row["file"], self.id_field, self.text_field, self.cwd)


def _pool(workers: int | None):
    import ray

    n = workers or default_workers(ray.cluster_resources().get("CPU", 1))
    return ray.data.ActorPoolStrategy(size=n)


def score_dataset(ds, model: str | Path | None = None, *, id_column: str = "id", text_column: str = "text",
                  source_column: str | None = None, workers: int | None = None, batch_size: int = 64,
                  max_evidence: int = 3, min_words: int = 5):
    """A Dataset of article records from a Dataset of articles (lazy, like any Ray Dataset).

    ``workers`` scoring actors (default: :func:`default_workers` of the cluster's CPUs), one CPU each,
    ``batch_size`` articles per batch. The model is resolved here, on the driver, and every actor loads
    that directory and checks its hash.
    """
    import ray

    from narratives.model import load_model

    from .engines import FrameScorer, model_path

    _init()
    path = model_path(model)
    kwargs = {"model": path, "model_hash": load_model(path).model_hash_, "id_column": id_column,
              "text_column": text_column, "source_column": source_column, "max_evidence": max_evidence,
              "min_words": min_words}
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    return ds.map_batches(FrameScorer, fn_constructor_kwargs=kwargs, batch_format="pyarrow", batch_size=batch_size,
                          compute=_pool(workers), num_cpus=1)


def ray_records(paths: list[str], model: str | Path | None, *, id_field: str = "id", text_field: str = "text",
                workers: int | None = None, batch_size: int = 64, batch_passages: int = 256,
                max_evidence: int = 3, min_words: int = 5) -> Iterator[str]:
    """The records of ``narratives score --engine ray`` as JSON lines, in input order (see the module
    docstring); duplicate ids are marked by :func:`narratives.serve.engines.ordered_records`."""
    import ray

    from narratives.model import load_model

    from .engines import ItemScorer, _column, model_path

    started = _init()
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        path = model_path(model)
        files = ray.data.from_items([{"path": p, "file": i} for i, p in enumerate(paths)],
                                    override_num_blocks=max(1, min(len(paths), 200)))
        rows = files.flat_map(_Reader(id_field, text_field, os.getcwd()).__call__)
        scored = rows.map_batches(ItemScorer, batch_format="pyarrow", batch_size=batch_size, num_cpus=1,
                                  compute=_pool(workers),
                                  fn_constructor_kwargs={"model": path, "model_hash": load_model(path).model_hash_,
                                                         "batch_passages": batch_passages,
                                                         "max_evidence": max_evidence, "min_words": min_words})
        for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
            yield from _column(batch, "record")
    finally:
        if started:
            ray.shutdown()
