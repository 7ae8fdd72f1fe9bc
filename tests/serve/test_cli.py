import json
import subprocess
import sys

from click.testing import CliRunner

from narratives.serve.cli import main


def test_score_fixture_files_to_a_file(tiny_model, articles_dir, tmp_path):
    out = tmp_path / "scores.jsonl"
    r = CliRunner().invoke(main, ["score", str(articles_dir / "state_media.txt"), str(articles_dir / "batch.jsonl"),
                                  str(articles_dir / "batch.csv"), "--model", str(tiny_model), "-o", str(out)])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["id"] for x in recs] == ["state_media", "j1", "j2", "j3", "c1", "c2"]
    assert all(x["model_hash"] and x["errors"] == [] for x in recs)
    assert recs[1]["outlet"] == "Example Daily"
    assert "scored 6 article(s), 0 error(s)" in r.output


def test_dash_as_the_output_is_standard_output_not_a_file(tiny_model, articles_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["score", str(articles_dir / "state_media.txt"), "--model", str(tiny_model), "-o", "-"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.splitlines()[0])["id"] == "state_media"
    assert not (tmp_path / "-").exists()


def test_bad_records_do_not_stop_the_batch(tiny_model, articles_dir, tmp_path):
    r = CliRunner().invoke(main, ["score", str(articles_dir / "malformed.jsonl"), str(articles_dir / "missing_column.csv"),
                                  "--model", str(tiny_model), "--no-progress"])
    assert r.exit_code == 1
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(recs) == 6
    assert [x["id"] for x in recs if not x["errors"]] == ["ok1", "ok2"]
    assert "scored 2 article(s), 4 error(s)" in r.stderr


def test_predict_and_evaluate_commands(tiny_model, labels_dir, corpus_dir):
    r = CliRunner().invoke(main, ["predict", "Crimea did what Kosovo did.", "--model", str(tiny_model)])
    assert r.exit_code == 0 and json.loads(r.output)["model_hash"]
    r = CliRunner().invoke(main, ["evaluate", str(tiny_model), "--split", "test", "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n"] == 6


def test_help_is_fast_and_imports_no_ml_library():
    code = ("import sys; from narratives.serve.cli import main; "
            "print(sorted(m for m in ('sklearn', 'torch', 'numpy', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]"
    r = subprocess.run(["narratives", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "score" in r.stdout and "labels" in r.stdout
