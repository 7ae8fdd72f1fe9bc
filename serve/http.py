"""The HTTP service: ``predict`` and article scoring for pipelines in any language.

    narratives serve --host 127.0.0.1 --port 8000 [--model NAME]

Endpoints: ``POST /v1/predict`` (``{"texts": [...]}``), ``POST /v1/score`` (``{"articles": [{"id", "text",
...}]}``), ``GET /v1/model``, ``GET /healthz``, and the OpenAPI schema at ``/openapi.json`` (docs at
``/docs``). The model is chosen when the server starts and loaded once; a request cannot name another
one, let alone a path. Requests over the limits get 413 (body too large) or 422 (batch too large, text too
long, wrong types, malformed JSON or a body that is not UTF-8), always with a JSON body
``{"error": {"status", "message"}}``, as does every other HTTP error (404, 405). Every response is
described in the OpenAPI schema, and ``tests/serve/test_http_fuzz.py`` fuzzes the service against it.

A JSON body must be strict JSON in UTF-8: a body in another encoding (UTF-16), a key given twice,
``NaN``, ``Infinity``, a number too large for a float, a lone surrogate or nesting past 64 levels get a
422. The work model (see :mod:`narratives.serve.work`): one scoring call at a time, at most
``max_passages`` passages per request, at most ``max_queue`` scoring requests admitted at once (the next
gets 503 with ``Retry-After``), and the work of a client that disconnects is dropped or stopped.

>>> app = create_app("baseline")
>>> sorted(r.path for r in app.routes if r.path.startswith("/v1"))
['/v1/model', '/v1/predict', '/v1/score']
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .records import ArticleResult, PassageResult


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 10_000_000
    max_texts: int = 256
    max_articles: int = 64
    max_text_chars: int = 20_000
    max_article_chars: int = 1_000_000
    max_passages: int = 1_000  # per request: the work one request may ask for (split as scoring splits)
    max_queue: int = 16  # scoring requests admitted at once (one scoring, the rest waiting); then 503


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str] = Field(description="Passages to score, in order.")


class Article(BaseModel):
    # Strict: exactly the types the schema names (lax mode took {"id": false} as 0; found by the fuzzer).
    model_config = ConfigDict(extra="allow", strict=True)  # outlet, date, url ... pass through to the record
    id: str | int
    text: str


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    articles: list[Article]


class Problem(BaseModel):
    where: str
    message: str | None


class ErrorDetail(BaseModel):
    status: int
    message: str
    problems: list[Problem] | None = None


class ErrorResponse(BaseModel):
    """The body of every 4xx answer."""
    error: ErrorDetail


class PredictResponse(BaseModel):
    results: list[PassageResult]


class ScoreResponse(BaseModel):
    results: list[ArticleResult]


class Health(BaseModel):
    status: Literal["ok"]
    model_version: str


class ModelInfo(BaseModel):
    kind: str | None
    labels: list[str]
    thresholds: dict[str, float]
    model_version: str
    model_hash: str
    metrics: dict[str, dict[str, float | int | None]]
    limits: dict[str, int]


ERRORS: dict[int | str, dict] = {
    413: {"model": ErrorResponse, "description": "Request body over the size limit"},
    422: {"model": ErrorResponse, "description": "Malformed or invalid request, or over a batch or text limit"},
    503: {"model": ErrorResponse, "description": "Busy: too many requests queued; retry after Retry-After seconds"},
}


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"status": status, "message": message}}, headers=headers)


class BodyLimit:
    """ASGI middleware: read at most ``max_bytes`` of a request body (declared or chunked), answer 413
    past that, and replay the body to the app."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        too_big = declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes)
        chunks, size, more = [], 0, True
        while more and not too_big:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            too_big = size > self.max_bytes
        if too_big:
            return await _error(413, f"request body over {self.max_bytes} bytes")(scope, receive, send)
        body, sent = b"".join(chunks), False
        why = _strict_json_problem(body) if body and scope.get("path", "").startswith("/v1/") else None
        if why is not None:
            return await _error(422, f"invalid request: {why}")(scope, receive, send)

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def _strict_json_problem(body: bytes) -> str | None:
    """Why a body that Python's JSON parser takes (it guesses UTF-16 and reads NaN) is not strict UTF-8
    JSON that can be passed on, or None (also None for a body it cannot parse: FastAPI answers that)."""
    from narratives.model.textfiles import load_json_strict

    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return None
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":
        return f"the body is not UTF-8 (it looks like {encoding}); send UTF-8 JSON"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    try:
        load_json_strict(text)
    except ValueError as exc:
        return str(exc)
    return None


WARM_UP_TEXT = "Warm-up."


def warm_up(clf) -> None:
    """Score one short passage, so that what a model builds or opens on its first call (the multilingual
    encoder's ONNX export of the default, about 40 s once per machine; onnxruntime sessions, tokenizers) is
    done before the server takes its first request rather than inside it.

    >>> class Spy:
    ...     seen = []
    ...     def score(self, texts): self.seen.extend(texts)
    >>> warm_up(Spy()); Spy.seen
    ['Warm-up.']
    """
    clf.score([WARM_UP_TEXT])
    from .decider import decision_scorer

    decision_scorer(clf)  # an article decider's evidence model that cannot be used fails the start, not each article


