"""The models directory: versions by content hash, the default pointer, promote and rollback."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from narratives.model import DEFAULT_MODEL_NAME, load_model, resolve_model
from narratives.model.artifact import ModelLoadError
from narratives.model.registry import find_model, list_models, publish_version, read_default, rollback, set_default, staging_dir
from narratives.model.taxonomy import TaxonomyError, add_narrative, load_taxonomy


@pytest.fixture()
def models(tmp_path, monkeypatch, tiny_model):
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv("NARRATIVES_MODELS", str(d))
    return d


def _copy_as_version(src, models):
    staged = staging_dir(models)
    shutil.copytree(src, staged)
    return publish_version(staged)


def test_publish_names_by_hash_and_never_overwrites(models, tiny_model):
    path, new = _copy_as_version(tiny_model, models)
    version = json.loads((tiny_model / "manifest.json").read_text())["model_hash"][:12]
    assert new and path.name == version
    again, new2 = _copy_as_version(tiny_model, models)
    assert again == path and not new2
    assert sorted(p.name for p in models.iterdir()) == [version]  # the staged copy was dropped


def test_find_by_name_version_prefix_and_shipped(models, tiny_model):
    path, _ = _copy_as_version(tiny_model, models)
    assert find_model(path.name) == path
    assert find_model(path.name[:6]).resolve() == path.resolve()
    assert find_model("baseline").name == "baseline"  # shipped models stay reachable
    assert find_model("nope") is None and find_model("../baseline") is None
    assert {e.name for e in list_models()} >= {path.name, "baseline"}


def test_promote_switches_the_default_and_rollback_goes_back(models, tiny_model):
    shipped = load_model(None).model_hash_
    path, _ = _copy_as_version(tiny_model, models)
    set_default(path.name, note="why")
    assert resolve_model(None) == path and load_model(None).model_hash_[:12] == path.name
    record = read_default(models)
    assert record["version"] == path.name and record["history"][-1]["model"] == DEFAULT_MODEL_NAME
    set_default("baseline")
    set_default(path.name)
    assert len(read_default(models)["history"]) == 3
    rollback()
    assert load_model(None).model_hash_ == load_model("baseline").model_hash_
    rollback()
    assert load_model(None).model_hash_[:12] == path.name
    rollback()
    assert load_model(None).model_hash_ == shipped
    with pytest.raises(ModelLoadError, match="nothing to roll back"):
        rollback()


def test_a_promotion_checked_against_a_stale_default_is_refused(models, tiny_model):
    path, _ = _copy_as_version(tiny_model, models)
    before = read_default(models) or {}
    set_default("baseline")  # another promotion lands while the first one is being compared
    with pytest.raises(ModelLoadError, match="the default changed while"):
        set_default(path.name, expect=before)
    assert read_default(models)["model"] == "baseline"


def test_promote_refuses_unknown_or_broken_models(models, tiny_model):
    with pytest.raises(ModelLoadError, match="no model 'missing'"):
        set_default("missing")
    path, _ = _copy_as_version(tiny_model, models)
    with open(path / "vocab.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(ModelLoadError, match="altered"):
        set_default(path.name)
    assert read_default(models) is None  # the default did not move


def test_a_corrupt_pointer_is_named(models):
    (models / "default.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="default.json: unreadable default pointer"):
        resolve_model(None)


def test_stale_staging_folders_of_dead_processes_are_removed(models):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = models / f".incoming-{dead.stdout.strip()}-1"
    stale.mkdir()
    live = models / f".incoming-{os.getpid()}-1"
    live.mkdir()
    staging_dir(models)
    assert not stale.exists() and live.exists()
    assert all(e.name != live.name for e in list_models())


def test_add_narrative_appends_and_validates(tmp_path):
    tax_file = tmp_path / "taxonomy.yaml"
    shutil.copy(load_taxonomy().path, tax_file)
    before = tax_file.read_text()
    tax = add_narrative(tax_file, "church_persecution", "Church law as persecution", 'Says "the state" steals: churches.',
                        cues=("a cue: with colon",), keywords=("monaster",))
    assert tax.ids[-1] == "church_persecution" and tax.get("church_persecution").cues == ("a cue: with colon",)
    assert tax_file.read_text().startswith(before)  # comments and layout kept
    with pytest.raises(TaxonomyError, match="exists already"):
        add_narrative(tax_file, "church_persecution", "x", "y")
    with pytest.raises(TaxonomyError, match="not a snake_case id"):
        add_narrative(tax_file, "Bad Id", "x", "y")
    other = tmp_path / "other.yaml"
    other.write_text("narratives:\n  - id: a_b\n    name: x\n    description: y\nversion: 1\n")
    with pytest.raises(TaxonomyError, match="could not be appended|not the last block"):
        add_narrative(other, "c_d", "x", "y")
    assert "c_d" not in other.read_text()
    other.write_text("version: 1\nnarratives: [{id: a_b, name: x, description: y}]\n")
    with pytest.raises(TaxonomyError, match="could not be appended|not the last block"):
        add_narrative(other, "c_d", "x", "y")


def test_review_findings(models, tiny_model, tmp_path, monkeypatch):
    """Defects a review found in the models directory, each now refused or handled."""
    path, _ = _copy_as_version(tiny_model, models)
    # A malformed metrics.json (derived, unhashed) does not break listing or version lookup.
    broken = models / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "metrics.json").write_text('{"created": 5, "splits": {"dev": {"macro_f1": "0.9"}}}')
    assert {e.name for e in list_models()} >= {"broken", path.name}
    assert find_model(path.name[:7]) is not None  # "broken" is a copy of the same version: not ambiguous
    shutil.rmtree(broken)
    # publish_version never drops a new model because of an empty or stranded folder of its name.
    staged = staging_dir(models)
    shutil.copytree(tiny_model, staged)
    shutil.rmtree(path)
    path.mkdir()
    with pytest.raises(ModelLoadError, match="exists but is not this model"):
        publish_version(staged)
    assert (staged / "manifest.json").exists()
    path.rmdir()
    assert publish_version(staged) == (path, True)
    # The pointer is checked against its recorded version: a folder retrained in place is refused.
    set_default(path.name)
    (path / "vocab.json").write_text((path / "vocab.json").read_text() + " ")
    man = json.loads((path / "manifest.json").read_text())
    from narratives.model.artifact import file_sha256, model_hash_of
    man["files"]["vocab.json"] = file_sha256(path / "vocab.json")
    man["model_hash"] = model_hash_of(man["files"])
    (path / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ModelLoadError, match="promoted as version .* now holds"):
        resolve_model(None)
    # A pointer to a missing model names the pointer file and never falls back to the working directory.
    shutil.rmtree(path)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model, tmp_path / path.name)
    with pytest.raises(ModelLoadError, match=r"default.json: the default model .* is not in"):
        resolve_model(None)
    rollback()
    assert resolve_model(None).name == DEFAULT_MODEL_NAME


def test_add_narrative_keeps_characters_outside_the_bmp(tmp_path):
    tax_file = tmp_path / "taxonomy.yaml"
    shutil.copy(load_taxonomy().path, tax_file)
    tax = add_narrative(tax_file, "church_law", "Church law 𝔄", "Prayers 🙏 for the monasteries of Montenegro.")
    assert tax.get("church_law").name == "Church law 𝔄" and "🙏" in tax.get("church_law").description
