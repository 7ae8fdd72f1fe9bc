"""``narratives labels import``: labels from annotation tools into a passage file of the label folder.

Reads four formats, chosen by ``fmt`` or guessed from the file:

* CSV with a header: ``text``, ``narratives`` (ids separated by ``;``), ``stance``; optional ``id``,
  ``source``, ``lang``, ``split``;
* JSONL: one object per line with the same fields (``narratives`` a list or a ``;`` string);
* a Label Studio JSON export (a list of tasks): ``choices`` results named ``narratives`` and ``stance``
  (see ``data/labels/label_studio.xml``), and span results (``labels``) with offsets into the task
  text, whose labels are narrative ids plus one stance; every span becomes a passage;
* doccano JSONL: ``text`` with ``label`` (a list of labels, or ``[start, end, label]`` spans) or
  ``entities`` (``start_offset``, ``end_offset``, ``label``); labels are narrative ids plus one stance.

Every problem is reported with file and line (or task id); nothing is written unless the whole file
is clean. Passages of one task, row or document share a ``source``; new sources get a ``train`` or
``dev`` split (never the frozen ``test``).

>>> from narratives.train.importers import parse_narratives
>>> parse_narratives("kosovo_precedent; anti_western")
['kosovo_precedent', 'anti_western']
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from narratives.model.taxonomy import Taxonomy

from .data import LANGS, MAX_LINE_BYTES, SPLITS
from .label_formats import FORMATS, Raw, guess_format, parse_narratives, read_label_file

__all__ = ["FORMATS", "ImportResult", "Raw", "guess_format", "import_labels", "normalise", "parse_narratives",
           "read_label_file", "refresh_card"]

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass
class ImportResult:
    records: list[dict]
    problems: list[tuple[str, str]]
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _language(text: str, where: str, problems: list) -> str | None:
    """The detected language of a passage given without one, or None with the problem added."""
    from narratives.model.langid import detect_language

    found = detect_language(text)
    if found in LANGS:
        return found
    from narratives.model.langid import UNLABELLED

    if found in UNLABELLED:
        problems.append((where, f"the text looks {UNLABELLED[found]} ({found}), not a language of the labels "
                                f"({', '.join(LANGS)}); give a 'lang' field or --lang if it is one of them"))
        return None
    problems.append((where, f"cannot tell the language (detected {found!r}: Serbian, Bosnian and Croatian in "
                            "Latin script look alike); give a 'lang' field or --lang"))
    return None


def normalise(raws: list[Raw], tax: Taxonomy, prefix: str, problems: list, warnings: list,
              default_lang: str | None = None) -> list[dict]:
    """Validate raw records into passage records (``id, text, lang, narratives, stance, source, split``)."""
    from narratives.serve.labelrecords import LabelPassage, validate_label

    context = {"narratives": tax.ids, "splits": SPLITS[:2], "require_split": False}  # the test split is frozen
    out: list[dict] = []
    seen: dict[str, dict] = {}
    for i, r in enumerate(raws, 1):
        narr = r.narratives
        if isinstance(narr, list) and all(isinstance(n, str) for n in narr):
            narr = sorted(set(narr))  # an id given twice in a tool's export is one label
        rec = {"id": str(r.id) if r.id not in (None, "") else f"{prefix}-{i}", "text": r.text,
               "lang": r.lang if r.lang is not None else default_lang or LANGS[0],  # detected below when not given
               "narratives": narr, "stance": r.stance if r.stance not in (None, "") else ("none" if not narr else None),
               "source": str(r.source) if r.source not in (None, "") else f"{prefix}-{i}", "split": r.split}
        valid, found = validate_label(LabelPassage, rec, context)
        if valid is None:
            problems.extend((r.where, m) for m in found)
            continue
        text = valid.text
        if r.lang is None and not default_lang:
            lang = _language(text, r.where, problems)
            if lang is None:
                continue
            rec["lang"] = lang
        if len(text) > MAX_LINE_BYTES // 8 and len(json.dumps({**rec, "split": "train"}, ensure_ascii=False)
                                                      .encode("utf-8")) > MAX_LINE_BYTES:
            # the line written for it would break every later load of the label folder
            problems.append((r.where, f"text is over {MAX_LINE_BYTES:,} bytes as a label line (a passage is 15 to "
                                      "150 words); split it into passages"))
            continue
        key = " ".join(text.split()).casefold()
        if key in seen:
            first = seen[key]
            if (first["narratives"], first["stance"]) != (rec["narratives"], rec["stance"]):
                problems.append((r.where, f"the same text is labelled differently at {first['where']} "
                                          f"({first['narratives']}/{first['stance']} vs {rec['narratives']}/{rec['stance']})"))
            else:
                warnings.append((r.where, f"duplicate of {first['where']}; kept once"))
            continue
        seen[key] = {**rec, "where": r.where}
        out.append(rec)
    id_at: dict[str, str] = {}
    for rec in out:
        where, rid = str(seen[" ".join(str(rec["text"]).split()).casefold()]["where"]), str(rec["id"])
        if rid in id_at:
            problems.append((where, f"id {rid!r} is used twice in this file (first at {id_at[rid]})"))
        id_at.setdefault(rid, where)
    return out


def import_labels(path: str | Path, labels: str | Path | None = None, corpus: str | Path | None = None,
                  name: str | None = None, fmt: str | None = None, lang: str | None = None,
                  text_field: str = "text", dry_run: bool = False) -> ImportResult:
    """Import a label file into ``<labels>/<name>.jsonl`` (default name ``imported_<file stem>``).

    Raises :class:`~narratives.train.data.LabelError` listing every problem, and writes nothing, when
    any record is invalid, conflicts with another (same text, other labels; same id), or the target
    exists. Texts already in the label folder with the same labels are skipped with a warning.

    >>> import_labels("new.csv", name="week48")  # doctest: +SKIP
    ImportResult(records=[{'id': 'week48-1', ...}], problems=[], warnings=[])
    """
    from narratives.model.artifact import atomic_write_text
    from narratives.model.paths import labels_dir
    from narratives.model.taxonomy import load_taxonomy

    from .data import LabelError, Passage, load_passages
    from .passage_rule import folder_bounds, word_problem
    from .splits import assign_splits

    path = Path(path)
    folder = Path(labels) if labels is not None else labels_dir()
    tax = load_taxonomy(folder / "taxonomy.yaml")
    name = name or f"imported_{path.stem}"
    if not SAFE_NAME.match(name) or name.endswith(".jsonl") or name == "seed_spans":
        raise LabelError([(name, "the name must be letters, digits, '_', '-' or '.', without .jsonl")])
    target = folder / f"{name}.jsonl"
    raws, problems, warnings = read_label_file(path, fmt, text_field)
    records = normalise(raws, tax, name, problems, warnings, lang)
    existing = load_passages(folder, corpus, tax, require_split=False)
    by_id = {p.id: p for p in existing}
    by_text = {" ".join(p.text.split()).casefold(): p for p in existing}
    where_of = {r.text: r.where for r in reversed(raws) if isinstance(r.text, str)}  # the first occurrence wins
    limits = folder_bounds(folder)
    kept = []
    for rec in records:
        where = where_of[rec["text"]]
        problem = word_problem(rec["text"], limits)
        if problem:  # the rule `labels check` applies; `suggest` proposes nothing outside it
            problems.append((where, f"{problem} under {folder / 'targets.yaml'}: shorten, extend or leave it out "
                                    "(standalone headings go in a headline file, see targets.yaml)"))
            continue
        old = by_text.get(" ".join(rec["text"].split()).casefold())
        if old is not None:
            if (list(old.narratives), old.stance) == (rec["narratives"], rec["stance"]):
                warnings.append((where, f"already labelled at {old.where}; skipped"))
            else:
                problems.append((where, f"labelled differently at {old.where} ({list(old.narratives)}/{old.stance})"))
            continue
        if rec["id"] in by_id:
            problems.append((where, f"id {rec['id']!r} is already used at {by_id[rec['id']].where}"))
            continue
        kept.append(rec)
    if target.exists():
        problems.append((str(target), "exists already; choose another --name (an import never overwrites labels)"))
    if not problems and kept:
        new = [Passage(r["id"], r["text"], tuple(r["narratives"]), r["stance"], r["source"], r["split"], r["lang"],
                       str(target)) for r in kept]
        # New sources are stratified among themselves, so each import brings its own share of dev passages
        # (the label folder's dev split may be full already); a source already in a split stays there.
        known = {p.source: p.split for p in existing if p.split}
        given: dict[str, set] = {}
        for r in kept:
            given.setdefault(r["source"], set()).update({r["split"]} - {None})
        for source, splits in sorted(given.items()):
            if known.get(source) == "test":
                problems.append((str(path), f"source {source!r} is in the test split, which takes no imported "
                                            "passages (it is, or will be, frozen); give new passages a new source"))
            elif len(splits) > 1 or (source in known and splits - {known[source]}):
                problems.append((str(path), f"source {source!r} would feed several splits "
                                            f"({', '.join(sorted(splits | ({known[source]} if source in known else set())))}); "
                                            "all passages of a source share one split"))
        for r in kept:
            if r["source"] in known:
                r["split"] = r["split"] or known[r["source"]]
            elif given.get(r["source"]):
                r["split"] = r["split"] or next(iter(given[r["source"]]))
        fresh = [p for p in new if p.source not in known and not given.get(p.source)]
        assignment = assign_splits(fresh, frozen_test=True) if fresh and not problems else {}
        for r in kept:
            r["split"] = r["split"] or assignment.get(r["source"])
    if problems:
        raise LabelError(problems)
    if not dry_run and kept:
        try:
            atomic_write_text(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), exclusive=True)
        except FileExistsError:
            raise LabelError([(str(target), "exists already; choose another --name")]) from None
        refresh_card(folder, corpus)
    return ImportResult(kept, problems, warnings)


def refresh_card(folder: Path, corpus: str | Path | None = None) -> bool:
    """Regenerate the counts section of the label folder's data card (``README.md``) after the labels
    changed, so ``narratives labels check`` passes without a separate ``narratives labels card``; a folder
    without a card (or without its markers) is left alone. Returns whether the card changed."""
    from .data import load_passages
    from .datacard import START, update_card

    card = folder / "README.md"
    if not card.exists() or START not in card.read_text(encoding="utf-8"):
        return False
    return update_card(card, load_passages(folder, corpus, require_split=False))

