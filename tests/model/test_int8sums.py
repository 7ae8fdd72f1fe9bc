"""narratives.model.int8sums: the exact-sums graph computes the integer sums exactly (what a VNNI CPU computes),
is built once per export and reused, and serves int8 exports where the CPU's own kernel saturates."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from narratives.model import e5onnx, int8sums  # noqa: E402


@pytest.mark.parametrize("flags, kind", [
    ("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni", "vnni"),
    ("flags\t\t: fpu sse2 avx2 avx_vnni", "vnni"),
    ("flags\t\t: fpu sse2 avx2 fma", "avx2"),
    ("Features\t: fp asimd", "other"),
    ("processor\t: 0", "unknown"),
])
def test_int8_kernel_reads_the_cpu_flags_that_decide_int8_numerics(flags, kind):
    assert int8sums.int8_kernel(f"processor\t: 0\n{flags}\n") == kind


def test_int8_kernel_of_this_machine_is_one_of_the_known_kinds():
    assert int8sums.int8_kernel() in ("vnni", "avx2", "other", "unknown")


def test_the_environment_chooses_and_a_wrong_value_is_named():
    assert int8sums.needs_exact_sums("avx2", {"NARRATIVES_INT8_SUMS": "native"}) is False
    assert int8sums.needs_exact_sums("other", {"NARRATIVES_INT8_SUMS": "Exact"}) is True
    assert int8sums.needs_exact_sums("other", {}) is False
    with pytest.raises(ValueError, match="NARRATIVES_INT8_SUMS='fast'"):
        int8sums.needs_exact_sums("avx2", {"NARRATIVES_INT8_SUMS": "fast"})


def _tiny_int8(tmp_path, k: int = 64, n: int = 8):
    """A float MatMul quantised as the encoder is (dynamic, s8 per-channel weights): positive weights and inputs
    near the top of their ranges, where pairs of u8 x s8 products overflow 16 bits."""
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.RandomState(0)
    w = rng.uniform(0.5, 1.0, size=(k, n)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])],
                              [numpy_helper.from_array(w, "w")])
    f32, q = tmp_path / "f32.onnx", tmp_path / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(f32))
    quantize_dynamic(str(f32), str(q), weight_type=QuantType.QInt8, per_channel=True)
    return q


def _exact_reference(model_path, x: np.ndarray) -> np.ndarray:
    """The quantised graph's result with exact integer sums, computed in numpy from its weights."""
    from onnx import numpy_helper

    m = onnx.load(str(model_path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    mmi = next(nd for nd in m.graph.node if nd.op_type == "MatMulInteger")
    wq = inits[mmi.input[1]].astype(np.int64) - inits[mmi.input[3]].astype(np.int64)
    w_scale = next(v for k, v in inits.items() if k.endswith("_scale") and v.size == wq.shape[1])
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (hi - lo) / 255.0
    zp = int(np.clip(np.round(-lo / scale), 0, 255))
    xq = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.int64) - zp
    return (xq @ wq).astype(np.float64) * scale * w_scale.astype(np.float64)


def test_the_exact_graph_sums_exactly_where_the_cpu_kernel_may_saturate(tmp_path):
    q = _tiny_int8(tmp_path)
    exact = tmp_path / "exact.onnx"
    onnx.save(int8sums.exact_sums_graph(onnx.load(str(q))), str(exact))
    assert not any(nd.op_type == "MatMulInteger" for nd in onnx.load(str(exact)).graph.node)
    x = np.full((1, 64), 1.0, dtype=np.float32)  # every activation at 255
    run = lambda f: ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]  # noqa: E731
    ref = _exact_reference(q, x)
    assert np.allclose(run(exact), ref, rtol=1e-6)
    if int8sums.int8_kernel() == "avx2":  # this CPU's own kernel saturates on exactly this input
        assert not np.allclose(run(q), ref, rtol=1e-3)


def test_the_exact_file_is_built_once_and_rebuilt_when_broken(tmp_path, monkeypatch):
    q = _tiny_int8(tmp_path)
    built = []
    real = int8sums.exact_sums_graph
    monkeypatch.setattr(int8sums, "exact_sums_graph", lambda m: built.append(1) or real(m))
    first = int8sums.exact_sums_file(q)
    assert first.name == "int8.exact.onnx" and int8sums.exact_sums_file(q) == first and len(built) == 1
    first.write_bytes(b"broken")
    assert int8sums.exact_sums_file(q) == first and len(built) == 2
    assert onnx.load(str(first)).graph.node  # a whole model again


def test_open_pinned_serves_the_exact_graph_when_asked_and_the_export_itself_when_not(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path / "cache"))
    q = _tiny_int8(tmp_path)
    e5onnx.onnx_dir().mkdir(parents=True)
    sha = e5onnx.file_sha256(q)
    pinned = e5onnx.onnx_dir() / f"{sha}.onnx"
    pinned.write_bytes(q.read_bytes())
    pin = {"sha256": sha, "int8": True, "opset": 17}
    monkeypatch.setattr(e5onnx, "OnnxEncoder", lambda path, threads, batch: path)  # the file a session would open
    monkeypatch.setenv("NARRATIVES_INT8_SUMS", "exact")
    assert e5onnx.open_pinned(pin, lambda: None) == e5onnx.onnx_dir() / f"{sha}.exact.onnx"
    monkeypatch.setenv("NARRATIVES_INT8_SUMS", "native")
    assert e5onnx.open_pinned(pin, lambda: None) == pinned
    monkeypatch.setenv("NARRATIVES_INT8_SUMS", "exact")
    assert e5onnx.open_pinned({**pin, "int8": False}, lambda: None) == pinned  # float32 exports sum in float


def test_a_graph_that_cannot_be_built_falls_back_to_the_export_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_INT8_SUMS", "exact")
    monkeypatch.setattr(int8sums, "exact_sums_file", lambda f: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.warns(UserWarning, match="exact-sums graph for this CPU could not be built.*disk full"):
        assert e5onnx._served(tmp_path / "x.onnx", True) == tmp_path / "x.onnx"


def test_a_built_graph_serves_without_the_onnx_package(tmp_path, monkeypatch):
    import sys

    q = _tiny_int8(tmp_path)
    built = int8sums.exact_sums_file(q)
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    assert int8sums.exact_sums_file(q) == built
    built.unlink()
    with pytest.raises(ImportError):  # building needs it; e5onnx._served then warns and serves the export
        int8sums.exact_sums_file(q)
