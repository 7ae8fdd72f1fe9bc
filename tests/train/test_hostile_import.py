"""Hostile label imports (issue 17, case 13): a Label Studio task of the wrong shape, or with a text no
label line can hold, is a problem naming the task, and nothing is written; invalid UTF-8 in a CSV names
its line.
"""
from __future__ import annotations

import json

import pytest

from narratives.train.check import check_labels
from narratives.train.data import MAX_LINE_BYTES, LabelError
from narratives.train.importers import import_labels

EN = "The government sanctions were imposed by Brussels because the West hates an independent Serbia."


def _task(tid, annotations):
    return {"id": tid, "data": {"text": EN, "source": "doc-a"}, "annotations": annotations}


CHOICE = {"from_name": "narratives", "to_name": "text", "type": "choices", "value": {"choices": ["anti_western"]}}
STANCE = {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["promotes"]}}


@pytest.mark.parametrize("task, expected", [
    (_task(7, 5), "task 7: 'annotations' must be a list of annotations, got 5"),
    (_task(7, [{"result": "notalist"}]), "task 7: an annotation's 'result' must be a list, got 'notalist'"),
    (_task(7, [{"result": [{**CHOICE, "value": {"choices": 5}}]}]),
     "task 7: 'choices' must be a list of strings, got 5"),
    (_task(7, [5]), "task 7: an annotation must be a JSON object, got 5"),
    ({"id": 7, "data": {"text": "word " * (MAX_LINE_BYTES // 5 + 10), "source": "doc-a"},
      "annotations": [{"result": [CHOICE, STANCE]}]}, f"task 7: text is over {MAX_LINE_BYTES:,} bytes"),
], ids=["annotations-int", "result-str", "choices-int", "annotation-int", "5mb-text"])
def test_label_studio_tasks_of_the_wrong_shape_are_problems(labels_dir, corpus_dir, tmp_path, task, expected):
    src = tmp_path / "export.json"
    src.write_text(json.dumps([task]), encoding="utf-8")
    before = sorted(p.name for p in labels_dir.iterdir())
    with pytest.raises(LabelError) as err:
        import_labels(src, labels_dir, corpus_dir)
    assert any(expected in f"{where}: {msg}" for where, msg in err.value.problems), err.value.problems
    assert sorted(p.name for p in labels_dir.iterdir()) == before  # nothing written
    assert not check_labels(labels_dir, corpus_dir, targets=False).errors  # and the folder still loads


def test_csv_with_invalid_utf8_names_the_line(labels_dir, corpus_dir, tmp_path):
    src = tmp_path / "week.csv"
    src.write_bytes(b"text,narratives,stance\n" + EN.encode() + b",anti_western,promotes\ncaf\xe9 au lait,,none\n")
    with pytest.raises(LabelError) as err:
        import_labels(src, labels_dir, corpus_dir)
    assert err.value.problems == [(f"{src}:3", "not valid UTF-8 (invalid continuation byte at byte 3 of the line)")]
