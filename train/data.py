"""Labelled passages: team-written label files and stand-off spans over the seed corpus.

Two kinds of label file live in ``data/labels/``:

* ``*.jsonl`` passage files written by the team (or imported): one JSON object per line with
  ``id, text, lang, narratives, stance, source, split``;
* ``seed_spans.jsonl``: stand-off annotations over third-party articles that are never copied into the
  repository: ``doc, start, end, sha256, narratives, stance, split``. They are resolved against a corpus
  folder, and every span's text is checked against its hash.

>>> from narratives.train.data import load_passages
>>> passages = load_passages()            # doctest: +SKIP
>>> passages[0].narratives                # doctest: +SKIP
('rs_secession',)
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narratives.model.paths import corpus_dir, labels_dir
from narratives.model.taxonomy import LANGS, SPLITS, Taxonomy, load_taxonomy  # noqa: F401  (LANGS re-exported)
from narratives.model.textfiles import read_jsonl as jsonl_lines

SEED_FILE = "seed_spans.jsonl"
MAX_LINE_BYTES = 1_000_000  # one label line holds one passage (150 words); a longer line is an error


class LabelError(ValueError):
    """One or more label records are invalid. ``problems`` holds ``(where, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        shown = "\n".join(f"{w}: {m}" for w, m in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} label problem(s):\n{shown}{more}")


@dataclass(frozen=True)
class Passage:
    """One labelled passage. ``where`` is ``file:line`` for error messages and audits."""

    id: str
    text: str
    narratives: tuple[str, ...]
    stance: str
    source: str
    split: str | None
    lang: str = "en"
    where: str = ""


def has_lone_surrogate(text: str) -> bool:
    """True for text that is not valid Unicode (a JSON ``\\ud800`` escape decodes to one).

    >>> has_lone_surrogate("ok"), has_lone_surrogate("\\ud800")
    (False, True)
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes.

    >>> sha256_text("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_jsonl(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(line_number, object, problem)`` for each non-blank line of a label file; never raises on a
    bad line (:func:`narratives.model.textfiles.read_jsonl`, the one JSONL reader, over a file).

    >>> list(read_jsonl(Path("/dev/null")))
    []
    """
    with open(path, "rb") as fh:
        yield from jsonl_lines(fh, max_line_bytes,
                               f"line is over {max_line_bytes:,} bytes (the limit for one label record); skipped")


def _label_lines(path: Path, model: Any, tax: Taxonomy, problems: list[tuple[str, str]], require_split: bool):
    """``(where, record)`` for each line of a label file that is a valid ``model`` record (the label record
    schema, :mod:`narratives.serve.labelrecords`); every problem is added with its file and line."""
    from narratives.serve.labelrecords import validate_label

    context = {"narratives": tax.ids, "require_split": require_split}
    for no, rec, err in read_jsonl(path):
        where = f"{path}:{no}"
        if rec is None:
            problems.append((where, str(err)))
            continue
        value, found = validate_label(model, rec, context)
        problems.extend((where, m) for m in found)
        if value is not None:
            yield where, value


def load_passage_file(
    path: Path, tax: Taxonomy, problems: list[tuple[str, str]], require_split: bool = True
) -> list[Passage]:
    """Parse one team passage file, appending every problem found (file and line) to ``problems``."""
    from narratives.serve.labelrecords import LabelPassage

    return [Passage(r.id, r.text, tuple(sorted(r.narratives)), r.stance, r.source, r.split, r.lang, where)
            for where, r in _label_lines(path, LabelPassage, tax, problems, require_split)]


def load_seed_spans(
    path: Path, corpus: Path, tax: Taxonomy, problems: list[tuple[str, str]], require_split: bool = True
) -> list[Passage]:
    """Resolve stand-off spans against the corpus folder; a missing file or a hash mismatch is a problem
    that names the span."""
    from narratives.serve.labelrecords import SeedSpan

    out: list[Passage] = []
    cache: dict[str, str | None] = {}
    for where, rec in _label_lines(path, SeedSpan, tax, problems, require_split):
        doc, start, end = rec.doc, rec.start, rec.end
        span = f"span {doc}[{start}:{end}]"
        if doc not in cache:
            try:
                cache[doc] = (corpus / doc).read_text(encoding="utf-8")
            except FileNotFoundError:
                cache[doc] = None
                problems.append((where, f"{span}: document {corpus / doc} not found (is --corpus right?)"))
            except UnicodeDecodeError:
                cache[doc] = None
                problems.append((where, f"{span}: document {corpus / doc} is not valid UTF-8"))
            except OSError as exc:
                cache[doc] = None
                problems.append((where, f"{span}: cannot read document {corpus / doc} ({exc.strerror})"))
        text = cache[doc]
        if text is None:
            continue
        if end > len(text):
            problems.append((where, f"{span}: end is past the end of the document ({len(text)} characters)"))
            continue
        piece = text[start:end]
        if sha256_text(piece) != rec.sha256:
            problems.append((where, f"{span}: sha256 of the span text does not match (the document changed?)"))
            continue
        pid = f"{Path(doc).stem}:{start}-{end}"
        out.append(Passage(pid, piece, tuple(sorted(rec.narratives)), rec.stance, doc, rec.split, rec.lang, where))
    return out


def passage_files(labels: Path) -> list[Path]:
    """The team passage files of a label folder (every ``*.jsonl`` but the seed spans), sorted."""
    return sorted(p for p in labels.glob("*.jsonl") if p.name != SEED_FILE)


def load_passages(
    labels: str | Path | None = None,
    corpus: str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    require_split: bool = True,
    with_seeds: bool = True,
) -> list[Passage]:
    """Load every labelled passage of a label folder, seeds resolved against ``corpus``.

    Raises :class:`LabelError` listing every problem (file and line) if anything is invalid, including
    duplicate ids across files.
    """
    labels = Path(labels) if labels is not None else labels_dir()
    corpus = Path(corpus) if corpus is not None else corpus_dir()
    tax = taxonomy or load_taxonomy(labels / "taxonomy.yaml")
    problems: list[tuple[str, str]] = []
    if not labels.is_dir():
        raise LabelError([(str(labels), "label folder not found")])
    out: list[Passage] = []
    for f in passage_files(labels):
        out.extend(load_passage_file(f, tax, problems, require_split))
    seed = labels / SEED_FILE
    if with_seeds and seed.exists():
        out.extend(load_seed_spans(seed, corpus, tax, problems, require_split))
    problems.extend(duplicate_ids(out))
    if problems:
        raise LabelError(problems)
    return out


def duplicate_ids(passages: Iterable[Passage]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    out = []
    for p in passages:
        if p.id in seen:
            out.append((p.where, f"duplicate id {p.id!r} (first at {seen[p.id]})"))
        else:
            seen[p.id] = p.where
    return out
