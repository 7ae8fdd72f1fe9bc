"""The workbench's guard, an ASGI middleware around the whole app (API included):

* with a token (``narratives serve --token``), every request needs it: ``Authorization: Bearer TOKEN``,
  or the ``narratives_token`` cookie, which a browser gets by opening any page once with ``?token=TOKEN``
  (answered by a redirect to the same page without it, setting an HttpOnly, SameSite=Strict cookie);
* a POST from a page of another origin (the browser's ``Sec-Fetch-Site`` says so, or, without it, the
  ``Origin`` header names another host or ``null``) is refused, so a web page elsewhere cannot drive a
  workbench on this machine;
* every answer carries a Content-Security-Policy that allows scripts, styles and connections to this
  server only (no inline script, no ``eval``, no frames, no forms elsewhere), except the interactive API
  docs (``/docs``, ``/redoc``), which load FastAPI's own page; and ``nosniff``, ``same-origin`` referrers (a token in a
  URL does not leak elsewhere) and ``frame-ancestors 'none'``.

>>> "script-src 'self'" in CSP and "unsafe-inline" not in CSP
True
"""
from __future__ import annotations

import hmac
import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

COOKIE = "narratives_token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS = ("/docs", "/redoc")
_DENIED = ("<!doctype html><meta charset=utf-8><title>Token needed</title><h1>Token needed</h1><p>This server "
           "was started with <code>--token</code>. Open the address it printed (ending in "
           "<code>?token=...</code>) once; the browser then keeps the token in a cookie.</p>")


def _send_simple(status: int, body: bytes, content_type: bytes, extra: list | None = None):
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())] + (extra or [])

    async def respond(send):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return respond


def _error(status: int, message: str, html: bool, extra: list | None = None):
    if html and status == 401:
        return _send_simple(status, _DENIED.encode(), b"text/html; charset=utf-8", extra)
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    return _send_simple(status, body, b"application/json", extra)


def _cross_origin(headers: dict[bytes, bytes]) -> bool:
    """A request a page of another origin made: by the browser's ``Sec-Fetch-Site``, else by ``Origin``.

    >>> _cross_origin({b"sec-fetch-site": b"cross-site"}), _cross_origin({b"sec-fetch-site": b"same-origin"})
    (True, False)
    >>> _cross_origin({b"origin": b"http://evil.example", b"host": b"127.0.0.1:8000"}), _cross_origin({})
    (True, False)
    """
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return site not in (b"same-origin", b"none")
    origin = headers.get(b"origin")
    return origin is not None and origin.split(b"://", 1)[-1] != headers.get(b"host", b"")


class Guard:
    """See the module docstring. ``token`` None: no token needed."""

    def __init__(self, app, token: str | None = None):
        self.app, self.token = app, token

    def _has_token(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None
        want = self.token.encode()
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:].strip(), want):
            return True
        try:
            jar = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            return False
        got = jar.get(COOKIE)
        return got is not None and hmac.compare_digest(got.value.encode("latin-1", "replace"), want)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        html = b"text/html" in headers.get(b"accept", b"")
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if self.token is not None and not self._has_token(headers):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = [v for k, v in query if k == "token"]
            if method == "GET" and given and hmac.compare_digest(given[0].encode("latin-1", "replace"),
                                                                 self.token.encode()):
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                where = (path + ("?" + rest if rest else "")).encode("latin-1", "replace")
                cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()
                return await _send_simple(303, b"", b"text/plain", [(b"location", where), (b"set-cookie", cookie),
                                                                    (b"referrer-policy", b"same-origin")])(send)
            return await _error(401, "a bearer token is required (Authorization: Bearer TOKEN)", html,
                                [(b"www-authenticate", b"Bearer")])(send)
        if method not in ("GET", "HEAD", "OPTIONS") and _cross_origin(headers):
            return await _error(403, "cross-origin request refused", html)(send)
        docs = path.startswith(DOCS)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
                if not docs:
                    extra += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
