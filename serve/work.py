"""The HTTP service's work model: bounded work per request, a bounded queue, load shedding, and work that
stops when its client has gone.

* :class:`LoadShedder` (ASGI middleware) admits at most ``capacity`` scoring requests at once (one
  scoring, the others waiting for the model), counted from before their body is read. One more is
  answered at once with 503, a ``Retry-After`` header and the JSON error body, its body never read. So at
  most ``capacity`` request bodies are held at a time and memory stays bounded however many clients call.
* :func:`run_work` runs ``work(gone)`` in a worker thread under the model's lock (one scoring call at a
  time: the cores are already used inside each call) and watches the client meanwhile: when it
  disconnects, ``gone`` is set. Work still waiting for the lock is dropped; work already running stops at
  its next batch (wrap its input in :func:`until_gone`), and :class:`ClientGone` is raised.
* The work one request may ask for is bounded in passages (``Limits.max_passages`` in ``http.py``), not
  only in characters: :func:`count_passages` counts them as scoring will split them.

>>> import threading
>>> gone = threading.Event()
>>> list(until_gone([1, 2], gone))
[1, 2]
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.25  # how often a running request checks that its client is still there


class ClientGone(Exception):
    """The client disconnected; its work was dropped or stopped."""


def until_gone(items: Iterable[T], gone: threading.Event) -> Iterator[T]:
    """``items``, but raise :class:`ClientGone` before the next one once ``gone`` is set (the scorer pulls
    items batch by batch, so the work stops at its next batch)."""
    for item in items:
        if gone.is_set():
            raise ClientGone
        yield item


def count_passages(texts: Iterable[str], max_chars: int = 1000, per_article: int | None = None) -> int:
    """How many passages scoring ``texts`` as articles costs (each article capped at ``per_article``,
    as the scorer truncates it).

    >>> count_passages(["One.\\n\\nTwo.", "Three."])
    3
    """
    from narratives.serve.articles import MAX_PASSAGES
    from narratives.serve.passages import split_passages

    cap = MAX_PASSAGES if per_article is None else per_article
    return sum(min(len(split_passages(t, max_chars=max_chars)), cap) for t in texts)


async def run_work(is_disconnected: Callable[[], Any], lock: threading.Lock, work: Callable[[threading.Event], T],
                   poll: float = POLL_SECONDS) -> T:
    """``work(gone)`` in a worker thread under ``lock``; ``gone`` is set when ``is_disconnected()`` says the
    client has gone, and :class:`ClientGone` is raised (work not yet started is skipped). Returns only
    once the thread has finished, so a request holds its place in the queue until its work has stopped.

    >>> import asyncio
    >>> async def never(): return False
    >>> asyncio.run(run_work(never, threading.Lock(), lambda gone: 42))
    42
    """
    from starlette.concurrency import run_in_threadpool

    gone = threading.Event()

    def locked() -> T:
        with lock:
            if gone.is_set():
                raise ClientGone
            return work(gone)

    task = asyncio.ensure_future(run_in_threadpool(locked))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll)
            if done:
                return task.result()
            if not gone.is_set() and await is_disconnected():
                gone.set()
    except asyncio.CancelledError:
        gone.set()
        raise


class LoadShedder:
    """ASGI middleware: at most ``capacity`` requests to ``paths`` in the app at once; the next gets 503
    with ``Retry-After: retry_after`` before its body is read."""

    def __init__(self, app, capacity: int, paths: Iterable[str], retry_after: int = 2):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.app, self.capacity, self.paths, self.retry_after = app, capacity, frozenset(paths), retry_after
        self.active = 0  # touched only from the event loop: no lock needed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            return await self.app(scope, receive, send)
        if self.active >= self.capacity:
            return await _shed(send, self.capacity, self.retry_after)
        self.active += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def _shed(send, capacity: int, retry_after: int) -> None:
    message = f"the server is busy ({capacity} requests in progress or queued); retry after {retry_after} s"
    body = json.dumps({"error": {"status": 503, "message": message}}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(retry_after).encode())]})
    await send({"type": "http.response.body", "body": body})
