"""Corrections: the analyst's labels, kept in a new JSONL label file per server session, in the format
``narratives labels import`` reads unchanged (``id, text, narratives, stance, lang, source`` plus audit
fields the importer ignores: the model's call, the review of each narrative, article and offsets).

The file lives in the corrections folder (``--corrections DIR``; default ``<user data dir>/narratives/
corrections``), is named by the server (``workbench-<UTC time>-<random>.jsonl``, never from a request),
holds one record per passage (labelling a passage again replaces its record: an import refuses a text
labelled two ways) and is replaced atomically on each save.

>>> import tempfile
>>> c = Corrections(tempfile.mkdtemp())
>>> rec = c.save(text="A passage of text.", narratives=["kosovo_precedent"], stance="promotes", lang="en",
...              source="wb-x", ids=("kosovo_precedent", "anti_western"))
>>> rec["id"].startswith("wb-"), c.path.exists()
(True, True)
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from pathlib import Path

LANGS = ("en", "sr-Latn", "sr-Cyrl", "bs", "hr", "ru")  # as narratives.model.taxonomy.LANGS (kept light here; a test pins it)


def labelled_index(folder: str | Path | None = None) -> dict[str, tuple[str, list, str]]:
    """The passages of the label folder's JSONL label files (not the stand-off seed spans, which need the
    corpus) by :func:`passage_key`: ``(file:line, narratives, stance)``. An unreadable file is skipped.

    >>> where, narratives, stance = next(iter(labelled_index().values()))
    >>> ".jsonl:" in where and stance in ("promotes", "reports", "none")
    True
    """
    from narratives.model.paths import labels_dir
    from narratives.train.data import read_jsonl

    out: dict[str, tuple[str, list, str]] = {}
    root = Path(folder) if folder is not None else labels_dir()
    for path in sorted(root.glob("*.jsonl")) if root.is_dir() else []:
        if path.name == "seed_spans.jsonl":
            continue
        try:
            for no, rec, err in read_jsonl(path):
                if not err and isinstance(rec, dict) and isinstance(rec.get("text"), str):
                    out.setdefault(passage_key(rec["text"]), (f"{path}:{no}", rec.get("narratives") or [],
                                                              str(rec.get("stance"))))
        except (OSError, ValueError):
            continue
    return out


def conflict(index: dict, rec: dict) -> str | None:
    """A warning when the label folder holds this text with other labels (``labels import`` would then
    refuse the corrections file), else None.

    >>> conflict({"wb-1": ("a.jsonl:3", ["x"], "promotes")}, {"id": "wb-1", "narratives": [], "stance": "none"})[:44]
    'already labelled at a.jsonl:3 as x/promotes:'
    """
    old = index.get(rec["id"])
    if old is None or (sorted(old[1]), old[2]) == (rec["narratives"], rec["stance"]):
        return None
    return (f"already labelled at {old[0]} as {'+'.join(old[1]) or 'none'}/{old[2]}: labels import refuses a text "
            "labelled two ways; fix that label file, or label it the same here")


class CorrectionError(ValueError):
    """A correction that the label importer would refuse; the message names the field."""


def default_folder() -> Path:
    """``<user data dir>/narratives/corrections`` (platformdirs).

    >>> default_folder().name
    'corrections'
    """
    from platformdirs import user_data_dir

    return Path(user_data_dir("narratives", appauthor=False)) / "corrections"


def passage_key(text: str) -> str:
    """The record id of a passage: the same text gets the same id in every session.

    >>> passage_key("a  b") == passage_key("a b")
    True
    """
    norm = " ".join(text.split()).casefold()
    return "wb-" + hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Corrections:
    """The corrections file of one server session in ``folder`` (created on the first save)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else default_folder()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.name = f"workbench-{stamp}-{secrets.token_hex(3)}.jsonl"
        self.path = self.folder / self.name
        self._records: dict[str, dict] = {}
        self._lock = threading.Lock()

    def records(self) -> list[dict]:
        """This session's records, in the order first saved.

        >>> Corrections("/nonexistent").records()
        []
        """
        with self._lock:
            return list(self._records.values())

    def get(self, text: str) -> dict | None:
        """The saved record for a passage text, if any.

        >>> Corrections("/nonexistent").get("x") is None
        True
        """
        with self._lock:
            return self._records.get(passage_key(text))

    def save(self, text: str, narratives: list[str], stance: str, lang: str, source: str,
             ids: tuple[str, ...], extra: dict | None = None) -> dict:
        """Validate and save one passage's label (replacing an earlier one for the same text); returns the
        record. Raises :class:`CorrectionError` naming the field for anything the importer would refuse.

        >>> try:
        ...     Corrections("/nonexistent").save("t", ["x"], "none", "en", "s", ("x",))
        ... except CorrectionError as exc:
        ...     print(exc)
        stance: stance must be 'none' exactly when 'narratives' is empty
        """
        from narratives.model.artifact import atomic_write_text
        from narratives.serve.labelrecords import LabelPassage, label_errors

        narr = sorted(set(narratives)) if isinstance(narratives, list) else narratives
        if not narr:
            stance = "none"
        # the label record schema the importer validates with: what passes here, `labels import` takes
        _, problems = label_errors(LabelPassage, {"id": passage_key(text), "text": text, "narratives": narr,
                                                  "stance": stance, "lang": lang, "source": source, "split": None},
                                   {"narratives": ids, "require_split": False})
        if problems:  # "field: message", the field first (the page marks it)
            raise CorrectionError("; ".join(f"{field}: {message}" for field, message in problems))
        rec = {"id": passage_key(text), "text": text, "narratives": narr, "stance": stance, "lang": lang,
               "source": source, **(extra or {}),
               "labelled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with self._lock:
            self._records[rec["id"]] = rec  # a dict keeps the first-saved order on replacement
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self._records.values())
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, body)
        return rec

    def text(self) -> str:
        """The file's content (empty before the first save).

        >>> Corrections("/nonexistent").text()
        ''
        """
        with self._lock:
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self._records.values())
