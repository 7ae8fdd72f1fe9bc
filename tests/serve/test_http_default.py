"""A server started without --model follows the default pointer: promote and rollback take effect on
the next request, without a restart; a server started with --model never moves."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx")


def _start(env, *args):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", "serve", "--port", str(port), *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    pytest.fail("server did not start")


def test_server_follows_promote_and_rollback(tmp_path, monkeypatch, tiny_model):
    from narratives.model import DEFAULT_MODEL_NAME, load_model
    from narratives.model.registry import publish_version, rollback, set_default, staging_dir

    models = tmp_path / "models"
    monkeypatch.setenv("NARRATIVES_MODELS", str(models))
    staged = staging_dir(models)
    shutil.copytree(tiny_model, staged)
    version = publish_version(staged)[0].name
    shipped = load_model(DEFAULT_MODEL_NAME).model_hash_[:12]
    env = {**os.environ, "NARRATIVES_MODELS": str(models)}
    following, base = _start(env)
    fixed, fixed_base = _start(env, "--model", DEFAULT_MODEL_NAME)
    try:
        assert httpx.get(base + "/healthz").json()["model_version"] == shipped
        set_default(version)
        assert httpx.get(base + "/healthz").json()["model_version"] == version
        r = httpx.post(base + "/v1/predict", json={"texts": ["Kosovo set the precedent for Crimea."]}).json()
        assert r["results"][0]["model_version"] == version and len(r["results"][0]["scores"]) == 3
        assert httpx.get(fixed_base + "/healthz").json()["model_version"] == shipped
        rollback()
        assert httpx.get(base + "/healthz").json()["model_version"] == shipped
        # A broken pointer (its model gone): the server keeps serving the last good model, no 5xx.
        set_default(version)
        assert httpx.get(base + "/healthz").json()["model_version"] == version
        shutil.rmtree(models / version)
        r = httpx.post(base + "/v1/predict", json={"texts": ["Kosovo set the precedent for Crimea."]})
        assert r.status_code == 200 and r.json()["results"][0]["model_version"] == version
    finally:
        for p in (following, fixed):
            p.terminate()
            p.wait(timeout=30)
