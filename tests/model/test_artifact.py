import json
import os
import stat

import pytest

from narratives.model import ModelLoadError, TfidfNarrativeClassifier
from narratives.model.artifact import atomic_model_dir, verify_model_dir


def _model():
    return TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
        ["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []], ["promotes", "reports", "none"])


def test_failed_write_leaves_the_previous_model_intact(tmp_path):
    target = tmp_path / "m"
    h = _model().save_pretrained(target)

    def boom(tmp):
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_model_dir(target, boom)
    assert TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == h
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folder left behind


def test_a_save_interrupted_between_renames_is_recovered(tmp_path):
    target = tmp_path / "m"
    h = _model().save_pretrained(target)
    os.replace(target, tmp_path / ".m.old-123")  # as if killed right after moving the old model aside
    # Loading reads the stranded model without moving it (a loader must never race a saver) ...
    assert TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == h
    assert (tmp_path / ".m.old-123").is_dir() and not target.exists()
    # ... and the next save puts it back before replacing it.
    h2 = TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
        ["red apples", "green pears", "sky"], [["a"], ["b"], []], ["promotes", "reports", "none"]).save_pretrained(target)
    assert TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == h2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_model_directory_is_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        _model().save_pretrained(tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "m" / "weights.safetensors").st_mode) == 0o644


@pytest.mark.parametrize("tamper", ["alter", "delete", "pickle", "format", "unlisted", "files-not-a-dict"])
def test_tampered_model_directories_are_refused(tmp_path, tamper):
    d = tmp_path / "m"
    _model().save_pretrained(d)
    if tamper == "alter":
        with open(d / "weights.safetensors", "r+b") as fh:
            fh.seek(-4, 2)
            fh.write(b"\x00\x01\x02\x03")
        match = "altered"
    elif tamper == "delete":
        (d / "vocab.json").unlink()
        match = "missing"
    elif tamper == "pickle":
        (d / "extra.pkl").write_bytes(b"\x80\x04.")
        match = "pickle"
    elif tamper == "unlisted":  # drop the weights from the manifest and re-hash: still refused
        from narratives.model.artifact import model_hash_of

        man = json.loads((d / "manifest.json").read_text())
        del man["files"]["weights.safetensors"]
        man["model_hash"] = model_hash_of(man["files"])
        (d / "manifest.json").write_text(json.dumps(man))
        match = "weights.safetensors not listed in the manifest"
    elif tamper == "files-not-a-dict":
        man = json.loads((d / "manifest.json").read_text())
        man["files"] = []
        (d / "manifest.json").write_text(json.dumps(man))
        match = "'files' must map"
    else:
        cfg = json.loads((d / "config.json").read_text())
        cfg["format_version"] = 99
        (d / "config.json").write_text(json.dumps(cfg))
        man = json.loads((d / "manifest.json").read_text())
        from narratives.model.artifact import file_sha256, model_hash_of

        man["files"]["config.json"] = file_sha256(d / "config.json")
        man["model_hash"] = model_hash_of(man["files"])
        (d / "manifest.json").write_text(json.dumps(man))
        match = "unknown model format"
    with pytest.raises(ModelLoadError, match=match):
        verify_model_dir(d)


def test_exclusive_write_never_replaces_an_existing_file(tmp_path):
    import pytest

    from narratives.model.artifact import atomic_write_text

    f = tmp_path / "labels.jsonl"
    atomic_write_text(f, "first\n", exclusive=True)
    with pytest.raises(FileExistsError):
        atomic_write_text(f, "second\n", exclusive=True)
    assert f.read_text() == "first\n" and [p.name for p in tmp_path.iterdir()] == ["labels.jsonl"]
