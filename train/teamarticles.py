"""Team-written whole articles labelled at article level (``data/articles/*.jsonl``): what the article
decider (:mod:`narratives.serve.decider`) is fitted on.

One article per line, fields (all required, no others): ``id``, ``text`` (the whole article: headline
first, paragraphs separated by blank lines, boilerplate left in), ``lang`` (en, ru, sr-Cyrl, sr-Latn, bs,
hr), ``labels`` (narrative id -> ``promotes`` or ``reports``; ``{}`` for an article without narrative),
``source`` (the writing batch) and ``split`` (``train`` or ``dev``, by source: a batch never feeds two
splits; there is no test split here, the held-out test is the real pages' test half).

Every problem is reported with file and line, and nothing is returned unless every line is valid.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> row = {"id": "A-1", "text": "Title\\n\\nBody.", "lang": "en", "labels": {}, "source": "s1", "split": "train"}
>>> _ = (d / "a.jsonl").write_text(json.dumps(row) + "\\n", encoding="utf-8")
>>> [a.id for a in load_articles(d)]
['A-1']
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from narratives.model.paths import REPO_ROOT
from narratives.model.textfiles import read_jsonl

MAX_ARTICLE_LINE = 10_000_000  # one whole article a line; a longer line is a problem, never read into memory


class ArticleError(ValueError):
    """Invalid article files; the message names every problem with its file and line."""


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    lang: str
    labels: dict[str, str]
    source: str
    split: str
    where: str


def articles_dir() -> Path:
    """The folder of team-written articles: ``data/articles`` in the repository."""
    return REPO_ROOT / "data" / "articles"


def _problems(rec: object, narratives: tuple[str, ...]) -> list[str]:
    """Every problem of one line, by the team-article schema (:class:`narratives.serve.labelrecords.TeamArticle`)."""
    from narratives.serve.labelrecords import TeamArticle, validate_label

    if not isinstance(rec, dict):
        return [f"expected a JSON object, got {type(rec).__name__}"]
    return validate_label(TeamArticle, rec, {"narratives": narratives})[1]


def load_articles(path: str | Path | None = None, narratives: tuple[str, ...] | None = None) -> list[Article]:
    """Every article in ``path`` (a ``.jsonl`` file or a folder of them; default ``data/articles``), checked.

    Raises :class:`ArticleError` listing each invalid line (file:line: problem), a repeated id or text, and
    a source found in both splits.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "bad.jsonl"
    >>> _ = f.write_text('{"id": "A-1"}\\n', encoding="utf-8")
    >>> try:
    ...     load_articles(f)
    ... except ArticleError as exc:
    ...     print(str(exc).splitlines()[1].split(": ", 1)[1])
    missing field(s) text, lang, labels, source, split
    """
    if narratives is None:
        from narratives.model.taxonomy import load_taxonomy

        narratives = load_taxonomy().ids
    p = Path(path) if path is not None else articles_dir()
    files = sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise ArticleError(f"{p}: no article files (*.jsonl) found")
    problems: list[str] = []
    out: list[Article] = []
    for f in files:
        with open(f, "rb") as fh:
            rows = list(read_jsonl(fh, MAX_ARTICLE_LINE))
        for no, rec, err in rows:
            where = f"{f}:{no}"
            if rec is None:
                problems.append(f"{where}: {err}")
                continue
            bad = _problems(rec, narratives)
            if bad:
                problems.extend(f"{where}: {b}" for b in bad)
                continue
            out.append(Article(rec["id"], rec["text"], rec["lang"], dict(rec["labels"]), rec["source"],
                               rec["split"], where))
    seen_id: dict[str, str] = {}
    seen_text: dict[str, str] = {}
    split_of: dict[str, str] = {}
    for a in out:
        if a.id in seen_id:
            problems.append(f"{a.where}: id {a.id!r} repeats {seen_id[a.id]}")
        if a.text in seen_text:
            problems.append(f"{a.where}: text repeats {seen_text[a.text]}")
        if split_of.setdefault(a.source, a.split) != a.split:
            problems.append(f"{a.where}: source {a.source!r} is in both splits")
        seen_id.setdefault(a.id, a.where)
        seen_text.setdefault(a.text, a.where)
    if problems:
        raise ArticleError(f"{len(problems)} problem(s) in the article files:\n" + "\n".join(problems))
    return out
