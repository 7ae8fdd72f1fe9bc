import hashlib
import json
import subprocess
import sys

import pytest

from narratives.serve import predict

KEYS = {"scores", "narratives", "stance", "stance_score", "model_version", "model_hash", "text_sha256", "lang",
        "warnings"}


def test_output_shape_and_types(tiny_model):
    # Two training passages of the tiny model: a denial and a negative.
    out = predict(["It was never genocide; the numbers from Srebrenica were inflated by foreign courts.",
                   "The council approved a new bus timetable for the winter season."], model=tiny_model)
    assert isinstance(out, list) and len(out) == 2
    for rec in out:
        assert set(rec) == KEYS
        assert list(rec["scores"]) == ["genocide_denial", "kosovo_precedent", "anti_western"]
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in rec["scores"].values())
        assert rec["stance"] in ("promotes", "reports", "none")
        assert (rec["stance"] == "none") == (not rec["narratives"])
        assert len(rec["model_hash"]) == 64 and rec["model_hash"].startswith(rec["model_version"])
    assert out[0]["scores"]["genocide_denial"] > out[1]["scores"]["genocide_denial"]
    assert out[1]["text_sha256"] == hashlib.sha256(
        b"The council approved a new bus timetable for the winter season.").hexdigest()


def test_predicted_narratives_are_those_over_threshold(tiny_model):
    cfg = json.loads((tiny_model / "config.json").read_text())
    for rec in predict(["Kosovo set the precedent for Crimea.", "The EU is the enemy.", "Bus timetable."],
                       model=tiny_model):
        assert rec["narratives"] == [k for k, v in rec["scores"].items() if v >= round(cfg["thresholds"][k], 4)
                                     or v >= cfg["thresholds"][k]]


def test_every_record_carries_the_detected_language(tiny_model):
    recs = predict(["The council met on Tuesday.", "Савет се састао у уторак и донео одлуку.", "", "Совет собрался во вторник."],
                   model=tiny_model)
    assert [r["lang"] for r in recs] == ["en", "sr-Cyrl", "und", "ru"]


def test_a_string_gives_one_record(tiny_model):
    rec = predict("Crimea did what Kosovo did.", model=tiny_model)
    assert isinstance(rec, dict) and set(rec) == KEYS


def test_empty_text_gives_a_valid_empty_record(tiny_model):
    for text in ["", "   \n\t "]:
        rec = predict(text, model=tiny_model)
        assert rec["narratives"] == [] and rec["stance"] == "none"
        assert set(rec["scores"].values()) == {0.0}
        assert rec["warnings"] == ["empty text"]


def test_bad_types_are_rejected_with_the_index(tiny_model):
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        predict(["ok", 3], model=tiny_model)
    with pytest.raises(TypeError, match="string or a list"):
        predict(42, model=tiny_model)


def test_the_shipped_default_works_from_another_directory(tmp_path):
    code = ("import json; from narratives.serve import predict; "
            "print(json.dumps(predict(['The West is behind every protest in Belgrade.', 'Sunny.'])))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out) == 2 and set(out[0]) == KEYS
    from narratives.model import load_model

    assert list(out[0]["scores"]) == load_model(None).labels_  # every narrative of the default model
