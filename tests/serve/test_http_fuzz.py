"""Schema-driven fuzzing of the HTTP service: schemathesis generates requests from the service's own
OpenAPI schema and sends them to the real server (shipped ``baseline`` model, loopback, free port).

Valid requests (positive mode) and invalid ones (negative mode: wrong types, missing or unknown fields,
broken bodies) must never get a 5xx, and every response must match the status codes, content type and
body schema the OpenAPI document declares. Examples are bounded and derandomised, so the run is short
and repeatable. A request can never choose the model, by body, query, header or path.
"""
import pytest

httpx = pytest.importorskip("httpx")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402

OPERATIONS = [("GET", "/healthz"), ("GET", "/v1/model"), ("POST", "/v1/predict"), ("POST", "/v1/score")]
MAX_EXAMPLES = 40  # per operation and mode


@pytest.fixture(scope="module")
def server(start_server):
    with start_server("baseline") as base:
        yield base


@pytest.fixture(scope="module")
def schema(server):
    return schemathesis.openapi.from_url(server + "/openapi.json")


def test_the_schema_lists_every_operation(schema):
    found = sorted((op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations())
    assert found == sorted(OPERATIONS)  # a new endpoint must be added to the fuzzing below


@pytest.mark.parametrize("method, path, mode", [
    *((m, p, "positive") for m, p in OPERATIONS),
    *((m, p, "negative") for m, p in OPERATIONS if m == "POST"),  # GETs take no input to break
])
def test_fuzzed_requests_get_no_5xx_and_match_the_schema(schema, server, method, path, mode):
    operation = schema[path][method]
    statuses = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    def fuzz(case):
        response = case.call_and_validate(base_url=server, timeout=30)  # status, content type, body schema
        assert response.status_code < 500, response.text
        statuses.append(response.status_code)

    fuzz()
    assert statuses
    if mode == "negative":
        assert set(statuses) <= {200, 413, 422}, statuses  # rejected, or harmlessly valid after all


def test_bodies_that_are_not_utf8_get_a_json_422(server):
    # Found by the fuzzer: this was a 400 with FastAPI's own error body, undocumented in the schema.
    for path in ("/v1/predict", "/v1/score"):
        r = httpx.post(server + path, content=b'{"texts": ["caf\xe9"]}', headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("invalid request")


def test_other_http_errors_have_the_json_error_body(server):
    r = httpx.get(server + "/v1/predict")
    assert r.status_code == 405 and r.json() == {"error": {"status": 405, "message": "Method Not Allowed"}}
    assert r.headers["allow"] == "POST"
    r = httpx.get(server + "/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404


def test_no_request_can_choose_the_model(schema, server, tmp_path):
    before = httpx.get(server + "/v1/model").json()
    for op in schema.get_all_operations():  # no query, header, path or cookie parameters at all
        assert not list(op.ok().iter_parameters()), op.ok().label
    openapi = httpx.get(server + "/openapi.json").json()["components"]["schemas"]
    assert openapi["PredictRequest"]["additionalProperties"] is False
    assert openapi["ScoreRequest"]["additionalProperties"] is False
    (tmp_path / "config.json").write_text("{}")
    for trick in ({"params": {"model": str(tmp_path)}}, {"headers": {"x-model": str(tmp_path)}},
                  {"params": {"model_path": "/etc/passwd"}}):
        r = httpx.post(server + "/v1/predict", json={"texts": ["Kosovo and Crimea."]}, **trick)
        assert r.status_code == 200 and r.json()["results"][0]["model_hash"] == before["model_hash"]
    r = httpx.post(server + "/v1/predict", json={"texts": ["x"], "model": str(tmp_path)})
    assert r.status_code == 422
    r = httpx.post(server + "/v1/score", json={"articles": [{"id": 1, "text": "x", "model": str(tmp_path)}]})
    assert r.status_code == 200 and r.json()["results"][0]["model_hash"] == before["model_hash"]  # a pass-through field
    assert httpx.get(server + "/v1/model").json() == before


@pytest.mark.parametrize("article", [{"id": False, "text": "x"}, {"id": 1.0, "text": "x"}, {"id": "a", "text": 5}])
def test_article_fields_take_exactly_the_types_the_schema_names(server, article):
    # Found by the fuzzer: pydantic's lax mode accepted {"id": false} (as 0), which the schema does not allow.
    r = httpx.post(server + "/v1/score", json={"articles": [article]})
    assert r.status_code == 422 and r.json()["error"]["problems"]
