"""The label record schema (serve/labelrecords.py): one declaration of a label line's fields, the messages
the loader, `labels check` and `labels import` give, and agreement with the constants callers use."""
from typing import get_args

import pytest

from narratives.model.taxonomy import LANGS, SPLITS, STANCES
from narratives.serve.labelrecords import LabelPassage, Lang, SeedSpan, Split, validate_label
from narratives.serve.records import Stance

GOOD = {"id": "T-1", "text": "A passage.", "lang": "en", "narratives": ["a"], "stance": "promotes", "source": "s",
        "split": "train"}
SPAN = {"doc": "x.txt", "start": 0, "end": 5, "sha256": "ab", "narratives": [], "stance": "none", "split": "dev"}
CTX = {"narratives": ("a", "b")}


def test_the_declared_types_are_the_constants():
    from narratives.serve.workbench.corrections import LANGS as WORKBENCH_LANGS

    assert get_args(Lang) == LANGS and get_args(Split) == SPLITS and get_args(Stance) == STANCES
    assert WORKBENCH_LANGS == LANGS


def test_the_workbench_refuses_what_the_importer_would(tmp_path):
    from narratives.serve.workbench.corrections import CorrectionError, Corrections

    c = Corrections(tmp_path)
    with pytest.raises(CorrectionError, match="unknown narrative id"):
        c.save("A passage of text.", ["zz"], "promotes", "en", "wb-1", ("a",))
    with pytest.raises(CorrectionError, match="field 'lang' must be one of"):
        c.save("A passage of text.", ["a"], "promotes", "de", "wb-1", ("a",))
    assert c.save("A passage of text.", ["a", "a"], "reports", "en", "wb-1", ("a",))["narratives"] == ["a"]


@pytest.mark.parametrize("change, message", [
    ({"text": "  "}, "field 'text' must be a non-empty string"),
    ({"text": 5}, "field 'text' must be a non-empty string, got 5"),
    ({"id": "\ud800"}, "field 'id' is not valid Unicode (lone surrogate)"),
    ({"narratives": "a"}, "field 'narratives' must be a list of ids, got 'a'"),
    ({"narratives": ["a", 3]}, "field 'narratives' must be a list of ids, got ['a', 3]"),
    ({"narratives": ["zz"]}, "unknown narrative id(s) ['zz']; valid: a, b"),
    ({"narratives": ["a", "a"]}, "field 'narratives' repeats an id: ['a', 'a']"),
    ({"narratives": []}, "stance must be 'none' exactly when 'narratives' is empty"),
    ({"stance": "maybe"}, "field 'stance' must be one of promotes, reports, none, got 'maybe'"),
    ({"lang": "de"}, "field 'lang' must be one of en, sr-Latn, sr-Cyrl, bs, hr, ru, got 'de'"),
    ({"split": "holdout"}, "field 'split' must be one of train, dev, test, got 'holdout'"),
    ({"split": None}, "field 'split' must be one of train, dev, test, got None"),
])
def test_each_field_at_fault_is_named(change, message):
    value, problems = validate_label(LabelPassage, {**GOOD, **change}, CTX)
    assert value is None and len(problems) == 1 and problems[0].startswith(message), problems


def test_several_faults_are_all_reported_and_missing_fields_alone():
    _, problems = validate_label(LabelPassage, {**GOOD, "lang": "de", "stance": "maybe"}, CTX)
    assert sorted(p.split(" must")[0] for p in problems) == ["field 'lang'", "field 'stance'"]
    _, problems = validate_label(LabelPassage, {k: v for k, v in GOOD.items() if k not in ("text", "source")}, CTX)
    assert problems == ["missing field(s) text, source"]


def test_unknown_fields_are_reported_but_the_record_is_kept():
    value, problems = validate_label(LabelPassage, {**GOOD, "colour": "red"}, CTX)
    assert problems == ["unknown field(s) colour"] and value is not None and value.narratives == ["a"]


def test_split_rules_come_from_the_context():
    no_split = {k: v for k, v in GOOD.items() if k != "split"}
    assert validate_label(LabelPassage, no_split, CTX)[1] == ["missing field(s) split"]
    value, problems = validate_label(LabelPassage, no_split, {**CTX, "require_split": False})
    assert problems == [] and value.split is None
    _, problems = validate_label(LabelPassage, {**GOOD, "split": "test"}, {**CTX, "splits": ("train", "dev")})
    assert problems == ["field 'split' must be train or dev (the test split is frozen), got 'test'"]


@pytest.mark.parametrize("change, message", [
    ({"doc": "../etc/passwd"}, "field 'doc' must be a plain file name, got '../etc/passwd'"),
    ({"end": 5.0}, "fields 'start' and 'end' must be integers with 0 <= start < end, got 0 and 5.0"),
    ({"start": True}, "fields 'start' and 'end' must be integers with 0 <= start < end, got True and 5"),
    ({"start": 5}, "fields 'start' and 'end' must be integers with 0 <= start < end, got 5 and 5"),
    ({"sha256": 7}, "field 'sha256' must be a hex string, got 7"),
])
def test_seed_span_faults(change, message):
    assert validate_label(SeedSpan, {**SPAN, **change}, CTX) == (None, [message])
    value, problems = validate_label(SeedSpan, SPAN, CTX)
    assert problems == [] and value.lang == "en"  # lang is optional on a span
