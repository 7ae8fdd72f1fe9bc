"""Files dropped on the workbench: articles (through the same readers as ``narratives score``), scores
files (``narratives score`` JSONL output) and ``narratives suggest`` queues (Label Studio task JSON).

Uploads are written to a private temporary folder under server-chosen names (``000.txt``; only the
extension of the given name is kept, and only a supported one), read, and deleted; the given name is only
shown. A line or task that cannot be read becomes an error row naming the file and line; the rest goes on.

>>> kind_of("x.json", b"[]"), kind_of("s.jsonl", b'{"id": 1, "narratives": [], "scores": {}}'), kind_of("a.txt", b"")
('queue', 'scores', 'articles')
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

_SAFE = re.compile(r"[^\w .,()+-]", re.UNICODE)


def display_name(name: str | None, i: int) -> str:
    """The base name of an uploaded file, for display only (no folders, at most 120 characters).

    >>> display_name("../../etc/passwd", 0), display_name(None, 3)
    ('passwd', 'upload-3')
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _SAFE.sub("_", base)[:120]
    return base if base.strip(" .") else f"upload-{i}"


def kind_of(name: str, head: bytes, path: Path | None = None) -> str:
    """``queue`` (a .json suggest file), ``scores`` (``narratives score`` output: JSONL whose first record
    has ``narratives`` and ``scores`` and no ``text``; CSV or Parquet with ``narratives`` and ``score_*``
    columns and no ``text``) or ``articles``. ``path`` is needed for Parquet (its schema is at the end).

    >>> kind_of("s.csv", b"id,source,narratives,stance,stances,score_x\\n"), kind_of("a.csv", b"id,text\\n")
    ('scores', 'articles')
    """
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        return "queue"
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if suffix in (".jsonl", ".ndjson"):
        try:
            rec = json.loads(first)
        except ValueError:
            return "articles"
        if isinstance(rec, dict) and "narratives" in rec and "scores" in rec and "text" not in rec:
            return "scores"
    columns: list[str] = []
    if suffix == ".csv":
        columns = next(csv.reader([first.decode("utf-8", "replace")]), [])
    elif suffix == ".parquet" and path is not None:
        try:
            import pyarrow.parquet as pq

            columns = list(pq.ParquetFile(str(path)).schema_arrow.names)
        except Exception:  # noqa: BLE001 - not Parquet: the article reader reports it
            columns = []
    if "narratives" in columns and "text" not in columns and any(c.startswith("score_") for c in columns):
        return "scores"
    return "articles"


def read_uploaded_articles(path: Path, shown: str) -> list[dict]:
    """Article items of one uploaded file, with ids and sources naming the uploaded file, not the temp one.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "000.txt").write_text("Hello.")
    6
    >>> read_uploaded_articles(d / "000.txt", "note.txt")[0]["id"]
    'note'
    """
    from narratives.serve.readers import read_articles

    items = []
    for item in read_articles([str(path)]):
        src = str(item.get("source") or "")
        if src.startswith(str(path)):
            item["source"] = shown + src[len(str(path)):]
        if item.get("id") == path.stem:
            item["id"] = Path(shown).stem
        for key in ("error",):
            if isinstance(item.get(key), str):
                item[key] = item[key].replace(str(path), shown)
        items.append(item)
    return items


def read_flat_scores(path: Path, shown: str) -> list[dict]:
    """Records of a ``narratives score`` CSV or Parquet file (each row through the writer's own inverse,
    :func:`narratives.serve.output.unflat_row`); a row that cannot be read becomes an error record naming
    the file and row, and the rest is read.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text('id,narratives,score_x\\na,x,0.9\\nb,,0.1,extra\\nc,,high\\n')
    >>> for r in read_flat_scores(p, "s.csv"):
    ...     print(r["id"], r["scores"], r["errors"])
    a {'x': 0.9} []
    s.csv:3 {} ['s.csv:3: more cells than the header']
    s.csv:4 {} ["s.csv:4: unreadable row (could not convert string to float: 'high')"]
    """
    from narratives.serve.output import FORMULA_START, unflat_row
    from narratives.serve.readers import MAX_ARTICLE_BYTES

    def one(row: dict, where: str) -> dict:
        if None in row:
            return _bad(where, "more cells than the header")
        try:
            return _clean(unflat_row(row))
        except (ValueError, TypeError, AttributeError) as exc:
            return _bad(where, f"unreadable row ({exc})")

    out = []
    try:
        if path.suffix.lower() == ".csv":
            csv.field_size_limit(MAX_ARTICLE_BYTES)
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                for row in reader:  # a formula-looking cell was written with a leading quote: undo it
                    row = {k: v[1:] if isinstance(v, str) and v[:1] == "'" and v[1:2] in FORMULA_START else v
                           for k, v in row.items()}
                    out.append(one(row, f"{shown}:{reader.line_num}"))
        else:
            import pyarrow.parquet as pq

            no = 0
            for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=1000):
                for row in batch.to_pylist():
                    no += 1
                    out.append(one(row, f"{shown}: row {no}"))
    except (UnicodeDecodeError, csv.Error, OSError, ValueError) as exc:
        out.append(_bad(shown, f"the rest of the file could not be read ({exc})"))
    return out


