"""Spark: score articles with ``mapInPandas``, on a cluster or in local mode.

* :func:`score_spark` maps :class:`~narratives.serve.engines.FrameScorer` over a Spark DataFrame with id
  and text columns, with the output schema built here (:func:`spark_schema`): one row per article with
  the record's columns, other columns passed through.
* :func:`spark_records` is ``narratives score --engine spark``: input files are read by Spark tasks with
  the readers of ``narratives score``, spread over the cluster, scored, and the records come back in
  order to the command.

Workers run the Python given by ``PYSPARK_PYTHON``; :func:`session` sets it to this interpreter when it
is unset, so local workers import this package from the same environment (a cluster's nodes need it
installed at that path). :func:`session` uses the active Spark session if there is one (under
``spark-submit``), else starts one on ``NARRATIVES_SPARK_MASTER`` (default ``local[*]``) without the UI.

>>> [f.name for f in spark_schema(None, ["x"]).fields][:4]
['id', 'source', 'narratives', 'stance']
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

RECORD_ROWS = "file long, row long, record string"


def session(master: str | None = None):
    """The active Spark session, or a new one (see the module docstring)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or os.environ.get("NARRATIVES_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName("narratives").config("spark.ui.enabled", "false") \
        .config("spark.ui.showConsoleProgress", "false")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2)))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_schema(input_schema, labels: list[str], *, id_column: str = "id", text_column: str = "text",
                 source_column: str | None = None):
    """The output schema of :func:`score_spark`: ``id``, ``source``, the pass-through fields of
    ``input_schema`` (a Spark ``StructType``, or ``None``), then the record's fields for ``labels``."""
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StructField, StructType

    from .frames import passthrough, record_schema

    record = from_arrow_schema(record_schema(labels))
    fields = list(record.fields[:2])
    if input_schema is not None:
        keep = passthrough(input_schema.names, id_column, text_column, source_column)
        fields += [StructField(keep[f.name], f.dataType, True) for f in input_schema.fields if f.name in keep]
    return StructType(fields + list(record.fields[2:]))


def score_spark(df, model: str | Path | None = None, *, id_column: str = "id", text_column: str = "text",
                source_column: str | None = None, max_evidence: int = 3, min_words: int = 5):
    """A DataFrame of article records from a DataFrame of articles, through ``mapInPandas`` (lazy, like
    any Spark DataFrame). The model is resolved here, on the driver; every worker loads that directory
    and checks its hash."""
    from narratives.model import load_model

    from .engines import FrameScorer, model_path

    session()
    path = model_path(model)
    clf = load_model(path)
    scorer = FrameScorer(path, clf.model_hash_, id_column=id_column, text_column=text_column,
                         source_column=source_column, max_evidence=max_evidence, min_words=min_words)
    schema = spark_schema(df.schema, list(clf.labels_), id_column=id_column, text_column=text_column,
                          source_column=source_column)
    return df.mapInPandas(scorer.map_in_pandas, schema=schema)


def spark_records(paths: list[str], model: str | Path | None, *, id_field: str = "id", text_field: str = "text",
                  workers: int | None = None, batch_passages: int = 256, max_evidence: int = 3,
                  min_words: int = 5) -> Iterator[str]:
    """The records of ``narratives score --engine spark`` as JSON lines, in input order: files are read
    in parallel, rows spread over ``workers`` partitions (default: Spark's default parallelism), scored,
    kept on disk and sorted back into input order."""
    from pyspark import StorageLevel

    from narratives.model import load_model

    from .engines import ItemScorer, file_rows, model_path

    spark = session()
    sc = spark.sparkContext
    path = model_path(model)
    scorer = ItemScorer(path, load_model(path).model_hash_, batch_passages=batch_passages,
                        max_evidence=max_evidence, min_words=min_words)
    files = sc.parallelize(list(enumerate(paths)), max(1, min(len(paths), 200)))
    cwd = os.getcwd()
    rows = files.flatMap(lambda f: ((r["file"], r["row"], r["item"])
                                    for r in file_rows(f[1], f[0], id_field, text_field, cwd)))
    frame = spark.createDataFrame(rows, "file long, row long, item string").repartition(workers or sc.defaultParallelism)
    scored = frame.mapInPandas(scorer.map_in_pandas, schema=RECORD_ROWS).persist(StorageLevel.DISK_ONLY)
    try:
        for row in scored.orderBy("file", "row").toLocalIterator():  # scored once: the sort's sampling pass is cached
            yield row["record"]
    finally:
        scored.unpersist()
