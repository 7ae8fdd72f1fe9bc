"""Int8 exports that score the same on every x86 CPU: exact integer sums where the CPU's own kernel saturates.

The multilingual encoder is served as a dynamic-int8 ONNX export (u8 activations x s8 weights,
``MatMulInteger``). onnxruntime computes those products with the CPU's integer dot product. With VNNI
(``avx512_vnni``, ``avx_vnni``) the sums are exact; with AVX2 alone, pairs of u8 x s8 products are summed in
16 bits first, which saturate, so the same file gives slightly other embeddings (cosine 0.9959 to the float32
encoder on real passages, against 0.9969 for exact sums). The heads and deciders were fitted on exact sums, and
pages near a threshold go the other way: on an AVX2 machine the default scored the check set 0.683 / 0.182 /
0.680 against 0.700 / 0.151 / 0.713 (macro-F1 / negatives flagged / stance accuracy), and with exact sums, on the
same machine, 0.700 / 0.151 / 0.713 again (README, "The same model on another CPU").

So on a CPU whose kernel is ``avx2`` the pinned export is served through a derived graph in which each
``MatMulInteger`` becomes a float32 ``MatMul`` of the same integers (zero points subtracted, rounded back to
int32): the sums a VNNI CPU computes, up to float rounding of sums beyond 2**24. It is built once per pinned
export into the cache beside it (``<sha256>.exact.onnx`` and its sha256 in ``<sha256>.exact.sha256``, written
atomically under a lock) and costs speed: float32 products instead of int8 ones (``benchmarks/int8_sums.py``).
``NARRATIVES_INT8_SUMS=native`` keeps the CPU's own kernel; ``exact`` forces the derived graph on any CPU.

>>> needs_exact_sums("avx2", {}), needs_exact_sums("vnni", {}), needs_exact_sums("vnni", {"NARRATIVES_INT8_SUMS": "exact"})
(True, False, True)
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .artifact import file_sha256

ENV = "NARRATIVES_INT8_SUMS"
_VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def int8_kernel(cpuinfo: str | None = None) -> str:
    """Which integer dot product this CPU gives onnxruntime's dynamic int8 matrix products: ``vnni`` (exact
    int32 sums, ``avx512_vnni``/``avx_vnni``/``amx_int8``), ``avx2`` (pairs of u8 x s8 products summed in 16 bits,
    which saturate), ``other`` or ``unknown`` (no ``/proc/cpuinfo``). A real-page report says which it ran on.

    >>> int8_kernel("flags : fpu sse2 avx2 avx512f avx512_vnni"), int8_kernel("flags : fpu sse2 avx2"), int8_kernel("")
    ('vnni', 'avx2', 'unknown')
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "unknown"
    line = next((ln for ln in cpuinfo.splitlines() if ln.split(":")[0].strip() in ("flags", "Features")), None)
    if line is None:
        return "unknown"
    flags = set(line.split(":", 1)[1].split())
    return "vnni" if flags & set(_VNNI_FLAGS) else "avx2" if "avx2" in flags else "other"


def needs_exact_sums(kernel: str | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether int8 exports are served through exact sums here: on an ``avx2`` CPU, unless
    ``NARRATIVES_INT8_SUMS`` says ``native`` (or ``exact``, on any CPU). Another value is an error that names it."""
    choice = (os.environ if env is None else env).get(ENV, "").strip().lower()
    if choice not in ("", "native", "exact"):
        raise ValueError(f"{ENV}={choice!r}: expected 'native' or 'exact' (or unset: exact on a CPU without VNNI)")
    if choice:
        return choice == "exact"
    return (int8_kernel() if kernel is None else kernel) == "avx2"


def sums_here(kernel: str | None = None) -> str:
    """How int8 exports sum on this machine as served: ``exact`` (a VNNI CPU, or the exact-sums graph) or
    ``native`` (the CPU's own kernel, which may saturate). What a real-page report records.

    >>> sums_here("vnni"), sums_here("other")
    ('exact', 'native')
    """
    kernel = int8_kernel() if kernel is None else kernel
    return "exact" if kernel == "vnni" or needs_exact_sums(kernel) else "native"


def exact_sums_graph(model):
    """``model`` (an ``onnx.ModelProto`` of a dynamic-int8 export) with every ``MatMulInteger`` replaced by a
    float32 ``MatMul`` of the same integers, rounded back to int32; the weights become float32 initializers of
    their integer values less their zero points. Everything else is untouched. Returns a new model."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, added = [], []
    for n in g.node:
        if n.op_type != "MatMulInteger":
            nodes.append(n)
            continue
        a, b, a_zp, b_zp = (list(n.input) + ["", "", ""])[:4]
        if b not in inits:
            raise ValueError(f"{n.name or n.output[0]}: MatMulInteger with non-constant weights ({b!r})")
        w = numpy_helper.to_array(inits[b]).astype(np.float32)
        if b_zp:
            w = w - numpy_helper.to_array(inits[b_zp]).astype(np.float32)
        p = f"{n.output[0]}_exact"
        added.append(numpy_helper.from_array(w, f"{b}_exact"))
        a_f = [helper.make_node("Cast", [a], [f"{p}_a"], to=TensorProto.FLOAT)]
        if a_zp:
            a_f += [helper.make_node("Cast", [a_zp], [f"{p}_azp"], to=TensorProto.FLOAT),
                    helper.make_node("Sub", [f"{p}_a", f"{p}_azp"], [f"{p}_ac"])]
        nodes += a_f + [helper.make_node("MatMul", [a_f[-1].output[0], f"{b}_exact"], [f"{p}_y"]),
                        helper.make_node("Round", [f"{p}_y"], [f"{p}_r"]),
                        helper.make_node("Cast", [f"{p}_r"], [n.output[0]], to=TensorProto.INT32)]
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used] + added
    del g.initializer[:]
    g.initializer.extend(kept)
    return model


def exact_sums_file(path: Path) -> Path:
    """The exact-sums graph of the export at ``path`` (whose sha256 the caller has checked), built once beside it
    and reused while its recorded sha256 holds; a broken or missing copy is rebuilt. Only building needs the
    ``onnx`` package: serving a built copy needs onnxruntime alone, as serving the export does."""
    from filelock import FileLock

    out, digest = path.with_name(f"{path.stem}.exact.onnx"), path.with_name(f"{path.stem}.exact.sha256")

    def intact() -> bool:
        try:
            return out.is_file() and file_sha256(out) == digest.read_text(encoding="utf-8").strip()
        except OSError:
            return False

    if intact():
        return out
    with FileLock(str(path.with_name(f"{path.stem}.exact.lock"))):
        if intact():
            return out
        import onnx

        fd, tmp = tempfile.mkstemp(prefix=".exact-", suffix=".onnx", dir=path.parent)
        os.close(fd)
        try:
            onnx.save(exact_sums_graph(onnx.load(str(path))), tmp)
            os.chmod(tmp, path.stat().st_mode & 0o777)  # readable as the export is (mkstemp makes it private)
            sha = file_sha256(Path(tmp))
            os.replace(tmp, out)
            dtmp = digest.with_suffix(".tmp")
            dtmp.write_text(sha + "\n", encoding="utf-8")
            os.replace(dtmp, digest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return out
