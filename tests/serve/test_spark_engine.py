"""Spark in local mode (local[2]): mapInPandas gives the same records as `narratives score`.

Needs the `scale` extra and a Java runtime (Debian's default-jre-headless, installed by .ci/system-deps).
Without them the tests are skipped with the reason (pytest -rs prints it), and in CI (CI set) they fail
instead: they must never pass without running.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main

_why = None
if importlib.util.find_spec("pyspark") is None:
    _why = "Spark tests not run: the pyspark package is missing (pip install -e '.[scale]')"
elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    _why = "Spark tests not run: no Java runtime (java not on PATH, JAVA_HOME unset; bash .ci/system-deps installs one)"
if _why:
    if os.environ.get("CI"):
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)


@pytest.fixture(scope="module")
def spark(monkeypatch_module):
    from narratives.serve.spark_engine import session

    monkeypatch_module.delenv("PYSPARK_PYTHON", raising=False)
    s = session("local[2]")
    assert os.environ["PYSPARK_PYTHON"] == sys.executable  # set by our entry point: workers import this package
    yield s
    s.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_engine_spark_writes_narratives_score_records_byte_for_byte(spark, engine_inputs, tmp_path):
    ref, got = tmp_path / "ref.jsonl", tmp_path / "spark.jsonl"
    a = CliRunner().invoke(main, ["score", *engine_inputs, "-o", str(ref), "--model", "baseline", "--no-progress"])
    b = CliRunner().invoke(main, ["score", *engine_inputs, "-o", str(got), "--model", "baseline", "--no-progress",
                                  "--engine", "spark"])
    assert b.exit_code == a.exit_code == 1, b.output  # the fixture folder's malformed records are errors either way
    text = got.read_text(encoding="utf-8")
    assert text == ref.read_text(encoding="utf-8")
    assert len(text.splitlines()) > 1000 and '"model_version": "' in text


def test_score_spark_reads_and_writes_parquet_with_the_records(spark, engine_inputs, tmp_path):
    """The README's Spark recipe: the records equal `narratives score`'s (here with a source column)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from narratives.serve.frames import frame_records
    from narratives.serve.output import json_line

    lines = open(engine_inputs[0], encoding="utf-8").read().splitlines()[:300]
    rows = [dict(json.loads(line), source=f"{engine_inputs[0]}:{no}") for no, line in enumerate(lines, 1)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "articles.parquet")
    # -- recipe (README, "On Ray or Spark") --
    from narratives.serve.spark_engine import score_spark, session

    spark = session()                       # the active session, else local[*]; sets PYSPARK_PYTHON for workers
    df = spark.read.parquet(str(tmp_path / "articles.parquet"))   # id and text columns, others pass through
    scored = score_spark(df, "baseline", source_column="source")  # mapInPandas, schema from spark_schema()
    scored.write.parquet(str(tmp_path / "scored"))
    # -- end of recipe --
    table = pq.read_table(tmp_path / "scored")
    assert table.schema.field("scores").type.names[0] == "genocide_denial"
    assert table.schema.field("evidence").type.value_type.names[:3] == ["narrative", "start", "end"]
    got = sorted(json_line(r) for r in frame_records(table.to_pandas()))
    ref = CliRunner().invoke(main, ["score", engine_inputs[0], "--model", "baseline", "--no-progress"])
    assert got == sorted(line + "\n" for line in ref.stdout.splitlines()[:300])
