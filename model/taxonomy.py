"""The narrative taxonomy: the label set, read from ``data/labels/taxonomy.yaml`` only.

>>> tax = load_taxonomy()
>>> tax.ids[:2]
('genocide_denial', 'kosovo_precedent')
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .paths import labels_dir
from .textfiles import MAX_CONFIG_BYTES, load_yaml, read_small_text

STANCES = ("promotes", "reports", "none")
LANGS = ("en", "sr-Latn", "sr-Cyrl", "bs", "hr", "ru")  # the languages of the labels
SPLITS = ("train", "dev", "test")
_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, unreadable or malformed; the message names the file and field."""


@dataclass(frozen=True)
class Narrative:
    id: str
    name: str
    description: str
    cues: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    narratives: tuple[Narrative, ...]
    path: str = ""
    stances: tuple[str, ...] = field(default=STANCES)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.narratives)

    def get(self, narrative_id: str) -> Narrative:
        for n in self.narratives:
            if n.id == narrative_id:
                return n
        raise KeyError(f"unknown narrative {narrative_id!r}; known: {', '.join(self.ids)}")


def default_taxonomy_path() -> Path:
    return labels_dir() / "taxonomy.yaml"


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate the taxonomy YAML file.

    >>> load_taxonomy().get("kosovo_precedent").name
    'Kosovo precedent'
    """
    import yaml  # local: keeps `narratives --help` light

    p = Path(path) if path is not None else default_taxonomy_path()
    try:
        raw = load_yaml(read_small_text(p, MAX_CONFIG_BYTES))
    except FileNotFoundError:
        raise TaxonomyError(f"{p}: taxonomy file not found") from None
    except OSError as exc:
        raise TaxonomyError(f"{p}: cannot read taxonomy ({exc.strerror})") from None
    except ValueError as exc:  # too large, or not UTF-8 (the message names the file and line)
        raise TaxonomyError(str(exc)) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise TaxonomyError(f"{p}: cannot parse taxonomy: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("narratives"), list):
        raise TaxonomyError(f"{p}: expected a mapping with a 'narratives' list")
    out: list[Narrative] = []
    seen: set[str] = set()
    for i, item in enumerate(raw["narratives"]):
        where = f"{p}: narratives[{i}]"
        if not isinstance(item, dict):
            raise TaxonomyError(f"{where}: expected a mapping")
        nid = item.get("id")
        if not isinstance(nid, str) or not _ID.match(nid):
            raise TaxonomyError(f"{where}.id: {nid!r} is not a snake_case id")
        if nid in seen:
            raise TaxonomyError(f"{where}.id: duplicate id {nid!r}")
        seen.add(nid)
        for key in ("name", "description"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise TaxonomyError(f"{where}.{key}: missing or empty (narrative {nid!r})")
        for key in ("cues", "keywords"):
            val = item.get(key, [])
            if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
                raise TaxonomyError(f"{where}.{key}: expected a list of strings (narrative {nid!r})")
        out.append(
            Narrative(
                id=nid,
                name=item["name"].strip(),
                description=" ".join(item["description"].split()),
                cues=tuple(item.get("cues", [])),
                keywords=tuple(k.lower() for k in item.get("keywords", [])),
            )
        )
    if not out:
        raise TaxonomyError(f"{p}: no narratives defined")
    return Taxonomy(narratives=tuple(out), path=str(p))


def add_narrative(path: str | Path, narrative_id: str, name: str, description: str,
                  cues: tuple[str, ...] = (), keywords: tuple[str, ...] = ()) -> Taxonomy:
    """Append a narrative to the taxonomy file (comments and layout kept) and return the new taxonomy.

    The file is replaced atomically and only if the result loads and ends with the new narrative, so a
    taxonomy whose ``narratives`` list is not the last block is refused rather than corrupted.

    >>> add_narrative("data/labels/taxonomy.yaml", "church_persecution", "Church law as persecution",
    ...               "Montenegro's law on religious freedom as persecution of Serbs.")  # doctest: +SKIP
    Taxonomy(narratives=(..., Narrative(id='church_persecution', ...)), ...)
    """
    import json

    import yaml

    from .textfiles import atomic_write_text

    p = Path(path)
    tax = load_taxonomy(p)
    if not isinstance(narrative_id, str) or not _ID.match(narrative_id):
        raise TaxonomyError(f"{narrative_id!r} is not a snake_case id (letters, digits and '_', starting with a letter)")
    if narrative_id in tax.ids:
        raise TaxonomyError(f"{p}: narrative {narrative_id!r} exists already")
    if not name.strip() or not description.strip():
        raise TaxonomyError("a new narrative needs a non-empty name and description")
    q = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731  (a JSON string is a valid YAML scalar)
    block = [f"  - id: {narrative_id}", f"    name: {q(name.strip())}",
             f"    description: {q(' '.join(description.split()))}"]
    if cues:
        block += ["    cues:"] + [f"      - {q(c)}" for c in cues]
    block.append(f"    keywords: [{', '.join(q(k) for k in keywords)}]")
    text = p.read_text(encoding="utf-8")
    new_text = text + ("" if text.endswith("\n") else "\n") + "\n".join(block) + "\n"
    try:
        raw = yaml.safe_load(new_text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{p}: the narrative could not be appended ({exc})") from None
    if not isinstance(raw, dict) or not raw.get("narratives") or raw["narratives"][-1].get("id") != narrative_id:
        raise TaxonomyError(f"{p}: 'narratives' is not the last block of the file; add the narrative by hand")
    atomic_write_text(p, new_text)
    return load_taxonomy(p)
