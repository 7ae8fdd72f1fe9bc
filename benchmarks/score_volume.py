"""Throughput and memory of `narratives score`, and of the HTTP service, against `predict` alone.

    python benchmarks/score_volume.py [--model baseline] [--sizes 1000 10000] [--out bench.json]

1. Builds JSONL files of N articles from the team-written sample articles (each copy gets its own id and a
   numbered first line), N in --sizes.
2. Runs `narratives score FILE -o OUT` in a child process per size: articles/s, passages/s and the child's
   peak RSS. Flat memory means the peak for 10,000 articles is close to the one for 1,000.
3. Times `predict` alone on the same passages (split the same way), in this process: the ratio of the
   two passage rates is the pipeline's overhead (reading, splitting, aggregating, writing).
4. Starts `narratives serve` on loopback and sends a bounded load from this process (--requests requests
   of --batch passages, --concurrency at a time): requests/s, passages/s, p50 and p99 latency, errors.

With --engines N it measures instead the engines on the same N articles, each in a child process, in one
run: `narratives score` (in-process scoring), a pandas frame through `score_frame` (reading the JSONL
with pandas included), and `narratives score --engine ray` / `--engine spark` (Ray's local cluster and
Spark local[*], start-up included). Each also runs on --engine-small articles (default 20), which is
mostly the engine's start-up. Ratios are against `narratives score` in the same run; every engine's
records are checked to equal its records byte for byte.

With --http-levels 1 8 32 it measures only the service's work model, per model in --models: one server
per model, then for each level that many clients at once, each sending --per-client requests of --batch
passages to /v1/score and, on a 503, waiting its Retry-After and sending again. Per level: completed
requests/s, p50/p99 latency (send to answer, retries included), 503 answers (shed and retried), errors
(any other non-200, or a dropped connection) and the server's peak RSS so far (VmHWM).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import resource, sys, time
from narratives.serve.cli import main
t0 = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=True)
except SystemExit as e:
    code = e.code
print("BENCH", time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, file=sys.stderr)
"""


def make_articles(path: Path, n: int) -> None:
    samples = sorted((REPO / "data" / "samples").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in samples]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            text = f"Article {i}\n\n" + texts[i % len(texts)]
            fh.write(json.dumps({"id": f"a{i}", "text": text, "outlet": samples[i % len(samples)].stem[3:15]}) + "\n")


def run_score(src: Path, out: Path, model: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, "score", str(src), "-o", str(out), "--model", model,
                        "--no-progress"], capture_output=True, text=True)
    line = next(x for x in r.stderr.splitlines() if x.startswith("BENCH"))
    _, secs, rss_kb, code = line.split()
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    passages = sum(x["n_passages"] for x in recs)
    return {"articles": len(recs), "passages": passages, "seconds": round(float(secs), 2),
            "articles_per_second": round(len(recs) / float(secs), 1),
            "passages_per_second": round(passages / float(secs), 1), "peak_rss_mb": round(int(rss_kb) / 1024, 1),
            "exit": code}


def predict_alone(src: Path, model: str) -> dict:
    from narratives.serve import predict
    from narratives.serve.passages import split_passages

    texts = []
    for line in open(src, encoding="utf-8"):
        t = json.loads(line)["text"]
        texts += [t[s:e] for s, e in split_passages(t)]
    predict(texts[:64], model=model)  # load and warm up
    t0 = time.perf_counter()
    for i in range(0, len(texts), 256):
        predict(texts[i:i + 256], model=model)
    secs = time.perf_counter() - t0
    return {"passages": len(texts), "seconds": round(secs, 2), "passages_per_second": round(len(texts) / secs, 1)}