def read_scores(path: Path, shown: str) -> list[dict]:
    """Records of a ``narratives score`` JSONL file; a line that is not one becomes an error record.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "s.jsonl"
    >>> _ = p.write_text('{"id": "a", "narratives": [], "scores": {}}\\nnot json\\n')
    >>> [r.get("errors") for r in read_scores(p, "s.jsonl")]
    [[], ['s.jsonl:2: not a JSON record (malformed JSON: Expecting value (column 1))']]
    """
    from narratives.model.textfiles import read_jsonl
    from narratives.serve.output import MAX_RECORD_LINE

    out = []
    with open(path, "rb") as fh:
        for no, rec, err in read_jsonl(fh, MAX_RECORD_LINE):
            where = f"{shown}:{no}"
            if rec is None:
                out.append(_bad(where, f"not a JSON record ({err})"))
                continue
            if not isinstance(rec.get("narratives"), list) or not isinstance(rec.get("scores"), dict):
                out.append(_bad(where, "not a record written by narratives score (needs narratives and scores)"))
                continue
            out.append(_clean(rec))
    return out


def _clean(rec: dict) -> dict:
    """A scores record with the fields the pages read in their expected shapes (anything else dropped):
    narratives and errors as lists of strings, scores as numbers, stances and evidence as mappings.

    >>> _clean({"narratives": ["a", 1], "scores": {"a": "x", "b": 0.5}, "stances": [], "errors": "e"})["scores"]
    {'b': 0.5}
    """
    rec = dict(rec)
    rec["narratives"] = [n for n in rec["narratives"] if isinstance(n, str)]
    rec["scores"] = {str(k): v for k, v in rec["scores"].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key, kind in (("stances", dict), ("evidence", dict), ("errors", list), ("warnings", list)):
        if not isinstance(rec.get(key), kind):
            rec[key] = kind()
    rec["errors"] = [str(e) for e in rec["errors"]]
    rec["warnings"] = [str(w) for w in rec["warnings"]]
    return rec


def _bad(where: str, message: str) -> dict:
    return {"id": where, "source": where, "narratives": [], "scores": {}, "stances": {}, "evidence": {},
            "stance": None, "errors": [f"{where}: {message}"]}


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def read_queue(path: Path, shown: str) -> tuple[list[dict], list[str]]:
    """Tasks of a ``narratives suggest`` file (a Label Studio import list): ``(tasks, problems)``; each task
    ``{text, article, source, lang, narratives, stance, scores, priority}``.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "q.json"
    >>> _ = p.write_text('[{"data": {"text": "A passage."}}, {"data": {}}]')
    >>> tasks, problems = read_queue(p, "q.json"); len(tasks), problems
    (1, ['q.json: task 2: data.text is missing or not a string'])
    """
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        return [], [f"{shown}: not a JSON file ({exc})"]
    if not isinstance(raw, list):
        return [], [f"{shown}: expected a list of tasks (the output of narratives suggest)"]
    tasks, problems = [], []
    for i, t in enumerate(raw, 1):
        data = t.get("data") if isinstance(t, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not data["text"].strip():
            problems.append(f"{shown}: task {i}: data.text is missing or not a string")
            continue
        narr, stance = [], "none"
        preds = t.get("predictions") if isinstance(t.get("predictions"), list) else []
        for r in (preds[0].get("result") or []) if preds and isinstance(preds[0], dict) else []:
            choices = (r.get("value") or {}).get("choices") if isinstance(r, dict) else None
            if isinstance(choices, list) and r.get("from_name") == "narratives":
                narr = [c for c in choices if isinstance(c, str)]
            elif isinstance(choices, list) and choices and r.get("from_name") == "stance":
                stance = str(choices[0])
        meta = _dict(t.get("meta"))
        scores = _dict(meta.get("scores"))
        tasks.append({"text": data["text"], "article": str(data.get("article_id", "")),
                      "source": str(data.get("source") or ""), "lang": data.get("lang"),
                      "narratives": narr, "stance": stance,
                      "scores": {str(k): v for k, v in scores.items() if isinstance(v, (int, float))},
                      "priority": preds[0].get("score") if preds and isinstance(preds[0], dict) else None,
                      "where": f"{shown}: task {i}"})
    return tasks, problems
