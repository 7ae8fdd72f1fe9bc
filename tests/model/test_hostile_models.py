"""Hostile model directories and killed saves (issue 17, cases 12 and 14): a ModelLoadError naming the
directory, never a RecursionError, a file read outside the directory, or a model that cannot predict;
leftovers of a save killed while removing the previous copy are never read and are cleaned up.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from narratives.model import ModelLoadError, TfidfNarrativeClassifier
from narratives.model.artifact import file_sha256, model_dir, model_hash_of


def _model():
    return TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
        ["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []], ["promotes", "reports", "none"])


def _rewrite(d, name, content: bytes, rehash=True):
    """Replace a file and re-hash the manifest to match, as an attacker who can write the folder would."""
    (d / name).write_bytes(content)
    if rehash:
        man = json.loads((d / "manifest.json").read_text())
        man["files"][name] = file_sha256(d / name)
        man["model_hash"] = model_hash_of(man["files"])
        (d / "manifest.json").write_text(json.dumps(man))


def test_a_vocabulary_nested_100000_levels_is_a_model_load_error(tmp_path):
    d = tmp_path / "m"
    _model().save_pretrained(d)
    _rewrite(d, "vocab.json", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ModelLoadError, match="vocab.json"):
        TfidfNarrativeClassifier.from_pretrained(d)


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "..", "sub/x.json"])
def test_a_manifest_naming_a_path_outside_the_directory_is_refused(tmp_path, name):
    d = tmp_path / "m"
    _model().save_pretrained(d)
    man = json.loads((d / "manifest.json").read_text())
    man["files"][name] = "0" * 64
    man["model_hash"] = model_hash_of(man["files"])
    (d / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ModelLoadError, match="not a file name in the model directory"):
        TfidfNarrativeClassifier.from_pretrained(d)


@pytest.mark.parametrize("value", ['"NaN"', '"0.5"', "NaN", "Infinity", "-0.1", "1.5", "true", "null"])
def test_thresholds_that_never_predict_are_refused(tmp_path, value):
    d = tmp_path / "m"
    _model().save_pretrained(d)
    cfg = (d / "config.json").read_text()
    cfg = json.dumps({**json.loads(cfg), "thresholds": "X"}).replace('"X"', f'{{"a": {value}, "b": 0.5}}')
    _rewrite(d, "config.json", cfg.encode())
    with pytest.raises(ModelLoadError, match=r"config.json: threshold of 'a' must be a number from 0 to 1"):
        TfidfNarrativeClassifier.from_pretrained(d)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_save_killed_while_removing_the_previous_copy_leaves_nothing_a_loader_reads(tmp_path, monkeypatch):
    import narratives.model.artifact as artifact

    target = tmp_path / "m"
    h1 = _model().save_pretrained(target)
    real_rmtree = shutil.rmtree

    def killed_midway(path, *a, **kw):  # removes one file, then the process "dies"
        files = sorted((p for p in os.scandir(path) if p.is_file()), key=lambda p: p.name)
        if files:
            os.unlink(files[0].path)
        raise KeyboardInterrupt

    monkeypatch.setattr(artifact.shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
            ["red apples", "green pears", "sky"], [["a"], ["b"], []], ["promotes", "reports", "none"]
        ).save_pretrained(target)
    monkeypatch.setattr(artifact.shutil, "rmtree", real_rmtree)
    assert not list(tmp_path.glob(".m.old-*"))  # the half-deleted copy is not a candidate for loaders
    shutil.move(target, tmp_path / "elsewhere")  # NAME goes missing: nothing half-deleted is read in its place
    assert model_dir(target) == target
    with pytest.raises(ModelLoadError, match="model directory not found"):
        TfidfNarrativeClassifier.from_pretrained(target)
    assert _model().save_pretrained(target) == h1  # the next save cleans the leftovers up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "m"]


def test_a_stale_previous_copy_of_a_dead_saver_is_cleaned_by_the_next_save(tmp_path):
    target = tmp_path / "m"
    h = _model().save_pretrained(target)
    stale = tmp_path / f".m.old-{_dead_pid()}"
    shutil.copytree(target, stale)  # killed after its second rename: target is newer, the copy is garbage
    (stale / "vocab.json").unlink()
    _model().save_pretrained(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == h
