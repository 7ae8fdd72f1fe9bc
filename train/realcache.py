"""The git-ignored cache of real-page texts: one ``<id>.txt`` (UTF-8) per reference.

The directory is ``$NARRATIVES_REAL_CACHE`` if set, else ``platformdirs.user_cache_dir("narratives")/real-pages``.
Page text is third-party and never enters the repository: the references hold only its sha256 and length,
and every read checks them, so a benchmark figure is always computed on the text that was labelled.

* :func:`put` stores a given text for a reference id (the sha256 must match the reference), :func:`put_many`
  many at once (a batch copied from a search tool), trying the few trims such copies need;
* :func:`fill` fetches missing pages over HTTP where the network allows (short timeout, size cap, HTML
  through :func:`narratives.serve.html.html_to_text`) and reports every page it could not get;
* :func:`cached_texts` refuses a partial cache, listing each missing or altered page with its url.

>>> import os, tempfile
>>> os.environ["NARRATIVES_REAL_CACHE"] = tempfile.mkdtemp()
>>> cache_path("rt-0123abcd").name
'rt-0123abcd.txt'
>>> del os.environ["NARRATIVES_REAL_CACHE"]
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from narratives.model.artifact import atomic_write_text

from .realpages import RealPage, text_sha256

MAX_PAGE_BYTES = 5_000_000  # an HTTP answer or a cached text beyond this is refused
FETCH_TIMEOUT = 10.0  # seconds per page


def cache_dir() -> Path:
    """Where cached page texts live (not created here).

    >>> cache_dir().name in ("real-pages", os.environ.get("NARRATIVES_REAL_CACHE", "real-pages").rstrip("/").split("/")[-1])
    True
    """
    env = os.environ.get("NARRATIVES_REAL_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("narratives")) / "real-pages"


def cache_path(page_id: str) -> Path:
    """The cache file of one page id."""
    if "/" in page_id or "\\" in page_id or page_id.startswith("."):
        raise ValueError(f"not a page id: {page_id!r}")
    return cache_dir() / f"{page_id}.txt"


class CacheError(RuntimeError):
    """The cache lacks pages (or holds altered ones); ``missing`` holds ``(RealPage, reason)`` pairs."""

    def __init__(self, missing: list[tuple[RealPage, str]]):
        self.missing = missing
        lines = "\n".join(f"  {r.page.id}  {r.page.url}  ({why})" for r, why in missing)
        super().__init__(f"{len(missing)} page(s) missing from the cache {cache_dir()}; the benchmark does not run "
                         f"on a partial cache. Fill it with `narratives real fill` or `narratives real put ID FILE`:\n"
                         f"{lines}")


def cache_problem(ref: RealPage) -> str | None:
    """Why the cached text of ``ref`` cannot be used (``None`` when it is there and matches its reference).

    >>> cache_problem.__name__
    'cache_problem'
    """
    path = cache_path(ref.page.id)
    if not path.exists():
        return "not cached"
    if path.stat().st_size > MAX_PAGE_BYTES:
        return f"cached file is over {MAX_PAGE_BYTES:,} bytes"
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"cached file is not UTF-8 ({exc.reason} at byte {exc.start})"
    if text_sha256(text) != ref.page.sha256:
        return f"cached text differs from the one labelled (sha256 {text_sha256(text)[:12]}…, reference {ref.page.sha256[:12]}…)"
    if len(text) != ref.page.chars:
        return f"cached text has {len(text)} characters, reference says {ref.page.chars}"
    return None


def missing_pages(refs: Iterable[RealPage]) -> list[tuple[RealPage, str]]:
    """``(page, reason)`` for every reference whose text is not usable from the cache.

    >>> missing_pages([])
    []
    """
    out = []
    for r in refs:
        why = cache_problem(r)
        if why:
            out.append((r, why))
    return out


def cached_texts(refs: list[RealPage]) -> dict[str, str]:
    """``{id: text}`` of every reference; raises :class:`CacheError` naming each missing page and its url.

    >>> cached_texts([])
    {}
    """
    missing = missing_pages(refs)
    if missing:
        raise CacheError(missing)
    return {r.page.id: cache_path(r.page.id).read_bytes().decode("utf-8") for r in refs}


def store(page_id: str, text: str) -> Path:
    """Write one cache file atomically (creating the cache folder), without any check. Used by :func:`put`
    and by labellers who cache a page before writing its reference."""
    path = cache_path(page_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def put(ref: RealPage, text: str) -> Path:
    """Store ``text`` as the cached page of ``ref`` after checking its sha256 and length against the reference.

    >>> import os, tempfile
    >>> os.environ["NARRATIVES_REAL_CACHE"] = tempfile.mkdtemp()
    >>> from narratives.train.realpages import Page, page_id, split_for, text_sha256
    >>> url = "https://example.org/a"
    >>> ref = RealPage(Page(id=page_id("ex", url), url=url, query="q", outlet="ex", outlet_kind="news", lang="en",
    ...     date=None, labels={}, hard_negative=False, split=split_for(url), sha256=text_sha256("hi"), chars=2,
    ...     rationale="r"), "refs.jsonl:1")
    >>> put(ref, "hi").name
    'ex-b5b10dd0.txt'
    >>> put(ref, "other")
    Traceback (most recent call last):
    ...
    ValueError: ex-b5b10dd0: the text's sha256 d9298a10d1b0… does not match the reference's 8f434346648f… (refs.jsonl:1)
    >>> del os.environ["NARRATIVES_REAL_CACHE"]
    """
    h = text_sha256(text)
    if h != ref.page.sha256:
        raise ValueError(f"{ref.page.id}: the text's sha256 {h[:12]}… does not match the reference's "
                         f"{ref.page.sha256[:12]}… ({ref.where})")
    if len(text) != ref.page.chars:
        raise ValueError(f"{ref.page.id}: the text has {len(text)} characters, the reference says {ref.page.chars} "
                         f"({ref.where})")
    return store(ref.page.id, text)


@dataclass
class FillResult:
    """What :func:`fill` did: ids stored, ids already cached, and ``(id, url, reason)`` for each failure."""

    stored: list[str]
    already: list[str]
    failed: list[tuple[str, str, str]]


def http_text(url: str, timeout: float = FETCH_TIMEOUT, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """GET ``url`` and return its text (HTML through the project's reader: title, blank line, article text).
    Raises ``OSError`` or ``ValueError`` with the reason on any failure, a body over ``max_bytes`` included."""
    import urllib.request

    from narratives.serve.html import html_to_text

    req = urllib.request.Request(url, headers={"User-Agent": "narratives-real-pages/1 (benchmark cache filler)"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https urls only, schema-checked)
        body = resp.read(max_bytes + 1)
        ctype = resp.headers.get("Content-Type", "")
        charset = resp.headers.get_content_charset() or "utf-8"
    if len(body) > max_bytes:
        raise ValueError(f"answer is over {max_bytes:,} bytes")
    raw = body.decode(charset, errors="replace")
    if "html" in ctype.lower() or raw.lstrip()[:1] == "<":
        text, title = html_to_text(raw)
        return f"{title}\n\n{text}" if title else text
    return raw


def fill(refs: Iterable[RealPage], fetch: Callable[[str], str] = http_text) -> FillResult:
    """Fetch every page not usable from the cache; store it only when its text is the labelled one (same
    sha256): a page that has changed since it was labelled is reported, not cached.

    >>> fill([]).failed
    []
    """
    res = FillResult([], [], [])
    for r in refs:
        if cache_problem(r) is None:
            res.already.append(r.page.id)
            continue
        try:
            text = fetch(r.page.url)
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, refused connections are OSErrors
            res.failed.append((r.page.id, r.page.url, f"cannot fetch: {getattr(exc, 'reason', None) or exc}"))
            continue
        try:
            put(r, text)
        except ValueError:
            res.failed.append((r.page.id, r.page.url, f"fetched, but the text is not the labelled one "
                                                      f"(sha256 {text_sha256(text)[:12]}…, {len(text)} characters): "
                                                      "the page changed or reads differently; not stored"))
            continue
        res.stored.append(r.page.id)
    return res


#: what a copied page text may carry that the labelled text does not (tried in this order, each only stored
#: when its sha256 is the reference's): nothing, trailing blank lines, trailing space, a last line (a "read more"
#: or footer line the tool appended)
TRIMS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("as given", lambda t: t),
    ("trailing newlines dropped", lambda t: t.rstrip("\n")),
    ("trailing white space dropped", lambda t: t.rstrip()),
    ("last line dropped", lambda t: t.rstrip("\n").rsplit("\n", 1)[0] if "\n" in t.rstrip("\n") else t),
)


def put_many(refs: Iterable[RealPage], texts: dict[str, str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    r"""Store many ``{id: text}`` at once, each only when a trim of :data:`TRIMS` gives the reference's sha256
    and length. Returns ``(stored, failed)``: ``(id, trim)`` for each page stored, ``(id, reason)`` for each
    not; one bad text never stops the others.

    >>> import os, tempfile
    >>> os.environ["NARRATIVES_REAL_CACHE"] = tempfile.mkdtemp()
    >>> from narratives.train.realpages import Page, page_id, split_for
    >>> url = "https://example.org/a"
    >>> ref = RealPage(Page(id=page_id("ex", url), url=url, query="q", outlet="ex", outlet_kind="news", lang="en",
    ...     date=None, labels={}, hard_negative=False, split=split_for(url), sha256=text_sha256("hi"), chars=2,
    ...     rationale="r"), "refs.jsonl:1")
    >>> put_many([ref], {ref.page.id: "hi\n\n", "nope-00000000": "x"})
    ([('ex-b5b10dd0', 'trailing newlines dropped')], [('nope-00000000', 'no reference with this id')])
    >>> put_many([ref], {ref.page.id: "ho"})[1][0][1][:39]
    'not the labelled text (sha256 a821c62e…'
    >>> del os.environ["NARRATIVES_REAL_CACHE"]
    """
    by_id = {r.page.id: r for r in refs}
    stored: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    for pid, text in texts.items():
        ref = by_id.get(pid)
        if ref is None:
            failed.append((pid, "no reference with this id"))
        elif not isinstance(text, str):
            failed.append((pid, f"the text is JSON {type(text).__name__}, not a string"))
        else:
            for name, trim in TRIMS:
                if text_sha256(trimmed := trim(text)) == ref.page.sha256:
                    put(ref, trimmed)
                    stored.append((pid, name))
                    break
            else:
                failed.append((pid, f"not the labelled text (sha256 {text_sha256(text)[:8]}…, {len(text)} characters; "
                                    f"the reference has {ref.page.chars}), under any of the trims tried"))
    return stored, failed
