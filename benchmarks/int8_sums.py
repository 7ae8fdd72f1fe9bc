"""The int8 export's sums on this CPU: its own kernel against exact sums, for speed and for agreement with float32.

    python benchmarks/int8_sums.py [--passages 300] [--threads 2] [--repeats 2] [--out int8_sums.json]

On a CPU without VNNI onnxruntime sums pairs of u8 x s8 products in 16 bits, which saturate; the model serves
such CPUs through a graph with exact sums instead (:mod:`narratives.model.int8sums`). This script embeds the
same team-written passages (``data/labels``, every language; no cache needed) through the default's pinned
export both ways, in one process, alternating ``--repeats`` times, and prints each way's passages/s (one
passage per call, side by side on the cores, as served), their ratio, and each way's cosine to the float32
encoder on the first 100 passages. The float32 reference loads the converted encoder through torch (about a
minute).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity.

    >>> cosines(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[2.0, 0.0], [1.0, -1.0]])).tolist()
    [1.0, 0.0]
    """
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--model", default="e5-real", help="a model whose encoder is the pinned int8 export")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    import torch

    from narratives.model.e5onnx import OnnxEncoder, cached
    from narratives.model.e5tokens import lean_tokenizer
    from narratives.model.e5train import plain_encoder
    from narratives.model.int8sums import exact_sums_file, int8_kernel
    from narratives.model.loading import load_model
    from narratives.train.data import load_passages

    clf = load_model(a.model)
    pin = clf.config_["onnx"]  # the pinned export: {"sha256", "int8", "opset"}
    native = cached(pin["sha256"])
    if native is None:
        sys.exit(f"the pinned export {pin['sha256'][:12]}… is not in the cache: score something with {a.model} first")
    exact = exact_sums_file(native)
    texts = [p.text for p in load_passages(ROOT / "data" / "labels", with_seeds=False)][:a.passages]
    ids = lean_tokenizer(512).encode_ids([f"query: {t}" for t in texts])
    encoders = {"native": OnnxEncoder(native, a.threads, batch=1), "exact": OnnxEncoder(exact, a.threads, batch=1)}
    rates: dict[str, list[float]] = {k: [] for k in encoders}
    emb = {}
    for _ in range(a.repeats):
        for name, enc in encoders.items():
            t = time.perf_counter()
            emb[name] = enc.embed(ids)
            rates[name].append(len(ids) / (time.perf_counter() - t))
    torch.set_num_threads(a.threads)
    ref_model, n_ref = plain_encoder().eval(), min(100, len(ids))
    with torch.inference_mode():
        ref = np.stack([ref_model(input_ids=torch.tensor([x])).last_hidden_state.mean(1)[0].numpy() for x in ids[:n_ref]])
    out = {"int8_kernel": int8_kernel(), "passages": len(ids), "threads": a.threads,
           "passages_per_s": {k: round(float(np.median(v)), 1) for k, v in rates.items()},
           "cosine_to_float32": {k: round(float(cosines(e[:n_ref], ref).mean()), 5) for k, e in emb.items()},
           "native_vs_exact_cosine": round(float(cosines(emb["native"], emb["exact"]).mean()), 5)}
    out["exact_over_native_speed"] = round(out["passages_per_s"]["exact"] / out["passages_per_s"]["native"], 2)
    print(json.dumps(out, indent=1))
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
