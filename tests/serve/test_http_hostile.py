"""Hostile requests to `narratives serve` (issue 17, cases 9 to 11): never a 5xx for bad input, bodies
that are not strict UTF-8 JSON refused, work bounded in passages, load shed with 503 and Retry-After,
and the work of a client that has gone stopped.
"""
import asyncio
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(tiny_model, start_server):
    with start_server(str(tiny_model)) as base:
        yield base


# 9. NaN, infinities and lone surrogates: a JSON 422, never a 500 in plain text
@pytest.mark.parametrize("body", [
    b'{"articles": [{"id": "a", "text": "Rain.", "x": NaN}]}',
    b'{"articles": [{"id": "a", "text": "Rain.", "x": Infinity}]}',
    b'{"articles": [{"id": "a", "text": "Rain.", "x": -Infinity}]}',
    b'{"articles": [{"id": "a", "text": "Rain.", "x": 1e999}]}',
    b'{"articles": [{"id": "\\ud800", "text": "Rain."}]}',
    b'{"articles": [{"id": "a", "text": "Rain.", "x": "\\udfff"}]}',
    b'{"articles": [{"id": "a", "text": "Rain \\ud800 in Mostar. It rained a lot there."}]}',
    b'{"texts": ["Rain \\ud800 in Mostar."]}',
    b'{"articles": [{"id": "a", "text": "Rain.", "x": ' + b"[" * 100 + b"]" * 100 + b"}]}",
], ids=["nan", "inf", "-inf", "1e999", "surrogate-id", "surrogate-extra", "surrogate-text", "surrogate-predict",
        "deep-extra"])
def test_values_that_cannot_be_answered_get_a_json_422(server, body):
    path = "/v1/predict" if b"texts" in body else "/v1/score"
    r = httpx.post(server + path, content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["status"] == 422 and "invalid request" in r.json()["error"]["message"]


# 11. UTF-16 bodies and duplicate keys are refused, as SECURITY.md says
@pytest.mark.parametrize("body, why", [
    ('{"texts": ["Rain in Mostar."]}'.encode("utf-16"), "not UTF-8"),
    ('{"texts": ["Rain in Mostar."]}'.encode("utf-16-le"), "not UTF-8"),
    (b'{"texts": ["a"], "texts": ["b"]}', "duplicate key 'texts'"),
    (b'{"articles": [{"id": "a", "text": "a", "text": "b"}]}', "duplicate key 'text'"),
])
def test_utf16_and_duplicate_keys_are_refused(server, body, why):
    path = "/v1/predict" if b"texts" in body or b"t\x00e\x00x\x00t\x00s" in body else "/v1/score"
    r = httpx.post(server + path, content=body, headers=JSON)
    assert r.status_code == 422 and why in r.json()["error"]["message"], r.text


# 10. The work model
def test_work_per_request_is_bounded_in_passages(server):
    many = "\n\n".join(f"Passage {i} on the weather in Mostar." for i in range(600))  # 600 passages, 25 KB
    r = httpx.post(server + "/v1/score", json={"articles": [{"id": "a", "text": many}, {"id": "b", "text": many}]},
                   timeout=60)
    assert r.status_code == 422 and "1200 passages in one request; the limit is 1000" in r.json()["error"]["message"]
    r = httpx.post(server + "/v1/score", json={"articles": [{"id": "a", "text": many}]}, timeout=60)
    assert r.status_code == 200 and r.json()["results"][0]["n_passages"] == 600


def test_a_full_queue_is_shed_with_503_and_retry_after_before_the_body_is_read():
    from narratives.serve.work import LoadShedder

    release, entered, bodies_read = asyncio.Event(), [], []

    async def slow_app(scope, receive, send):
        bodies_read.append((await receive())["body"])
        if scope["path"] == "/v1/score":
            entered.append(1)
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = LoadShedder(slow_app, capacity=2, paths=["/v1/score"])

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = [asyncio.ensure_future(client.post("/v1/score", content=b"x")) for _ in range(2)]
            while len(entered) < 2:
                await asyncio.sleep(0.01)
            shed = await client.post("/v1/score", content=b"y" * 1000)
            other = await client.get("/healthz")  # other paths are never shed
            release.set()
            done = await asyncio.gather(*first)
            after = await client.post("/v1/score", content=b"z")  # room again once the first two answered
            return shed, other, done, after

    shed, other, done, after = asyncio.run(main())
    assert shed.status_code == 503 and shed.headers["retry-after"] == "2"
    assert shed.json()["error"]["status"] == 503 and "busy" in shed.json()["error"]["message"]
    assert b"y" * 1000 not in bodies_read  # refused before its body was read
    assert other.status_code == 200 and [r.status_code for r in done] == [200, 200] and after.status_code == 200
    assert app.active == 0


def test_work_of_a_client_that_has_gone_is_stopped_or_dropped():
    from narratives.serve.work import ClientGone, run_work, until_gone

    lock, steps = threading.Lock(), []
    t0 = time.monotonic()

    async def gone_after_a_moment():
        return time.monotonic() - t0 > 0.3

    def work(gone):
        for _ in until_gone(range(1000), gone):  # a thousand batches of 0.01 s: 10 s if never stopped
            steps.append(1)
            time.sleep(0.01)
        return "finished"

    with pytest.raises(ClientGone):
        asyncio.run(run_work(gone_after_a_moment, lock, work, poll=0.05))
    assert 10 < len(steps) < 200  # stopped within a few batches of the disconnect
    assert not lock.locked()

    queued = []
    with lock:  # the model is busy: a queued request whose client goes is dropped before it starts
        async def gone_now():
            return True

        async def queued_request():
            return await run_work(gone_now, lock, lambda gone: queued.append(1), poll=0.05)

        def release_soon():
            time.sleep(0.3)
            lock.release()

        threading.Thread(target=release_soon).start()
        with pytest.raises(ClientGone):
            asyncio.run(queued_request())
        lock.acquire()
    assert queued == []

