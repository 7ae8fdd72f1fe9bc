"""Evidence passages of the training pool's pages: which passages of a page carry each of its narratives.

A pool page is labelled at article level (:mod:`.realpages`): it says that some passage carries a narrative,
not which. ``narratives train --real-positives`` guesses: the passages a first fit scores highest. That guess
is weakest where the model is weakest (Russian and Serbian pages, whose claim the first fit scores low), and
with ``--real-positives-top 2`` a page whose claim sits in one passage gives a second, wrong positive. The
files of ``data/real/evidence/*.jsonl`` say it instead, one line per narrative of a page::

    {"page": "<pool page id>", "narrative": "<narrative id>", "spans": [[start, end], ...]}

``spans`` are character offsets into the page's cached text (pinned by its reference's ``sha256``), each one
a passage as ``narratives score`` cuts the page (:func:`narratives.train.realpassages.page_passages`); an
empty list says that no such passage carries it (the claim sits in a headline too short to be evidence). A
page with evidence has a line for every narrative it carries. Like the references, these files hold no text.

With evidence (``--real-evidence``), such a page gives its marked passages as positives, each with the page's
stance for the narratives it carries, and its other passages as negatives: real on-topic passages, in the
outlet's own language, that do not carry the claim. Pages without evidence keep the best-scored guess.

>>> ev, where = parse_evidence([(1, {"page": "p-1", "narrative": "a", "spans": [[0, 5]]})], "f.jsonl")
>>> ev[("p-1", "a")], where[("p-1", "a")]
(((0, 5),), 'f.jsonl:1')
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from narratives.model.textfiles import read_jsonl

from .data import Passage
from .realpassages import PoolPage

MAX_LINE_BYTES = 100_000
Evidence = dict[tuple[str, str], tuple[tuple[int, int], ...]]


class EvidenceError(ValueError):
    """Bad evidence lines; ``problems`` holds ``(where, message)`` pairs, every one reported."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the evidence files:\n"
                         + "\n".join(f"  {w}: {m}" for w, m in problems))


def evidence_dir(real: str | Path) -> Path:
    """The evidence folder beside a reference folder (``data/real`` -> ``data/real/evidence``).

    >>> evidence_dir("data/real").as_posix()
    'data/real/evidence'
    """
    return Path(real) / "evidence"


def _spans(value) -> tuple[tuple[int, int], ...] | None:
    if not isinstance(value, list):
        return None
    out = []
    for span in value:
        if (not isinstance(span, list) or len(span) != 2 or not all(type(x) is int for x in span)
                or not 0 <= span[0] < span[1]):
            return None
        out.append((span[0], span[1]))
    return tuple(sorted(set(out)))


def parse_evidence(rows: Iterable[tuple[int, dict | None, str | None] | tuple[int, dict]],
                   where: str) -> tuple[Evidence, dict[tuple[str, str], str]]:
    """``(evidence, file:line of each pair)`` from ``(line, object[, problem])`` rows of one file; raises
    :class:`EvidenceError` naming the file and line of every bad one (a missing or extra field, bad spans, a pair
    given twice).

    >>> try:
    ...     parse_evidence([(3, {"page": "p-1", "narrative": "a", "spans": [[5, 0]]})], "f.jsonl")
    ... except EvidenceError as exc:
    ...     print(exc.problems)
    [('f.jsonl:3', 'spans must be a list of [start, end] character offsets with 0 <= start < end')]
    """
    out: Evidence = {}
    lines: dict[tuple[str, str], str] = {}
    problems: list[tuple[str, str]] = []
    for row in rows:
        no, obj, problem = (*row, None)[:3]
        at = f"{where}:{no}"
        if obj is None:
            problems.append((at, problem or "unreadable line"))
            continue
        if set(obj) != {"page", "narrative", "spans"}:
            problems.append((at, f"fields must be page, narrative and spans (got {', '.join(sorted(obj))})"))
            continue
        spans = _spans(obj["spans"])
        if not isinstance(obj["page"], str) or not isinstance(obj["narrative"], str):
            problems.append((at, "page and narrative must be ids (strings)"))
        elif spans is None:
            problems.append((at, "spans must be a list of [start, end] character offsets with 0 <= start < end"))
        elif (obj["page"], obj["narrative"]) in out:
            problems.append((at, f"{obj['page']} / {obj['narrative']} given twice"))
        else:
            out[(obj["page"], obj["narrative"])], lines[(obj["page"], obj["narrative"])] = spans, at
    if problems:
        raise EvidenceError(problems)
    return out, lines


