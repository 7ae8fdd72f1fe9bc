"""The HTTP service, started for real on loopback and called over HTTP."""
import json

import pytest

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(tiny_model, start_server):
    with start_server(str(tiny_model)) as base:
        yield base


def test_health_model_and_openapi(server, tiny_model):
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert httpx.get(server + "/healthz").json() == {"status": "ok", "model_version": manifest["model_hash"][:12]}
    info = httpx.get(server + "/v1/model").json()
    assert info["labels"] == ["genocide_denial", "kosovo_precedent", "anti_western"]
    assert info["model_hash"] == manifest["model_hash"] and info["metrics"]["test"]["n"] == 6
    paths = httpx.get(server + "/openapi.json").json()["paths"]
    assert {"/v1/predict", "/v1/score", "/v1/model", "/healthz"} <= set(paths)


def test_predict_matches_the_python_api(server, tiny_model):
    from narratives.serve import predict

    texts = ["Kosovo set the precedent for Crimea.", "", "Rain in Sarajevo."]
    r = httpx.post(server + "/v1/predict", json={"texts": texts})
    assert r.status_code == 200
    assert r.json()["results"] == json.loads(json.dumps(predict(texts, model=tiny_model)))


def test_score_returns_article_records_with_passthrough(server):
    body = {"articles": [{"id": "a1", "text": "Crimea did what Kosovo did.\n\nThe West is to blame.", "outlet": "X"},
                         {"id": 7, "text": ""}]}
    r = httpx.post(server + "/v1/score", json=body)
    assert r.status_code == 200
    a, b = r.json()["results"]
    assert a["id"] == "a1" and a["outlet"] == "X" and a["n_passages"] == 2 and a["model_hash"]
    assert b["id"] == "7" and b["warnings"] == ["article has no text"]


@pytest.mark.parametrize("payload, status, message", [
    ({"texts": "not a list"}, 422, "invalid request"),
    ({"texts": [1, 2]}, 422, "invalid request"),
    ({"texts": ["x"], "model": "/etc/passwd"}, 422, "invalid request"),  # no way to pick another model
    ({"texts": ["x"] * 257}, 422, "the limit is 256"),
    ({"texts": ["x" * 20_001]}, 422, "more than 20000 characters"),
    ({"articles": [{"text": "no id"}]}, 422, "invalid request"),
])
def test_bad_requests_get_4xx_with_a_json_error(server, payload, status, message):
    path = "/v1/score" if "articles" in payload else "/v1/predict"
    r = httpx.post(server + path, json=payload)
    assert r.status_code == status and message in r.json()["error"]["message"]


def test_malformed_json_and_oversized_bodies(server):
    r = httpx.post(server + "/v1/predict", content=b'{"texts": [', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["status"] == 422
    big = json.dumps({"texts": ["x" * 1000] * 11_000}).encode()
    r = httpx.post(server + "/v1/predict", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "request body over" in r.json()["error"]["message"]

    def chunks():  # no content-length: the limit holds for streamed bodies too
        for _ in range(11):
            yield b" " * 1_000_000

    r = httpx.post(server + "/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_bounded_load_has_no_server_errors(server):
    from concurrent.futures import ThreadPoolExecutor

    def call(i):
        return httpx.post(server + "/v1/predict", json={"texts": [f"Passage number {i} about Kosovo."] * 8},
                          timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(call, range(80)))
    assert codes == [200] * 80


def test_the_model_is_warmed_up_before_the_first_request(tiny_model, monkeypatch):
    """Start-up scores one passage (the default builds its ONNX export on its first call), so the first request
    does not wait for it."""
    from fastapi.testclient import TestClient

    from narratives.model import load_model
    from narratives.serve import http

    calls = []
    real = load_model(tiny_model)
    monkeypatch.setattr(real, "score", lambda texts, _f=real.score: calls.append(list(texts)) or _f(texts))
    monkeypatch.setattr("narratives.model.load_model", lambda ref=None: real)
    with TestClient(http.create_app(str(tiny_model))) as client:
        assert calls == [[http.WARM_UP_TEXT]]  # before any request
        assert client.get("/healthz").status_code == 200
