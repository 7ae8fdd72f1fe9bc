"""Split an article into passages: paragraphs, and long paragraphs into sentence windows.

Offsets are character offsets into the article text, so evidence can be shown in place.

>>> text = "Title\\n\\nFirst paragraph. It has two sentences."
>>> [text[s:e] for s, e in split_passages(text)]
['Title', 'First paragraph. It has two sentences.']
"""
from __future__ import annotations

import re

_PARA = re.compile(r"\n[ \t\r\f\v]*\n")
# A sentence ends at . ! ? or … plus any closing quotes or brackets; the cut is the whitespace after them
# (group 1), so closing quotes stay with their sentence.
_SENT_END = re.compile(r"[.!?…][\"'”’»)]*(\s+)(?=[\"'“‘«(]?[A-ZА-ЯЂЋЉЊЏЈČĆŠŽĐ0-9])")


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _pieces(text: str, start: int, end: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    out, pos = [], start
    group = 1 if pattern.groups else 0
    for m in pattern.finditer(text, start, end):
        span = _trim(text, pos, m.start(group))
        if span:
            out.append(span)
        pos = m.end(group)
    span = _trim(text, pos, end)
    if span:
        out.append(span)
    return out


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a run with no sentence boundary at whitespace (or anywhere, for one enormous word)."""
    out = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        cut = cut if cut > start else start + max_chars
        span = _trim(text, start, cut)
        if span:
            out.append(span)
        start = cut
    span = _trim(text, start, end)
    if span:
        out.append(span)
    return out


def split_passages(text: str, max_chars: int = 1000, window: int = 3) -> list[tuple[int, int]]:
    """Passages as ``(start, end)`` offsets: paragraphs split on blank lines; a paragraph longer than
    ``max_chars`` is split on line breaks, then into windows of up to ``window`` sentences that stay
    within ``max_chars``.

    >>> split_passages("   ")
    []
    """
    out: list[tuple[int, int]] = []
    for ps, pe in _pieces(text, 0, len(text), _PARA):
        if pe - ps <= max_chars:
            out.append((ps, pe))
            continue
        for ls, le in _pieces(text, ps, pe, re.compile(r"\n")):
            if le - ls <= max_chars:
                out.append((ls, le))
                continue
            sents = [piece for s, e in _pieces(text, ls, le, _SENT_END) for piece in _hard_split(text, s, e, max_chars)]
            cur: tuple[int, int] | None = None
            n = 0
            for s, e in sents:
                if cur and n < window and e - cur[0] <= max_chars:
                    cur, n = (cur[0], e), n + 1
                else:
                    if cur:
                        out.append(cur)
                    cur, n = (s, e), 1
            if cur:
                out.append(cur)
    return out