def load_evidence(real: str | Path) -> tuple[Evidence, dict[tuple[str, str], str]]:
    """``(evidence, where)`` from every ``*.jsonl`` under :func:`evidence_dir` (none: empty); ``where`` names
    each pair's file and line. Raises :class:`EvidenceError` for bad lines and pairs given in two files.

    >>> load_evidence("/nonexistent/real")
    ({}, {})
    """
    evidence: Evidence = {}
    where: dict[tuple[str, str], str] = {}
    problems: list[tuple[str, str]] = []
    for path in sorted(evidence_dir(real).glob("*.jsonl")):
        with path.open("rb") as fh:
            rows = list(read_jsonl(fh, MAX_LINE_BYTES))
        try:
            found, lines = parse_evidence(rows, str(path))
        except EvidenceError as exc:
            problems += exc.problems
            continue
        for key, spans in found.items():
            at = lines[key]
            if key in evidence:
                problems.append((at, f"{key[0]} / {key[1]} is given in {where[key]} already"))
            evidence[key], where[key] = spans, at
    if problems:
        raise EvidenceError(problems)
    return evidence, where


def check_evidence(evidence: Evidence, where: Mapping[tuple[str, str], str],
                   pages: Mapping[str, tuple[dict[str, str], Sequence[tuple[int, int]]]]) -> list[str]:
    """Ids of the pages with evidence, checked against ``pages`` (id -> (labels, passage spans)): each pair names a
    pool page and a narrative it carries, each span is one of the page's passages, and a page with evidence has
    it for every narrative it carries. Raises :class:`EvidenceError` naming every problem.

    >>> pages = {"p-1": ({"a": "promotes", "b": "reports"}, [(0, 40), (42, 90)])}
    >>> check_evidence({("p-1", "a"): ((0, 40),), ("p-1", "b"): ()}, {}, pages)
    ['p-1']
    >>> try:
    ...     check_evidence({("p-1", "a"): ((0, 41),)}, {("p-1", "a"): "f:1"}, pages)
    ... except EvidenceError as exc:
    ...     print(*(m for _, m in exc.problems), sep="\\n")
    span [0, 41] is not one of the page's passages as `narratives score` cuts it
    p-1 carries b too, and has no evidence line for it
    """
    problems: list[tuple[str, str]] = []
    covered: dict[str, set[str]] = {}
    for (page, narrative), spans in evidence.items():
        at = where.get((page, narrative), f"{page} / {narrative}")
        if page not in pages:
            problems.append((at, f"{page} is not a page of the training pool that carries a narrative"))
            continue
        labels, passage_spans = pages[page]
        if narrative not in labels:
            problems.append((at, f"{page} does not carry {narrative} (its labels: {', '.join(sorted(labels))})"))
            continue
        known = set(passage_spans)
        problems += [(at, f"span [{s}, {e}] is not one of the page's passages as `narratives score` cuts it")
                     for s, e in spans if (s, e) not in known]
        covered.setdefault(page, set()).add(narrative)
    for page, done in sorted(covered.items()):
        at = where.get((page, min(done)), page)  # the line of the page's first narrative that has one
        problems += [(at, f"{page} carries {n} too, and has no evidence line for it")
                     for n in sorted(set(pages[page][0]) - done)]
    if problems:
        raise EvidenceError(problems)
    return sorted(covered)


