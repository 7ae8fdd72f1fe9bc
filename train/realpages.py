"""The real-page benchmark's reference files: ``data/real/*.jsonl``, one real web page per line.

A reference names a page and its article-level labels; the page text itself is third-party and lives only
in the git-ignored cache (:mod:`narratives.train.realcache`). Fields (all required, no others):

``id`` (outlet slug, ``-``, first 8 hex of sha256(url)), ``url``, ``query`` (the search that finds it),
``outlet``, ``outlet_kind`` (state, progov, critical, factcheck, news), ``lang`` (en, ru, sr-Cyrl, sr-Latn,
bs, hr), ``date`` (YYYY-MM-DD, YYYY-MM or null), ``labels`` (narrative id -> promotes or reports; {} for a
page without narrative), ``hard_negative`` (same topics, no narrative), ``split`` (dev when the first 8 hex
of sha256(url) are even, else test; ``train`` for a page of the training pool), ``sha256`` and ``chars`` of
the cached text, ``rationale`` (the labeller's own words, at most 25).

Every problem is reported with file and line; ids and urls must be unique across all the files.

The **training pool** (files named ``train_*.jsonl``, every line ``split: train``) holds real pages labelled
the same way but kept out of the benchmark: the article decider is fitted on them (with the dev half), and
no figure is ever reported on them. The **check set** (files named ``check_*.jsonl``, every line ``split:
check``) is a third held-out slice, collected after both halves had been read, for choosing between
candidates that the dev half cannot tell apart: nothing is ever fitted on it. The **hold-out set** (files
named ``holdout_*.jsonl``, every line ``split: holdout``) is a fourth, collected after the check set had been
read, for the next choice. A benchmark file holds none of these lines, and a pool, check or hold-out file
nothing else (:data:`FILE_SPLITS`).

>>> split_for("https://example.org/a"), page_id("Example News", "https://example.org/a")
('dev', 'example-news-b5b10dd0')
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from narratives.model.paths import labels_dir
from narratives.model.taxonomy import Taxonomy, TaxonomyError, load_taxonomy
from narratives.model.textfiles import read_jsonl

LANGS = ("en", "ru", "sr-Cyrl", "sr-Latn", "bs", "hr")
OUTLET_KINDS = ("state", "progov", "critical", "factcheck", "news")
EXCLUDED_HOSTS = ("euvsdisinfo.eu",)  # kept for an independent check
MAX_LINE_BYTES = 100_000
MAX_RATIONALE_WORDS = 25


def url_hash(url: str) -> str:
    """sha256 hex of the url (UTF-8).

    >>> url_hash("https://example.org/a")[:8]
    'b5b10dd0'
    """
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def split_for(url: str) -> str:
    """The page's half of the benchmark: ``dev`` when the first 8 hex digits of sha256(url) are even.

    >>> split_for("https://example.org/b")
    'test'
    """
    return "dev" if int(url_hash(url)[:8], 16) % 2 == 0 else "test"


def page_id(outlet: str, url: str) -> str:
    """The reference id of a page: a slug of the outlet name, ``-``, the first 8 hex of sha256(url).

    >>> page_id("N1 Info!", "https://example.org/a")
    'n1-info-b5b10dd0'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", outlet.lower()).strip("-") or "page"
    return f"{slug}-{url_hash(url)[:8]}"


