"""The HTTP service started for real on a free loopback port (shared by the HTTP tests)."""
import contextlib
import socket
import subprocess
import sys
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str):
    """Run ``narratives serve --model MODEL`` on 127.0.0.1 and yield its base URL; stop it afterwards."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", "serve", "--port", str(port),
                             "--model", model], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def start_server():
    """``with start_server(model) as base_url: ...`` (see :func:`running_server`)."""
    return running_server


@pytest.fixture(scope="session")
def engine_inputs(tmp_path_factory):
    """Inputs for the engine tests (Ray, Spark, and the engine-free check of their steps): 1,000 JSONL
    articles built from the sample articles, a Parquet file whose first id repeats one of them, and the
    fixture folder of articles (.txt, CSV, JSONL with malformed lines). Returns the list of paths."""
    import json
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(__file__).resolve().parents[2]
    tmp = tmp_path_factory.mktemp("engine_inputs")
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "data" / "samples").glob("*.txt"))]
    big = tmp / "articles.jsonl"
    with open(big, "w", encoding="utf-8") as fh:
        for i in range(1000):
            fh.write(json.dumps({"id": f"a{i}", "text": f"Article {i}\n\n" + texts[i % len(texts)],
                                 "outlet": f"outlet {i % 3}", "tags": ["x", str(i % 2)]}) + "\n")
    pq.write_table(pa.table({"id": ["a7", "p2", None], "text": [texts[0], "Kosovo set the precedent.", "Rain."],
                             "year": [2025, 2026, 2027]}), tmp / "more.parquet")
    return [str(big), str(tmp / "more.parquet"), str(root / "tests" / "fixtures" / "articles")]
