"""Article text from HTML, with a real parser (the standard library's) and boilerplate dropped.

Scripts, styles, navigation, headers, footers, asides, forms and elements whose class or id marks them
as cookie banners, sharing widgets, newsletters, comments, related links or ads are skipped. When the
page has ``<article>`` or ``<main>``, only their text is kept. Block elements become paragraphs
separated by blank lines, so passages and evidence offsets work as for plain text.

Extraction takes time linear in the size of the page, however its tags nest or fail to close: the parser
keeps counts of the open elements instead of scanning them for every tag and text, a ``<p>`` is closed by
the next block element or ``<p>`` (as HTML parsers do), ``<li>``, ``<td>``, ``<tr>`` and the like by the
next of their kind, and a page that keeps more than ``MAX_OPEN_TAGS``
elements open at once raises :class:`HTMLTooDeep` (the reader turns it into an error record).

>>> html_to_text('<html><nav>Home</nav><article><h1>Title</h1><p>First  para.</p>'
...              '<div class="share">Share!</div><p>Second<br>line.</p></article></html>')
('Title\\n\\nFirst para.\\n\\nSecond\\n\\nline.', '')
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg", "button",
        "iframe", "select", "figure"}
BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "div", "section", "article", "main", "br",
         "tr", "figcaption", "pre", "dd", "dt", "td", "th", "hr", "ul", "ol", "table"}
BOILERPLATE = re.compile(r"cookie|consent|newsletter|share|social|related|comment|advert|\bads?\b|promo|subscribe|"
                         r"breadcrumb|menu|sidebar|popup|banner", re.I)
MAX_OPEN_TAGS = 5_000  # elements open at once; real pages nest a few dozen deep
CLOSES_P = BLOCK - {"br", "hr"} | {"p"}  # start tags that close an open <p>
# Elements whose end tag HTML lets a page omit: a start tag closes them while they are the innermost open
# ones (a table of 10,000 rows without </td></tr> must not keep 20,000 elements open).
IMPLIED_END = {"li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "tr": {"td", "th", "tr"},
               "td": {"td", "th"}, "th": {"td", "th"}, "option": {"option"}}
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class HTMLTooDeep(ValueError):
    """A page keeps more than ``MAX_OPEN_TAGS`` elements open at once."""


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, inside article/main)
        self.open: dict[str, int] = {}  # tag -> how many are on the stack
        self.n_skipped = 0  # entries of the stack that are skipped
        self.n_main = 0  # entries of the stack that are article/main
        self.paragraphs: list[tuple[str, bool]] = []
        self.current: list[str] = []
        self.title: list[str] = []
        self.in_title = False
        self.has_main = False

    def _skipping(self) -> bool:
        return self.n_skipped > 0

    def _inside_main(self) -> bool:
        return self.n_main > 0

    def _push(self, tag: str, skipped: bool, is_main: bool) -> None:
        if len(self.stack) >= MAX_OPEN_TAGS:
            raise HTMLTooDeep(f"HTML nests more than {MAX_OPEN_TAGS:,} open elements")
        self.stack.append((tag, skipped, is_main))
        self.open[tag] = self.open.get(tag, 0) + 1
        self.n_skipped += skipped
        self.n_main += is_main

    def _close(self, tag: str) -> None:
        """Pop the stack down to the innermost open ``tag`` (tolerating unclosed tags); each element is
        popped once, so closing costs linear time overall. A tag that is not open is ignored in O(1)."""
        if not self.open.get(tag):
            return
        while True:
            t, skipped, is_main = self.stack.pop()
            self.open[t] -= 1
            self.n_skipped -= skipped
            self.n_main -= is_main
            if t == tag:
                return

    def _break(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.paragraphs.append((text, self._inside_main()))
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        if tag in BLOCK:
            self._break()
        if tag in CLOSES_P:
            self._close("p")
        closes = IMPLIED_END.get(tag)
        while closes and self.stack and self.stack[-1][0] in closes:
            self._close(self.stack[-1][0])
        if tag in VOID:
            return
        marker = " ".join(v or "" for k, v in attrs if k in ("class", "id", "role"))
        # A <header> inside the article holds its headline; the page's own header is navigation.
        skipped = (tag in SKIP and not (tag == "header" and self._inside_main())) or bool(
            marker and BOILERPLATE.search(marker))
        is_main = tag in ("article", "main") or "main" in marker.split()
        self.has_main |= is_main and not self._skipping() and not skipped
        self._push(tag, skipped, is_main)

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in BLOCK:
            self._break()
        self._close(tag)

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self._skipping():
            self.current.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """``(text, title)`` of an HTML document; ``text`` has one paragraph per block, blank-line separated.
    Raises :class:`HTMLTooDeep` for a page that keeps more than ``MAX_OPEN_TAGS`` elements open.

    >>> html_to_text("<p>one<p>two")
    ('one\\n\\ntwo', '')
    """
    p = _Extractor()
    p.feed(html)
    p.close()
    p._break()
    paragraphs = [t for t, inside in p.paragraphs if inside or not p.has_main]
    return "\n\n".join(paragraphs), " ".join("".join(p.title).split())
