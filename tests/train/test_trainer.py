import json
import os

import pytest

from narratives.model import TfidfNarrativeClassifier
from narratives.train import LabelError, train


def test_training_writes_a_complete_model_directory(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert names == {"config.json", "vocab.json", "weights.safetensors", "metrics.json", "README.md", "manifest.json",
                     "f1_per_narrative.png", "reliability.png", "stance_confusion.png"}
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