def text_sha256(text: str) -> str:
    """sha256 hex of a cached text (UTF-8).

    >>> text_sha256("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


POOL_PREFIX = "train_"
#: the hold-out sets in the order they were collected: the first is ``holdout``, the n-th ``holdout<n>``
HOLDOUT_ORDINALS = ("", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
                    "twelfth")


def _holdout_entry(n: int, ordinal: str) -> tuple[str, tuple[str, str, str]]:
    """The FILE_SPLITS entry of the ``n``-th hold-out set.

    >>> _holdout_entry(8, "eighth")
    ('holdout8_', ('holdout8', 'an eighth hold-out file', 'the eighth hold-out set'))
    """
    split, words = ("holdout" if n == 1 else f"holdout{n}"), f"{ordinal} hold-out".strip()
    return f"{split}_", (split, f"{'an' if words[0] in 'aeiou' else 'a'} {words} file", f"the {words} set")


#: file-name prefix -> the split every line of such a file has, what such a file and what the set are called in
#: messages; a benchmark file (any other name) holds ``dev`` and ``test`` lines by the url rule
FILE_SPLITS = {POOL_PREFIX: ("train", "a training-pool file", "the training pool"),
               "check_": ("check", "a check-set file", "the check set"),
               **dict(_holdout_entry(n, ordinal) for n, ordinal in enumerate(HOLDOUT_ORDINALS, 1))}
#: every split a reference line can carry: the benchmark's two halves, then each kind of file's (a new set is one
#: word in HOLDOUT_ORDINALS, plus its name in serve.cli_real's --help list, which a test holds equal to HELD_OUT)
SPLITS = ("dev", "test", *(split for split, _, _ in FILE_SPLITS.values()))


class Page(BaseModel):
    """One reference line. Strict types: a number is not a string, a string is not a boolean."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*-[0-9a-f]{8}$")
    url: str = Field(pattern=r"^https?://[^\s/]+\S*$", max_length=2000)
    query: str = Field(min_length=1, max_length=500)
    outlet: str = Field(min_length=1, max_length=200)
    outlet_kind: Literal["state", "progov", "critical", "factcheck", "news"]
    lang: Literal["en", "ru", "sr-Cyrl", "sr-Latn", "bs", "hr"]
    date: str | None = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
    labels: dict[str, Literal["promotes", "reports"]]
    hard_negative: bool
    split: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    chars: int = Field(ge=1)
    rationale: str = Field(min_length=1)

    @field_validator("split")
    @classmethod
    def _known_split(cls, v: str) -> str:
        if v not in SPLITS:
            raise ValueError(f"should be one of {', '.join(map(repr, SPLITS))}")
        return v

    @field_validator("rationale")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v.split()) > MAX_RATIONALE_WORDS:
            raise ValueError(f"has {len(v.split())} words; at most {MAX_RATIONALE_WORDS} (the labeller's own words)")
        return v

    @field_validator("url")
    @classmethod
    def _allowed_host(cls, v: str) -> str:
        host = v.split("/")[2].lower().split(":")[0]
        if any(host == h or host.endswith("." + h) for h in EXCLUDED_HOSTS):
            raise ValueError(f"{host} is kept out of the benchmark (an independent check)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Page:
        h = url_hash(self.url)
        if not self.id.endswith("-" + h[:8]):
            raise ValueError(f"id {self.id!r} must end with -{h[:8]} (the first 8 hex of sha256(url))")
        if self.split in ("dev", "test") and self.split != split_for(self.url):
            raise ValueError(f"split is {self.split!r}, but the split rule gives {split_for(self.url)!r} for this url")
        if self.hard_negative and self.labels:
            raise ValueError("a hard negative carries no narrative: labels must be {}")
        return self

    @property
    def stance(self) -> str:
        """Page stance: promotes if any narrative is promoted, reports if all are reported, none without any."""
        if not self.labels:
            return "none"
        return "promotes" if "promotes" in self.labels.values() else "reports"


@dataclass
class RealPage:
    """A validated reference and the ``file:line`` it came from."""

    page: Page
    where: str


class ReferenceError(ValueError):
    """Invalid reference files; ``problems`` holds ``(where, message)`` pairs, ``where`` being file:line."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        shown = "\n".join(f"{w}: {m}" for w, m in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} reference problem(s):\n{shown}{more}")


#: the held-out sets beside the benchmark's halves: scored, never fitted on
HELD_OUT = tuple(split for prefix, (split, _, _) in FILE_SPLITS.items() if prefix != POOL_PREFIX)
#: split -> what the set of such lines is called (``the check set``)
SET_NAMES = {split: name for split, _, name in FILE_SPLITS.values()}


def file_split(path: str | Path) -> str | None:
    """The split every line of a reference file must have (``train`` for a pool file, ``check`` for a check
    file, ``holdout`` for a hold-out file), or ``None`` for a benchmark file (``dev`` or ``test`` by the url rule).

    >>> [file_split(f) for f in ("train_ru.jsonl", "check_ru.jsonl", "holdout_en.jsonl", "pages_labels.jsonl")]
    ['train', 'check', 'holdout', None]
    """
    name = Path(path).name
    return next((split for prefix, (split, _, _) in FILE_SPLITS.items() if name.startswith(prefix)), None)


def _split_rule(wanted: str | None, got: str) -> str:
    """The rule a line broke, for the message: ``wanted`` is the file's split (``None``: a benchmark file).

    >>> _split_rule("check", "dev")
    "a check-set file (check_*.jsonl): every line there is 'check'"
    """
    for prefix, (split, what, _) in FILE_SPLITS.items():
        if split == wanted:
            return f"{what} ({prefix}*.jsonl): every line there is {split!r}"
    prefix = next((p for p, (split, _, _) in FILE_SPLITS.items() if split == got), f"{got}_")
    return f"a benchmark file: {got!r} belongs in a {prefix}*.jsonl file"


def real_dir() -> Path:
    """The reference folder: ``data/real`` beside the label folder."""
    return labels_dir().parent / "real"


def reference_files(path: str | Path) -> list[Path]:
    """A file, or every ``*.jsonl`` of a folder, sorted."""
    p = Path(path)
    return sorted(p.glob("*.jsonl")) if p.is_dir() else [p]


def _pydantic_problems(exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        field = ".".join(str(x) for x in e["loc"]) or "record"
        msg = e["msg"].removeprefix("Value error, ")
        out.append(f"field {field}: {msg}" if e["loc"] else msg)
    return out


def _parse_line(obj: dict, tax: Taxonomy) -> tuple[Page | None, list[str]]:
    try:
        page = Page.model_validate(obj)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    unknown = [n for n in page.labels if n not in tax.ids]
    if unknown:
        return None, [f"field labels: unknown narrative {', '.join(map(repr, unknown))} (known: {', '.join(tax.ids)})"]
    return page, []


def check_references(path: str | Path | None = None, tax: Taxonomy | None = None) -> tuple[list[RealPage], list[tuple[str, str]]]:
    """Load and validate the reference files without raising: ``(valid pages, problems)``.

    Needs no cache: it checks the schema, known narratives, the id and split rules, and unique ids and urls
    across all the files. A missing folder has no pages and no problems.

    >>> pages, problems = check_references("/nonexistent/real")
    >>> pages, problems
    ([], [])
    """
    path = Path(path) if path is not None else real_dir()
    problems: list[tuple[str, str]] = []
    if not path.exists():
        return [], []
    if tax is None:
        try:
            tax = load_taxonomy(labels_dir() / "taxonomy.yaml")
        except TaxonomyError as exc:
            return [], [(str(labels_dir() / "taxonomy.yaml"), str(exc))]
    pages: list[RealPage] = []
    by_id: dict[str, str] = {}
    by_url: dict[str, str] = {}
    for f in reference_files(path):
        try:
            fh = open(f, "rb")
        except OSError as exc:
            problems.append((str(f), f"cannot read: {exc.strerror}"))
            continue
        with fh:
            for no, obj, err in read_jsonl(fh, MAX_LINE_BYTES):
                where = f"{f}:{no}"
                page, errs = _parse_line(obj, tax) if obj is not None else (None, [str(err)])
                problems.extend((where, e) for e in errs)
                if page is None:
                    continue
                wanted = file_split(f)
                if (page.split if page.split not in ("dev", "test") else None) != wanted:
                    problems.append((where, f"field split: {page.split!r} in " + _split_rule(wanted, page.split)))
                    continue
                if page.id in by_id:
                    problems.append((where, f"duplicate id {page.id!r} (first at {by_id[page.id]})"))
                    continue
                if page.url in by_url:
                    problems.append((where, f"duplicate url {page.url} (first at {by_url[page.url]})"))
                    continue
                by_id[page.id], by_url[page.url] = where, where
                pages.append(RealPage(page, where))
    return pages, problems


def load_references(path: str | Path | None = None, tax: Taxonomy | None = None) -> list[RealPage]:
    """The validated pages of ``path`` (a file or folder; default ``data/real``); raises :class:`ReferenceError`
    listing every problem (file:line and field) when any line is invalid.

    >>> load_references("/nonexistent/real")
    []
    """
    pages, problems = check_references(path, tax)
    if problems:
        raise ReferenceError(problems)
    return pages


def reference_counts(pages: Iterable[RealPage]) -> dict:
    """Counts for the data card and ``labels check``: pages, per language, narrative and stance, outlet kind.

    >>> reference_counts([])["pages"]
    0
    """
    from collections import Counter

    ps = [p.page for p in pages]
    narr: Counter = Counter()
    for p in ps:
        for n, s in p.labels.items():
            narr[(n, s)] += 1
    return {
        "pages": len(ps),
        "splits": dict(sorted(Counter(p.split for p in ps).items())),
        "languages": dict(sorted(Counter(p.lang for p in ps).items())),
        "non_english": sum(p.lang != "en" for p in ps),
        "hard_negatives": sum(p.hard_negative for p in ps),
        "negatives": sum(not p.labels for p in ps),
        "outlet_kinds": dict(sorted(Counter(p.outlet_kind for p in ps).items())),
        "stances": dict(sorted(Counter(p.stance for p in ps).items())),
        "per_narrative": {f"{n}/{s}": c for (n, s), c in sorted(narr.items())},
    }
