"""Article scoring on DataFrames and Arrow tables, predict on any sequence, and the engines' steps without an engine."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from narratives.serve import predict
from narratives.serve.articles import score_articles
from narratives.serve.cli import main
from narratives.serve.engines import FrameScorer, ItemScorer, engine_records, file_rows, model_path, ordered_records
from narratives.serve.frames import frame_records, record_schema, score_frame, score_table
from narratives.serve.output import json_line
from narratives.serve.records import article_fields

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
RESERVED = article_fields()

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "data" / "samples").glob("*.txt"))


def _frame():
    texts = [p.read_text(encoding="utf-8") for p in SAMPLES]
    return pd.DataFrame({"id": [p.stem for p in SAMPLES], "text": texts, "outlet": [f"o{i % 2}" for i in range(len(texts))],
                         "stance": list(range(len(texts)))}, index=[10 + i for i in range(len(texts))])


def test_frame_records_equal_score_articles_byte_for_byte():
    df = _frame()
    out = score_frame(df, model="baseline", source_column=None)
    assert list(out.index) == list(df.index)  # joins back onto the input
    assert list(out.columns) == ["id", "source", "outlet", "input_stance", *RESERVED[2:]]
    items = [{"id": r.id, "text": r.text, "source": None, "extra": {"outlet": r.outlet, "stance": r.stance}}
             for r in df.itertuples()]
    expected = [json_line(r) for r in score_articles(items, model="baseline")]
    assert [json_line(r) for r in frame_records(out)] == expected
    assert any(json.loads(line)["narratives"] for line in expected)  # the samples do carry narratives


def test_frame_columns_are_native_lists_and_structs():
    out = score_frame(_frame(), model="baseline")
    hit = out[out["narratives"].map(len) > 0].iloc[0]
    assert isinstance(hit["narratives"], list) and isinstance(hit["errors"], list)
    lab = hit["narratives"][0]
    assert set(hit["scores"]) == set(hit["stances"]) and hit["stances"][lab] in ("promotes", "reports")
    ev = hit["evidence"]
    assert isinstance(ev, list) and ev[0]["narrative"] == lab and ev[0]["score"] == hit["scores"][lab]
    assert ev[0]["text"] == _frame().loc[hit.name, "text"][ev[0]["start"]:ev[0]["end"]]


def test_bad_rows_become_error_rows_and_the_rest_is_scored():
    df = pd.DataFrame({"text": ["Crimea did what Kosovo did.", None, float("nan"), 42]}, index=["a", "b", "c", "d"])
    out = score_frame(df, model="baseline")
    assert out.loc["a", "errors"] == [] and out.loc["a", "id"] == "a"  # no id column: the index
    assert out.loc["b", "errors"] == ["row 'b' (id 'b'): 'text' is missing"]
    assert out.loc["c", "errors"] == ["row 'c' (id 'c'): 'text' is missing"]
    assert out.loc["d", "errors"] == ["row 'd' (id 'd'): 'text' must be a string, got int"]
    assert out.loc["b", "scores"] is None and out.loc["b", "model_version"] == out.loc["a", "model_version"]
    with pytest.raises(KeyError, match="missing column 'body'"):
        score_frame(df, model="baseline", text_column="body")
    assert len(score_frame(df.iloc[:0], model="baseline")) == 0


def test_arrow_table_has_the_record_schema_and_the_same_records():
    df = _frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    out = score_table(table, model="baseline")
    schema = record_schema(out.schema.field("scores").type.names)
    for f in RESERVED:
        assert out.schema.field(f).type == schema.field(f).type, f
    assert out.schema.field("input_stance").type == table.schema.field("stance").type  # passed through unconverted
    assert list(frame_records(out.to_pandas())) == list(frame_records(score_frame(df.reset_index(drop=True),
                                                                                  model="baseline")))


def test_record_schema_types_every_record_field():
    assert record_schema(["x"]).names == list(RESERVED)


def test_predict_takes_any_sequence_of_strings():
    texts = ["Crimea did what Kosovo did.", "Rain in Sarajevo."]
    ref = predict(texts, model="baseline")
    np = pytest.importorskip("numpy")
    for seq in (pd.Series(texts, index=[7, 3]), tuple(texts), np.array(texts), pa.array(texts),
                pa.chunked_array([texts[:1], texts[1:]])):
        assert predict(seq, model="baseline") == ref, type(seq)
    with pytest.raises(TypeError, match=r"texts\[1\] is float"):
        predict(pd.Series(["a", None, "b"]).fillna(float("nan")), model="baseline")
    with pytest.raises(TypeError, match="another sequence of strings"):
        predict((t for t in texts), model="baseline")
    with pytest.raises(TypeError, match="another sequence of strings"):
        predict(b"bytes", model="baseline")


def test_scorers_pickle_without_the_model_and_refuse_another_hash(tiny_model):
    s = FrameScorer(model_path("baseline"))
    s(pd.DataFrame({"text": ["Rain."]}))
    assert s._clf is not None and pickle.loads(pickle.dumps(s))._clf is None
    from narratives.model import ModelLoadError, load_model

    other = ItemScorer(str(tiny_model), model_hash=load_model("baseline").model_hash_)
    with pytest.raises(ModelLoadError, match="on the driver"):
        other({"file": [0], "row": [0], "item": [json.dumps({"id": "a", "text": "x", "source": "s", "extra": {}})]})


def test_engine_steps_give_narratives_score_records(engine_inputs, tmp_path):
    """What Ray and Spark run, run here in order: read each file (file_rows), score (ItemScorer), order and
    mark duplicates (ordered_records). The result must be `narratives score`'s output, byte for byte."""
    ref = tmp_path / "ref.jsonl"
    r = CliRunner().invoke(main, ["score", *engine_inputs, "-o", str(ref), "--model", "baseline", "--no-progress"])
    assert r.exit_code == 1, r.output  # the fixture folder holds malformed records
    from narratives.serve.readers import expand_paths

    scorer = ItemScorer(model_path("baseline"))
    lines = []
    for no, path in enumerate(expand_paths(engine_inputs)):
        rows = list(file_rows(path, no))
        for i in range(0, len(rows), 97):  # batches that cut across articles
            chunk = rows[i:i + 97]
            lines += scorer({k: [row[k] for row in chunk] for k in ("file", "row", "item")})["record"]
    got = "".join(json_line(rec) for rec in ordered_records(lines))
    assert got == ref.read_text(encoding="utf-8")
    assert "duplicate id 'a7' (first at" in got and '"errors": ["' in got


def test_engine_option_checks(monkeypatch, tmp_path):
    r = CliRunner().invoke(main, ["score", "-", "--engine", "ray", "--model", "baseline"])
    assert r.exit_code == 2 and "no - for standard input" in r.output
    with pytest.raises(ValueError, match="unknown engine"):
        next(engine_records("dask", ["x.jsonl"], "baseline"))
    import narratives.serve.ray_engine as ray_engine

    def broken(paths, model, **options):
        yield from ()
        raise RuntimeError("Traceback (most recent call last):\n  File 'w.py'\nModelLoadError: hash differs\n")

    monkeypatch.setattr(ray_engine, "ray_records", broken)
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "text": "Rain."}\n')
    r = CliRunner().invoke(main, ["score", str(src), "--engine", "ray", "--model", "baseline", "--no-progress"])
    assert r.exit_code == 1 and "--engine ray failed: ModelLoadError: hash differs (0 record(s) written)" in r.output
