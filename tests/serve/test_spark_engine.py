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


def test_score_spark_gives_the_record_columns(spark, engine_inputs):
    import json

    from narratives.serve.frames import frame_records
    from narratives.serve.output import json_line
    from narratives.serve.spark_engine import score_spark

    lines = open(engine_inputs[0], encoding="utf-8").read().splitlines()
    rows = [dict(json.loads(line), source=f"{engine_inputs[0]}:{no}") for no, line in enumerate(lines, 1)]
    df = spark.createDataFrame([(r["id"], r["text"], r["source"], r["outlet"]) for r in rows],
                               "id string, text string, source string, outlet string")
    out = score_spark(df, "baseline", source_column="source")
    assert out.schema["scores"].dataType.names[0] == "genocide_denial"
    assert out.schema["evidence"].dataType.elementType.names[:3] == ["narrative", "start", "end"]
    ref = CliRunner().invoke(main, ["score", engine_inputs[0], "--model", "baseline", "--no-progress"])
    expected = [json.loads(line) for line in ref.stdout.splitlines()]
    for rec in expected:
        rec.pop("tags")  # not a column of this frame
    got = [json_line(r) for r in frame_records(out.toPandas())]
    assert got == [json_line(r) for r in expected]