def evidence_passages(page: PoolPage, evidence: Evidence) -> list[Passage]:
    """A page's passages labelled by its evidence: each marked passage with the narratives it carries (stance
    ``promotes`` if the page promotes any of them, else ``reports``), each other passage a negative.

    >>> page = PoolPage("p-1", "f:1", "sr-Latn", {"a": "reports", "b": "promotes"}, ("one", "two", "three"),
    ...                 ((0, 3), (4, 7), (8, 13)))
    >>> ev = {("p-1", "a"): ((0, 3), (4, 7)), ("p-1", "b"): ((4, 7),)}
    >>> [(p.text, p.narratives, p.stance) for p in evidence_passages(page, ev)]
    [('one', ('a',), 'reports'), ('two', ('a', 'b'), 'promotes'), ('three', (), 'none')]
    """
    out = []
    if len(page.spans) != len(page.passages):
        raise ValueError(f"{page.id}: the page's passage spans are needed to read its evidence")
    for k, (text, span) in enumerate(zip(page.passages, page.spans)):
        carried = tuple(n for n in page.labels if span in evidence.get((page.id, n), ()))
        stance = ("promotes" if any(page.labels[n] == "promotes" for n in carried) else "reports") if carried else "none"
        out.append(Passage(id=f"{page.id}#ev{k}", text=text, narratives=carried, stance=stance,
                           source=f"real:{page.id}", split="train", lang=page.lang,
                           where=f"{page.where} (passage at {span[0]}-{span[1]}, "
                                 f"{'evidence' if carried else 'no evidence'})"))
    return out


def split_marked(carried: Sequence[PoolPage], evidence: Evidence) -> tuple[list[Passage], list[PoolPage]]:
    """``(passages, rest)``: the passages of the ``carried`` pages that have evidence, labelled by it
    (:func:`evidence_passages`; in page id order), and the pages without any (left to the best-scored guess).

    >>> page = PoolPage("p-1", "f:1", "en", {"a": "promotes"}, ("one", "two"), ((0, 3), (4, 7)))
    >>> other = PoolPage("p-2", "f:2", "en", {"a": "reports"}, ("three",), ((0, 5),))
    >>> passages, rest = split_marked([page, other], {("p-1", "a"): ((4, 7),)})
    >>> [(p.text, p.narratives) for p in passages], [p.id for p in rest]
    ([('one', ()), ('two', ('a',))], ['p-2'])
    """
    marked = {page for page, _ in evidence}
    return ([x for p in sorted(carried, key=lambda p: p.id) if p.id in marked for x in evidence_passages(p, evidence)],
            [p for p in carried if p.id not in marked])


def evidence_digest(evidence: Evidence) -> str:
    """sha256 of the evidence, in a canonical order (what a model fitted on it records).

    >>> evidence_digest({("p", "a"): ((0, 3),)}) == evidence_digest({("p", "a"): ((0, 3),)})
    True
    """
    import hashlib
    import json

    rows = [[p, n, [list(s) for s in spans]] for (p, n), spans in sorted(evidence.items())]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def marked_passages(real: str | Path, carried: Sequence[PoolPage]) -> tuple[list[Passage], list[PoolPage], dict]:
    """``(passages, rest, provenance)``: the passages of the ``carried`` pages (:func:`~.realpassages.positive_pages`)
    that have evidence under ``real``, labelled by it (:func:`evidence_passages`); the pages without evidence; and
    ``{"pages", "passages", "positives", "evidence_sha256"}``. Raises :class:`EvidenceError` for bad evidence and
    ``ValueError`` when there is none.

    >>> marked_passages("/nonexistent/real", [])
    Traceback (most recent call last):
    ...
    ValueError: --real-evidence: no evidence lines under /nonexistent/real/evidence
    """
    evidence, where = load_evidence(real)
    if not evidence:
        raise ValueError(f"--real-evidence: no evidence lines under {evidence_dir(real)}")
    marked = check_evidence(evidence, where, {p.id: (p.labels, p.spans) for p in carried})
    passages, rest = split_marked(carried, evidence)
    return (passages, rest,
            {"pages": len(marked), "passages": len(passages), "positives": sum(bool(x.narratives) for x in passages),
             "evidence_sha256": evidence_digest(evidence)})
