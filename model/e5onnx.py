"""The fine-tuned multilingual encoder under onnxruntime: export, dynamic int8, a pinned file in the cache.

A trained ``e5-lora`` model's encoder (adapters merged) is exported to ONNX with mean pooling inside the
graph, optionally quantised with onnxruntime's dynamic int8 (per-channel weights), and stored in the
project's cache as ``onnx/<sha256>.onnx``. The model's ``config.json`` pins that sha256 (so the manifest
pins it, like every other file); at load time the cached file is used when its hash matches, rebuilt
from the merged encoder when it is missing, and refused (torch is used, with a warning) when a rebuild
gives other bytes (another torch or onnxruntime version). Inference runs in length-sorted batches.

>>> onnxruntime_available() in (True, False)
True
>>> [len(b) for b in length_batches([[1] * 5, [1] * 2, [1] * 9], 2)]
[2, 1]
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .artifact import file_sha256
from .e5convert import cache_root

OPSET = 17
BATCH = 32


def onnxruntime_available() -> bool:
    """Whether onnxruntime (and onnx, for the export) can be imported."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def length_batches(ids: list[list[int]], size: int = BATCH) -> list[np.ndarray]:
    """Indices of ``ids`` sorted by length, cut into batches of ``size`` (little padding per batch)."""
    order = np.argsort([len(x) for x in ids], kind="stable")
    return [order[i:i + size] for i in range(0, len(order), size)]


def pad(ids: list[list[int]], pad_id: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64).

    >>> pad([[0, 5, 2], [0, 2]])[1].tolist()
    [[1, 1, 1], [1, 1, 0]]
    """
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = x
        mask[i, :len(x)] = 1
    return input_ids, mask


def onnx_dir() -> Path:
    return cache_root() / "onnx"


def export(encoder, out: Path, int8: bool) -> Path:
    """Export ``encoder`` (a plain ``XLMRobertaModel``, adapters merged) with mean pooling to ``out``."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            h = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mk = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * mk).sum(1) / mk.sum(1).clamp(min=1.0)

    ids = torch.tensor([[0, 100, 200, 2], [0, 300, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    f32 = out.with_suffix(".f32.onnx") if int8 else out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(encoder.eval()), (ids, mask), str(f32), input_names=["input_ids", "attention_mask"],
                          output_names=["pooled"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                        "pooled": {0: "batch"}})
    if int8:
        import logging

        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process, on the root logger
        quantize_dynamic(str(f32), str(out), weight_type=QuantType.QInt8, per_channel=True)
        f32.unlink()
    return out


def build(encoder, int8: bool) -> Path:
    """Export into the cache (a temporary file, then renamed to ``<sha256>.onnx``); returns the path."""
    root = onnx_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
    try:
        f = export(encoder, tmp / "model.onnx", int8)
        target = root / f"{file_sha256(f)}.onnx"
        os.replace(f, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class OnnxEncoder:
    """An onnxruntime session over an exported encoder: ``embed(token ids) -> float32 (n, 384)``."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        so.log_severity_level = 3
        self.path = path
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    def embed(self, ids: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(ids), 384), dtype=np.float32)
        for idx in length_batches(ids):
            input_ids, mask = pad([ids[i] for i in idx])
            out[idx] = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out


def cached(sha256: str) -> Path | None:
    """The cached export with this hash, if present and intact."""
    f = onnx_dir() / f"{sha256}.onnx"
    return f if f.is_file() and file_sha256(f) == sha256 else None


def open_pinned(pin: dict | None, merged, threads: int | None = None) -> OnnxEncoder | None:
    """The session for a saved model's pinned export: from the cache, or built there from ``merged()``
    (a callable giving the merged torch encoder). ``None`` (use torch) when onnxruntime is absent, the
    model has no pin, or a rebuild does not give the pinned bytes."""
    if not pin or not onnxruntime_available():
        if pin:
            warnings.warn("onnxruntime is not installed: the e5-lora encoder runs under torch (slower; scores may "
                          "differ slightly from the pinned int8 export): `pip install onnxruntime`", stacklevel=2)
        return None
    f = cached(pin["sha256"])
    if f is None:
        f = build(merged(), bool(pin["int8"]))
        if f.name != f"{pin['sha256']}.onnx":
            warnings.warn(f"the ONNX export rebuilt here ({f.name[:12]}…) differs from the pinned "
                          f"{pin['sha256'][:12]}… (other torch/onnxruntime versions): using torch instead", stacklevel=2)
            return None
    return OnnxEncoder(f, threads)
