import json
import os

import pytest

from narratives.model import TfidfNarrativeClassifier
from narratives.train import LabelError, train


def test_training_writes_a_complete_model_directory(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert names == {"config.json", "vocab.json", "weights.safetensors", "metrics.json", "README.md", "manifest.json",
                     "f1_per_narrative.png", "reliability.png", "stance_confusion.png", "recipe.json"}
    recipe = json.loads((tiny_model / "recipe.json").read_text())
    assert recipe["kind"] == "tfidf-logreg" and recipe["params"] == {"cv_folds": 3}
    assert recipe["settings"]["C"] == 8.0 and recipe["fit_splits"] == ["train"]
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"dev", "test"}  # evaluated only on held-out splits
    assert metrics["splits"]["test"]["n"] == 6
    assert metrics["data"]["fit_splits"] == ["train"]
    card = (tiny_model / "README.md").read_text()
    assert metrics["model_version"] in card and "| test |" in card
    assert TfidfNarrativeClassifier.from_pretrained(tiny_model).model_hash_ == metrics["model_hash"]


def test_training_is_reproducible(labels_dir, corpus_dir, tiny_model, tmp_path):
    again = train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "again", cv_folds=3, log=open(os.devnull, "w"))
    assert again["model_hash"] == json.loads((tiny_model / "metrics.json").read_text())["model_hash"]


def test_bad_labels_never_touch_the_existing_model(labels_dir, corpus_dir, tmp_path):
    out = tmp_path / "m"
    first = train(labels=labels_dir, corpus=corpus_dir, out=out, cv_folds=3, log=open(os.devnull, "w"))
    with open(labels_dir / "team.jsonl", "a") as fh:
        fh.write('{"id": "broken"\n')
    with pytest.raises(LabelError, match="malformed JSON"):
        train(labels=labels_dir, corpus=corpus_dir, out=out, cv_folds=3, log=open(os.devnull, "w"))
    assert TfidfNarrativeClassifier.from_pretrained(out).model_hash_ == first["model_hash"]


def test_rewriting_the_card_keeps_the_version_and_the_manifest_valid(tiny_model, labels_dir, corpus_dir, tmp_path):
    import shutil

    from narratives.train.trainer import rewrite_card

    d = tmp_path / "m"
    shutil.copytree(tiny_model, d)
    (d / "README.md").unlink()  # a lost card ...
    with pytest.raises(Exception, match="missing"):
        TfidfNarrativeClassifier.from_pretrained(d)
    h = json.loads((d / "manifest.json").read_text())["model_hash"]
    man = json.loads((d / "manifest.json").read_text())
    del man["files"]["README.md"]
    (d / "manifest.json").write_text(json.dumps(man))  # ... with the manifest made consistent again
    assert rewrite_card(d, labels_dir, corpus_dir) == h
    assert "| test |" in (d / "README.md").read_text()
    assert TfidfNarrativeClassifier.from_pretrained(d).model_hash_ == h


def test_settings_are_checked_before_any_work_and_set_from_the_command_line(labels_dir, corpus_dir, tmp_path):
    from click.testing import CliRunner

    from narratives.serve.cli import main

    with pytest.raises(ValueError, match="tfidf-logreg settings: min_df: Input should be a valid integer"):
        train(labels=tmp_path / "no-labels-needed", out=tmp_path / "x", min_df="many")
    with pytest.raises(ValueError, match="epochs: unknown setting"):
        train(labels=tmp_path / "no-labels-needed", out=tmp_path / "x", epochs=2)
    out = tmp_path / "m"
    r = CliRunner().invoke(main, ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--out", str(out),
                                  "--set", "cv_folds=3", "--set", "C=2", "--seed", "1"])
    assert r.exit_code == 0, r.output
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["params"] == {"cv_folds": 3, "C": 2.0, "random_state": 1}
    assert json.loads((out / "config.json").read_text())["params"]["C"] == 2.0
    r = CliRunner().invoke(main, ["train", "--labels", str(labels_dir), "--out", str(out), "--set", "nonsense"])
    assert r.exit_code == 2 and "KEY=VALUE" in r.output
