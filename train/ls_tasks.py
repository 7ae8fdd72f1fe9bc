"""Label Studio's task import format, checked with pydantic, for the tasks ``narratives suggest`` writes.

The rules are Label Studio's own for a task with pre-annotations (its documented import format, and what
its SDK's ``LabelInterface.validate_prediction`` checks): a task has a ``data`` object holding the field
the interface's ``<Text value="$text">`` reads; each prediction has a ``result`` list and an optional
``score``, the model's confidence, a number in [0, 1] (the data manager sorts tasks by it, ascending);
each result region names a control of the interface (``from_name``), its object (``to_name``) and the
control's type, and a ``choices`` value only offers the control's choices. We check this ourselves
rather than through the SDK because ``label-studio-sdk`` brings 32 packages (OpenCV, NLTK, black, Faker,
a code generator) and pins numpy below the version the shipped models were saved with.

>>> xml = ('<View><Text name="text" value="$text"/><Choices name="stance" toName="text">'
...        '<Choice value="promotes"/><Choice value="none"/></Choices></View>')
>>> ok = {"data": {"text": "a"}, "predictions": [{"model_version": "v", "score": 0.4, "result": [
...       {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["none"]}}]}]}
>>> task_problems([ok], xml)
[]
>>> bad = {**ok, "predictions": [{**ok["predictions"][0], "score": 1.65}]}
>>> task_problems([bad], xml)
['task 1, prediction 1: score must be a confidence in [0, 1], got 1.65']
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from pydantic import BaseModel, ConfigDict, ValidationError


class Region(BaseModel):
    model_config = ConfigDict(extra="allow")
    from_name: str
    to_name: str
    type: str
    value: dict


class Prediction(BaseModel):
    model_config = ConfigDict(extra="allow")
    result: list[Region]
    score: float | None = None
    model_version: str | None = None


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: dict
    predictions: list[Prediction] = []
    meta: dict = {}


def _interface(xml: str) -> tuple[dict[str, tuple[str, set[str], set[str]]], dict[str, str]]:
    """Controls (name -> (type, toName set, choice values)) and objects (name -> data field)."""
    root = ET.fromstring(xml)
    controls, objects = {}, {}
    for el in root.iter():
        name = el.get("name")
        if not name:
            continue
        if el.get("toName") is not None:
            values = {c.get("value", "") for c in el if c.tag in ("Choice", "Label")}
            controls[name] = (el.tag.lower(), set(el.get("toName", "").split(",")), values)
        elif (el.get("value") or "").startswith("$"):
            objects[name] = el.get("value", "")[1:]
    return controls, objects


def task_problems(tasks: object, xml: str) -> list[str]:
    """Everything Label Studio would reject in a list of tasks for the interface ``xml`` (empty: fine)."""
    if not isinstance(tasks, list):
        return ["the file must hold a JSON list of tasks"]
    controls, objects = _interface(xml)
    out = []
    for i, raw in enumerate(tasks, 1):
        try:
            task = Task.model_validate(raw)
        except ValidationError as exc:
            out += [f"task {i}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            continue
        out += [f"task {i}: data lacks {field!r} (read by <{name}>)" for name, field in objects.items()
                if field not in task.data]
        for j, pred in enumerate(task.predictions, 1):
            where = f"task {i}, prediction {j}"
            if pred.score is not None and not 0.0 <= pred.score <= 1.0:
                out.append(f"{where}: score must be a confidence in [0, 1], got {pred.score}")
            for k, region in enumerate(pred.result, 1):
                control = controls.get(region.from_name)
                if control is None:
                    out.append(f"{where}, region {k}: from_name {region.from_name!r} is not a control of the interface")
                    continue
                kind, to_names, values = control
                if region.to_name not in to_names:
                    out.append(f"{where}, region {k}: to_name {region.to_name!r} is not {region.from_name}'s object")
                if region.type.lower() != kind:
                    out.append(f"{where}, region {k}: type {region.type!r}, expected {kind!r}")
                unknown = [v for v in region.value.get(kind, []) if v not in values] if kind in ("choices", "labels") else []
                if unknown:
                    out.append(f"{where}, region {k}: {unknown} not offered by {region.from_name}")
    return out
