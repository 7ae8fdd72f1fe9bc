"""Reading a fitted decider at other cutoffs without refitting: `narratives decider stance-cutoffs` writes a new
version whose only change is the line where an article promotes, `narratives decider narrative-cutoffs` one whose
only change is the probability at which each named narrative is predicted."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main

ENGLISH = {"id": "en", "text": "Kosovo was the precedent for Crimea, and the West made it so with its own bombs.\n\n"
                               "Brussels and Washington wrote the rulebook; now they complain that others read it."}


@pytest.fixture()
def with_stance(tiny_model, tmp_path):
    """The tiny model with a decider that always finds a narrative, its stance part always 0.45."""
    from narratives.train.decider import attach_decider

    d = {"version": 1, "presence": {"coef": [0.0] * 5, "intercept": 8.0, "cutoff": 0.5},
         "stance": {"coef": [0.0] * 4, "intercept": -0.2, "mention_margin": -1.0}}
    out = tmp_path / "with-stance"
    attach_decider(tiny_model, d, out)
    return out


def _stances(model_dir) -> set[str]:
    from narratives.model import load_model
    from narratives.serve.articles import score_articles

    rec = next(score_articles([ENGLISH], model=load_model(str(model_dir))))
    assert rec["lang"] == "en" and rec["narratives"]
    return set(rec["stances"].values())


def test_cutoffs_change_only_the_stance_line_and_make_a_new_version(with_stance, tmp_path):
    from narratives.model import load_model

    assert _stances(with_stance) == {"reports"}  # 0.45 < 0.5
    out = tmp_path / "en-040"
    r = CliRunner().invoke(main, ["decider", "stance-cutoffs", str(with_stance), "en=0.4", "--out", str(out)])
    assert r.exit_code == 0, r.output
    base, cut = json.loads((with_stance / "config.json").read_text()), json.loads((out / "config.json").read_text())
    assert cut["article_decider"]["stance"].pop("cutoffs") == {"en": 0.4}
    assert cut == base  # nothing else in the config changed
    assert load_model(str(out)).model_hash_ != load_model(str(with_stance)).model_hash_
    assert load_model(str(out)).model_hash_[:12] in r.output
    assert _stances(out) == {"promotes"}  # 0.45 >= 0.4 for an English article
    assert "cutoff of its detected language (en 0.4" in (out / "README.md").read_text(encoding="utf-8")

    ru = tmp_path / "ru-040"  # a cutoff for another language leaves the English article at 0.5
    assert CliRunner().invoke(main, ["decider", "stance-cutoffs", str(with_stance), "ru=0.4", "--out", str(ru)]).exit_code == 0
    assert _stances(ru) == {"reports"}

    back = tmp_path / "back"  # no cutoffs: the version before them
    assert CliRunner().invoke(main, ["decider", "stance-cutoffs", str(out), "--out", str(back)]).exit_code == 0
    assert load_model(str(back)).model_hash_ == load_model(str(with_stance)).model_hash_


def test_a_model_without_a_stance_part_or_a_bad_cutoff_is_refused_and_nothing_written(tiny_model, with_stance, tmp_path):
    out = tmp_path / "never"
    r = CliRunner().invoke(main, ["decider", "stance-cutoffs", str(tiny_model), "en=0.4", "--out", str(out)])
    assert r.exit_code == 1 and "no article decider with a stance part" in r.output and not out.exists()
    for bad, why in (("sr-Latn=0.4", "not a language the detector gives"), ("en=1.5", "expected a probability"),
                     ("en", "expected LANG=P")):
        r = CliRunner().invoke(main, ["decider", "stance-cutoffs", str(with_stance), bad, "--out", str(out)])
        assert r.exit_code == 2 and why in r.output and not out.exists()


def test_options_refuse_cutoffs_without_a_stance_part():
    from pydantic import ValidationError

    from narratives.train.deciderplan import DeciderOptions

    assert DeciderOptions(stance_cutoffs={"en": 0.4}).stance_cutoffs == {"en": 0.4}
    with pytest.raises(ValidationError, match="fit one too"):
        DeciderOptions(stance=False, stance_cutoffs={"en": 0.4})
    with pytest.raises(ValidationError, match="not a language the detector gives"):
        DeciderOptions(stance_cutoffs={"english": 0.4})


def _narratives(model_dir) -> list[str]:
    from narratives.model import load_model
    from narratives.serve.articles import score_articles

    return next(score_articles([ENGLISH], model=load_model(str(model_dir))))["narratives"]


def test_narrative_cutoffs_change_only_those_narratives_and_make_a_new_version(tiny_model, tmp_path):
    from narratives.model import load_model
    from narratives.train.decider import attach_decider

    # presence probability sigmoid(0.5) = 0.62 for every narrative: all found at the cutoff 0.5
    d = {"version": 1, "presence": {"coef": [0.0] * 5, "intercept": 0.5, "cutoff": 0.5}}
    base = tmp_path / "base"
    attach_decider(tiny_model, d, base)
    everything = _narratives(base)
    assert "anti_western" in everything and len(everything) == len(load_model(str(base)).labels_)
    out = tmp_path / "aw-07"
    r = CliRunner().invoke(main, ["decider", "narrative-cutoffs", str(base), "anti_western=0.7", "--out", str(out)])
    assert r.exit_code == 0, r.output
    before, after = json.loads((base / "config.json").read_text()), json.loads((out / "config.json").read_text())
    assert after["article_decider"]["presence"].pop("cutoffs") == {"anti_western": 0.7}
    assert after == before  # nothing else in the config changed
    assert load_model(str(out)).model_hash_[:12] in r.output and load_model(str(out)).model_hash_ != load_model(
        str(base)).model_hash_
    assert _narratives(out) == [n for n in everything if n != "anti_western"]  # 0.62 < 0.7 for it alone
    assert "anti_western 0.7, their own cutoffs" in (out / "README.md").read_text(encoding="utf-8")
    back = tmp_path / "back"  # none: the version before them
    assert CliRunner().invoke(main, ["decider", "narrative-cutoffs", str(out), "--out", str(back)]).exit_code == 0
    assert load_model(str(back)).model_hash_ == load_model(str(base)).model_hash_
    never = tmp_path / "never"
    for bad, code, why in (("west=0.4", 1, "'west' is not a narrative of the model"), ("anti_western=1", 2,
                           "expected a probability"), ("anti_western", 2, "expected NARRATIVE=P")):
        r = CliRunner().invoke(main, ["decider", "narrative-cutoffs", str(base), bad, "--out", str(never)])
        assert r.exit_code == code and why in r.output and not never.exists()
    r = CliRunner().invoke(main, ["decider", "narrative-cutoffs", str(tiny_model), "anti_western=0.7", "--out", str(never)])
    assert r.exit_code == 1 and "no article decider with a presence part" in r.output and not never.exists()