def http_load(model: str, requests: int, batch: int, concurrency: int) -> dict:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", "serve", "--port", str(port),
                               "--model", model], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        samples = sorted((REPO / "data" / "samples").glob("*.txt"))
        paras = [p for f in samples for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 5]
        bodies = [{"texts": [paras[(i * batch + j) % len(paras)] for j in range(batch)]} for i in range(requests)]
        client = httpx.Client(timeout=60)

        def call(body):
            t = time.perf_counter()
            r = client.post(base + "/v1/predict", json=body)
            return time.perf_counter() - t, r.status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(call, bodies))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat = sorted(x for x, _ in results)
    errors = sum(code != 200 for _, code in results)
    return {"requests": requests, "batch": batch, "concurrency": concurrency,
            "requests_per_second": round(requests / wall, 1), "passages_per_second": round(requests * batch / wall, 1),
            "p50_ms": round(1000 * lat[len(lat) // 2], 1),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            "errors": errors}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def http_levels(model: str, levels: list[int], per_client: int, batch: int) -> list[dict]:
    """The work model under 1, 8, 32 ... concurrent clients (see the module docstring)."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", "serve", "--port", str(port),
                               "--model", model], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    samples = sorted((REPO / "data" / "samples").glob("*.txt"))
    paras = [p for f in samples for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 5]
    rows = []
    shed = [0]  # 503 answers at the current level
    try:
        for _ in range(1200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.post(base + "/v1/score", json={"articles": [{"id": "w", "text": paras[0]}]}, timeout=600)  # warm up
        for level in levels:
            shed[0] = 0

            def client(c: int) -> list[tuple[float, int]]:
                out = []
                with httpx.Client(timeout=600) as http:
                    for r in range(per_client):
                        text = "\n\n".join(paras[(c * 7 + r * 3 + j) % len(paras)] for j in range(batch))
                        body = {"articles": [{"id": f"c{c}-{r}", "text": text}]}
                        t = time.perf_counter()
                        code = -1
                        try:
                            for _ in range(100):
                                resp = http.post(base + "/v1/score", json=body)
                                code = resp.status_code
                                if code != 503:
                                    break
                                shed[0] += 1
                                time.sleep(float(resp.headers.get("retry-after", "1")))
                        except httpx.TransportError:
                            code = -1
                        out.append((time.perf_counter() - t, code))
                return out

            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=level) as pool:
                results = [x for chunk in pool.map(client, range(level)) for x in chunk]
            wall = time.perf_counter() - t0
            lat = sorted(x for x, code in results if code == 200)
            rows.append({"model": model, "clients": level, "requests": len(results), "passages_per_request": batch,
                         "requests_per_second": round(len(lat) / wall, 2),
                         "p50_s": round(lat[len(lat) // 2], 2) if lat else None,
                         "p99_s": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
                         "shed_503_retried": shed[0], "errors": sum(code != 200 for _, code in results),
                         "server_peak_rss_mb": _peak_rss_mb(server.pid)})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


PANDAS_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import pandas as pd
from narratives.serve.frames import frame_records, score_frame
from narratives.serve.output import json_line
frame = pd.read_json(sys.argv[1], lines=True, dtype=False)
frame["source"] = [f"{sys.argv[1]}:{i}" for i in range(1, len(frame) + 1)]
out = score_frame(frame, sys.argv[3], source_column="source")
secs = time.perf_counter() - t0
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    fh.writelines(json_line(r) for r in frame_records(out))
print("BENCH", secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0, file=sys.stderr)
"""


def run_engine(engine: str, src: Path, out: Path, model: str) -> float:
    """Seconds for one engine to score ``src`` into ``out`` (child process, start-up included)."""
    if engine == "pandas":
        cmd = [sys.executable, "-c", PANDAS_CHILD, str(src), str(out), model]
    else:
        cmd = [sys.executable, "-c", CHILD, "score", str(src), "-o", str(out), "--model", model, "--no-progress",
               "--engine", engine]
    r = subprocess.run(cmd, capture_output=True, text=True)
    line = next((x for x in r.stderr.splitlines() if x.startswith("BENCH")), None)
    if line is None or line.split()[3] not in ("0", "None"):
        raise RuntimeError(f"{engine} failed:\n{r.stderr[-3000:]}")
    return float(line.split()[1])


def engines(n: int, small: int, model: str) -> dict:
    """Articles/s of each engine on the same ``n`` articles, its start-up (from a run on ``small``), and the
    ratios to `narratives score` (see the module docstring)."""
    res: dict = {"articles": n, "small": small, "engines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (small, n):
            make_articles(Path(tmp) / f"a{size}.jsonl", size)
        for engine in ("local", "pandas", "ray", "spark"):
            secs = {size: run_engine(engine, Path(tmp) / f"a{size}.jsonl", Path(tmp) / f"{engine}{size}.jsonl", model)
                    for size in (small, n)}
            same = (Path(tmp) / f"{engine}{n}.jsonl").read_bytes() == (Path(tmp) / f"local{n}.jsonl").read_bytes()
            res["engines"][engine] = {"seconds": round(secs[n], 2), "articles_per_second": round(n / secs[n], 1),
                                      "seconds_small": round(secs[small], 2),
                                      "records_identical_to_narratives_score": same}
    local = res["engines"]["local"]
    for r in res["engines"].values():
        r["time_ratio_to_narratives_score"] = round(r["seconds"] / local["seconds"], 2)
        r["time_ratio_small"] = round(r["seconds_small"] / local["seconds_small"], 2)
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="baseline")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--engines", type=int, default=None, metavar="N",
                    help="Compare narratives score, pandas, Ray and Spark on N articles (only that).")
    ap.add_argument("--engine-small", type=int, default=20, help="Articles of the start-up run for --engines.")
    ap.add_argument("--http-levels", type=int, nargs="+", default=None, metavar="CLIENTS",
                    help="Only measure the HTTP work model at these numbers of concurrent clients.")
    ap.add_argument("--models", nargs="+", default=None, help="[--http-levels] Models to measure [default: --model].")
    ap.add_argument("--per-client", type=int, default=2, help="[--http-levels] Requests each client sends.")
    args = ap.parse_args(argv)
    if args.http_levels:
        rows = [row for m in (args.models or [args.model])
                for row in http_levels(m, args.http_levels, args.per_client, args.batch)]
        print(json.dumps(rows, indent=2))
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2) + "\n")
        return {"http_levels": rows}
    if args.engines:
        out = engines(args.engines, args.engine_small, args.model)
        print(json.dumps(out, indent=2))
        if args.out:
            args.out.write_text(json.dumps(out, indent=2) + "\n")
        return out
    res: dict = {"model": args.model, "score": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            src = Path(tmp) / f"articles-{n}.jsonl"
            make_articles(src, n)
            res["score"][str(n)] = run_score(src, Path(tmp) / f"scores-{n}.jsonl", args.model)
        biggest = Path(tmp) / f"articles-{max(args.sizes)}.jsonl"
        res["predict_alone"] = predict_alone(biggest, args.model)
    big = res["score"][str(max(args.sizes))]
    res["score_over_predict_passages_per_second"] = round(
        big["passages_per_second"] / res["predict_alone"]["passages_per_second"], 3)
    small = res["score"][str(min(args.sizes))]
    res["peak_rss_ratio_largest_to_smallest"] = round(big["peak_rss_mb"] / small["peak_rss_mb"], 3)
    res["http"] = http_load(args.model, args.requests, args.batch, args.concurrency)
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
