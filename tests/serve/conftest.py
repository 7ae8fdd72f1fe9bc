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
