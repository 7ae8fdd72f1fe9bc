"""Ray Data on Ray's local cluster (2 CPUs, no dashboard): the same records as `narratives score`.

Needs the `scale` extra. Without it the tests are skipped with the reason (pytest -rs prints it), and in
CI (CI set) they fail instead: they must never pass without running.
"""
from __future__ import annotations

import importlib.util
import os

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main

if importlib.util.find_spec("ray") is None:
    why = "Ray tests not run: the ray package is missing (pip install -e '.[scale]')"
    if os.environ.get("CI"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield ray
    ray.shutdown()


def _score(args, out):
    r = CliRunner().invoke(main, ["score", *args, "-o", str(out), "--model", "baseline", "--no-progress"])
    assert r.exit_code in (0, 1), r.output
    return r


def test_engine_ray_writes_narratives_score_records_byte_for_byte(ray_local, engine_inputs, tmp_path):
    ref, got = tmp_path / "ref.jsonl", tmp_path / "ray.jsonl"
    a = _score(engine_inputs, ref)
    b = _score([*engine_inputs, "--engine", "ray"], got)
    text = got.read_text(encoding="utf-8")
    assert text == ref.read_text(encoding="utf-8")
    assert len(text.splitlines()) > 1000 and '"model_version": "' in text
    assert a.exit_code == b.exit_code == 1  # the fixture folder's malformed records are errors either way
    assert a.output.splitlines()[-1].split(" -> ")[0] == b.output.splitlines()[-1].split(" -> ")[0]


def test_engine_ray_parquet_output_equals(ray_local, engine_inputs, tmp_path):
    import pyarrow.parquet as pq

    _score(engine_inputs[:2], tmp_path / "ref.parquet")
    _score([*engine_inputs[:2], "--engine", "ray", "--workers", "1"], tmp_path / "ray.parquet")
    assert pq.read_table(tmp_path / "ray.parquet").equals(pq.read_table(tmp_path / "ref.parquet"))


def test_score_dataset_reads_and_writes_parquet_with_the_records(ray_local, engine_inputs, tmp_path):
    """The README's Ray recipe: the records equal `narratives score`'s (here with a source column)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from narratives.serve.frames import frame_records, record_schema
    from narratives.serve.output import json_line

    lines = open(engine_inputs[0], encoding="utf-8").read().splitlines()[:300]
    rows = [dict(json.loads(line), source=f"{engine_inputs[0]}:{no}") for no, line in enumerate(lines, 1)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "articles.parquet")
    # -- recipe (README, "On Ray or Spark") --
    import ray

    from narratives.serve.ray_engine import score_dataset

    ds = ray.data.read_parquet(str(tmp_path / "articles.parquet"))     # id and text columns, others pass through
    scored = score_dataset(ds, "baseline", source_column="source")   # actors: CPUs but one, one model each
    scored.write_parquet(str(tmp_path / "scored"))
    # -- end of recipe --
    table = pq.read_table(tmp_path / "scored")
    labels = table.schema.field("scores").type.names
    assert table.schema.field("evidence").type == record_schema(labels).field("evidence").type
    got = sorted(json_line(r) for r in frame_records(table.to_pandas()))
    ref = CliRunner().invoke(main, ["score", engine_inputs[0], "--model", "baseline", "--no-progress"])
    assert got == sorted(line + "\n" for line in ref.stdout.splitlines()[:300])