def create_app(model: str | Path | None = None, limits: Limits = Limits(), corrections: str | Path | None = None,
               token: str | None = None) -> FastAPI:
    """The FastAPI application serving ``model`` (a name, version or directory, fixed for the server's
    lifetime), or, when ``model`` is None, the default model: a ``narratives promote`` or ``rollback``
    takes effect on the next request (the pointer file is read per request; each model is loaded once).
    The analyst's workbench is served at ``/`` (see :mod:`narratives.serve.workbench`), writing corrections
    to ``corrections``; with ``token`` every request needs it."""
    lock = threading.Lock()  # one scoring call at a time: the 2 cores are already used inside each call

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from narratives.model import load_model

        app.state.model = load_model(model)  # at start-up: a broken model fails the start, not a request
        warm_up(app.state.model)
        yield

    def current(request: Request):
        if model is not None:
            return request.app.state.model
        from narratives.model import ModelLoadError, load_model

        try:
            request.app.state.model = load_model(None)  # cached per model; follows the default pointer
        except ModelLoadError as exc:  # a broken pointer: keep serving the last good model, and say so
            logging.getLogger("narratives.serve").error("default model not loadable, serving %s: %s",
                                                        request.app.state.model.model_hash_[:12], exc)
        return request.app.state.model

    app = FastAPI(title="narratives", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Pro-Kremlin narratives about the Western Balkans in news text.")
    from .docs import add_docs

    add_docs(app)  # /docs and /redoc from packaged assets: offline, and a Swagger UI that reads OpenAPI 3.1

    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    from narratives.serve.work import ClientGone, LoadShedder, count_passages, run_work, until_gone

    app.add_middleware(LoadShedder, capacity=limits.max_queue, paths=("/v1/predict", "/v1/score"))  # outermost

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 400:  # FastAPI's answer to a body it cannot decode (not UTF-8): malformed, as JSON is
            return _error(422, f"invalid request: {exc.detail} (is it UTF-8 JSON?)")
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [{"where": ".".join(str(x) for x in e.get("loc", ())), "message": e.get("msg")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"error": {"status": 422, "message": "invalid request",
                                                                "problems": json.loads(json.dumps(problems, default=str))}})

    @app.get("/healthz", response_model=None, responses={200: {"model": Health}})
    def healthz(request: Request) -> dict:
        clf = current(request)
        return {"status": "ok", "model_version": clf.model_hash_[:12]}

    @app.get("/v1/model", response_model=None, responses={200: {"model": ModelInfo}})
    def model_info(request: Request) -> dict:
        clf = current(request)
        metrics = {}
        f = Path(clf.path_) / "metrics.json"
        if f.exists():
            full = json.loads(f.read_text(encoding="utf-8"))
            metrics = {split: {k: m.get(k) for k in ("n", "macro_f1", "micro_f1", "stance_accuracy",
                                                      "negatives_flagged", "ece")}
                       for split, m in full.get("splits", {}).items()}
        return {"kind": clf.config_.get("kind"), "labels": clf.labels_, "thresholds": clf.thresholds_,
                "model_version": clf.model_hash_[:12], "model_hash": clf.model_hash_, "metrics": metrics,
                "limits": limits.__dict__}

    @app.post("/v1/predict", responses={200: {"model": PredictResponse}, **ERRORS})
    async def predict_endpoint(body: PredictRequest, request: Request):
        if len(body.texts) > limits.max_texts:
            return _error(422, f"{len(body.texts)} texts in one request; the limit is {limits.max_texts}")
        long = [i for i, t in enumerate(body.texts) if len(t) > limits.max_text_chars]
        if long:
            return _error(422, f"texts[{long[0]}] has more than {limits.max_text_chars} characters")
        from narratives.serve.predict import score_passages

        clf = current(request)
        try:
            return {"results": await run_work(request.is_disconnected, lock,
                                              lambda gone: score_passages(clf, body.texts))}
        except ClientGone:
            return _error(499, "the client closed the request")

    @app.post("/v1/score", responses={200: {"model": ScoreResponse}, **ERRORS})
    async def score_endpoint(body: ScoreRequest, request: Request):
        if len(body.articles) > limits.max_articles:
            return _error(422, f"{len(body.articles)} articles in one request; the limit is {limits.max_articles}")
        long = [i for i, a in enumerate(body.articles) if len(a.text) > limits.max_article_chars]
        if long:
            return _error(422, f"articles[{long[0]}].text has more than {limits.max_article_chars} characters")
        from starlette.concurrency import run_in_threadpool

        from narratives.serve.articles import score_articles

        n = await run_in_threadpool(count_passages, [a.text for a in body.articles])
        if n > limits.max_passages:
            return _error(422, f"{n} passages in one request; the limit is {limits.max_passages} "
                               "(send fewer or shorter articles per request)")
        items = []
        for i, a in enumerate(body.articles):
            extra = {k: v for k, v in (a.model_extra or {}).items()}
            items.append({"id": str(a.id), "text": a.text, "source": f"request:articles[{i}]", "extra": extra})
        clf = current(request)
        try:
            return {"results": await run_work(request.is_disconnected, lock,
                                              lambda gone: list(score_articles(until_gone(items, gone), model=clf)))}
        except ClientGone:
            return _error(499, "the client closed the request")

    from narratives.serve.workbench import mount_workbench

    mount_workbench(app, current, lock, limits, corrections=corrections, token=token)
    return app


def serve(model: str | Path | None = None, host: str = "127.0.0.1", port: int = 8000,
          corrections: str | Path | None = None, token: str | None = None) -> None:
    """Run the service under uvicorn (blocking)."""
    import uvicorn

    uvicorn.run(create_app(model, corrections=corrections, token=token), host=host, port=port, log_level="info")
