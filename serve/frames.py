"""Article records as DataFrames: score a pandas frame or an Arrow table of articles, one row per article.

The scoring is :func:`narratives.serve.articles.score_articles`, the code behind ``narratives score``: the
same passages, decisions and evidence. Only the shape changes: one row per article with the record's fields
as typed columns (:func:`record_schema`): ``narratives``, ``errors`` and ``warnings`` are list columns,
``scores`` a struct with one float per narrative (null on an error row), ``stances`` a struct with one
string per narrative (null where the narrative is not predicted), and ``evidence`` a list of structs
(``narrative``, ``start``, ``end``, ``score``, ``stance``, ``stance_score``, ``text``; per narrative in the
record's order, best first). Columns other than the id and text pass through unchanged, after ``source``
as in the record (named ``input_<name>`` when they clash with a record field), and the frame's index is
kept, so the result joins back onto the input. :func:`frame_records` turns rows back into the exact
records ``narratives score`` writes. One difference: a frame's rows are not checked for duplicate ids
(``narratives score``, with or without ``--engine``, warns about an id seen earlier in the run; a frame
has its own index, and a batch of a Ray or Spark job cannot see the others).

>>> import pandas as pd
>>> df = pd.DataFrame({"id": ["a"], "text": ["Sunny in Belgrade.\\n\\nMarkets were calm."], "outlet": ["X"]})
>>> out = score_frame(df, model="baseline")
>>> list(out.columns[:4]), out.loc[0, "narratives"], out.loc[0, "stance"], int(out.loc[0, "n_passages"])
(['id', 'source', 'outlet', 'narratives'], [], 'none', 2)
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .articles import score_articles
from .records import Evidence, article_fields

RESERVED = article_fields()  # the article record's fields, in order: one list, in narratives.serve.records
EVIDENCE_FIELDS = ("narrative", *Evidence.model_fields)


def _labels(model) -> tuple[Any, list[str]]:
    from narratives.model import load_model

    clf = model if hasattr(model, "scores") else load_model(model)
    return clf, list(clf.labels_)


def record_schema(labels: Iterable[str]):
    """The Arrow schema of the record's fields (without pass-through columns), for narratives ``labels``.

    >>> s = record_schema(["x", "y"])
    >>> str(s.field("scores").type), str(s.field("narratives").type)
    ('struct<x: double, y: double>', 'list<item: string>')
    """
    import pyarrow as pa

    labels = list(labels)
    passage = {"narrative": pa.string(), "start": pa.int64(), "end": pa.int64(), "score": pa.float64(),
               "stance": pa.string(), "stance_score": pa.float64(), "text": pa.string()}
    if set(EVIDENCE_FIELDS) - set(passage):  # the evidence record gained a field this module cannot type yet
        raise RuntimeError(f"evidence fields without a column type: {', '.join(set(EVIDENCE_FIELDS) - set(passage))}")
    evidence = pa.struct([(f, passage[f]) for f in EVIDENCE_FIELDS])
    types = {"id": pa.string(), "source": pa.string(), "narratives": pa.list_(pa.string()), "stance": pa.string(),
             "stances": pa.struct([(lab, pa.string()) for lab in labels]),
             "scores": pa.struct([(lab, pa.float64()) for lab in labels]), "evidence": pa.list_(evidence),
             "n_passages": pa.int64(), "model_version": pa.string(), "model_hash": pa.string(),
             "text_sha256": pa.string(), "lang": pa.string(), "errors": pa.list_(pa.string()),
             "warnings": pa.list_(pa.string())}
    missing = [f for f in RESERVED if f not in types]
    if missing:  # the record gained a field this module does not know how to type yet
        raise RuntimeError(f"record fields without a column type in narratives.serve.frames: {', '.join(missing)}")
    return pa.schema([(f, types[f]) for f in RESERVED])


def record_row(rec: dict, labels: list[str]) -> dict:
    """One record's fields as column values (see the module docstring); pass-through fields are left out.

    >>> rec = {"narratives": ["x"], "stances": {"x": "reports"}, "scores": {"x": 0.9, "y": 0.1},
    ...        "evidence": {"x": [{"start": 0, "end": 3, "score": 0.9, "stance": "reports",
    ...                            "stance_score": 0.2, "text": "abc"}]}}
    >>> row = record_row(rec, ["x", "y"])
    >>> row["stances"], row["evidence"][0]["narrative"]
    ({'x': 'reports', 'y': None}, 'x')
    """
    row = {f: rec.get(f) for f in RESERVED}
    row["stances"] = {lab: rec.get("stances", {}).get(lab) for lab in labels}
    row["scores"] = {lab: rec["scores"][lab] for lab in labels} if rec.get("scores") else None
    row["evidence"] = [{"narrative": lab, **e} for lab, ev in rec.get("evidence", {}).items() for e in ev]
    return row


def row_record(row: dict, extra: Iterable[str] = ()) -> dict:
    """The record ``narratives score`` writes, from a row of :func:`score_frame` (or of Ray or Spark):
    ``extra`` names the pass-through columns, which go after ``source`` as in the record.

    >>> row_record({"id": "a", "source": None, "narratives": [], "stance": "none", "stances": {"x": None},
    ...             "scores": {"x": 0.1}, "evidence": [], "errors": [], "warnings": [], "outlet": "X"},
    ...            extra=["outlet"])["stances"]
    {}
    """
    rec: dict = {"id": _plain(row.get("id")), "source": _plain(row.get("source"))}
    for k in extra:
        rec[k] = _plain(row.get(k))
    for f in RESERVED[2:]:
        rec[f] = _plain(row.get(f))
    rec["stances"] = {k: v for k, v in (rec["stances"] or {}).items() if v is not None}
    rec["scores"] = rec["scores"] or {}
    evidence: dict[str, list] = {}
    for e in rec["evidence"] or []:
        evidence.setdefault(e["narrative"], []).append({k: e[k] for k in EVIDENCE_FIELDS[1:]})
    rec["evidence"] = evidence
    for f in ("narratives", "errors", "warnings"):
        rec[f] = list(rec[f] or [])
    return rec


def _plain(v):
    """A value as JSON would hold it: numpy and Arrow scalars become Python ones, NaN becomes null."""
    if hasattr(v, "as_py"):  # an Arrow scalar
        v = v.as_py()
    if hasattr(v, "asDict"):  # a Spark Row (a struct collected without Arrow)
        v = v.asDict(recursive=True)
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()  # numpy scalars and arrays
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    try:
        import pandas as pd

        if v is pd.NaT or v is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def frame_records(frame) -> Iterator[dict]:
    """The records of a scored frame (:func:`score_frame`, or Ray's and Spark's output as pandas), in order.

    >>> import pandas as pd
    >>> out = score_frame(pd.DataFrame({"id": ["a"], "text": ["Rain."]}), model="baseline")
    >>> next(frame_records(out))["warnings"]
    []
    """
    extra = [c for c in frame.columns if c not in RESERVED]
    for row in frame.to_dict("records"):
        yield row_record(row, extra)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _items(frame, id_column: str, text_column: str, source_column: str | None) -> Iterator[dict]:
    for label, rid, text, source in zip(frame.index, frame[id_column] if id_column in frame.columns else frame.index,
                                        frame[text_column],
                                        frame[source_column] if source_column else [None] * len(frame)):
        rid = str(label) if _is_missing(rid) or rid == "" else str(_plain(rid))
        source = None if _is_missing(source) else str(source)
        if _is_missing(text):
            yield {"id": rid, "source": source, "error": f"row {label!r} (id {rid!r}): {text_column!r} is missing"}
        elif not isinstance(text, str):
            yield {"id": rid, "source": source,
                   "error": f"row {label!r} (id {rid!r}): {text_column!r} must be a string, got {type(text).__name__}"}
        else:
            yield {"id": rid, "text": text, "source": source, "extra": {}}


def _check_columns(columns, text_column: str, source_column: str | None) -> None:
    needed = [c for c in (text_column, source_column) if c is not None]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise KeyError(f"missing column {missing[0]!r} (columns: {', '.join(map(str, columns)) or 'none'})")


def passthrough(columns, id_column: str = "id", text_column: str = "text",
                source_column: str | None = None) -> dict[str, str]:
    """Input columns kept in the output, each with its output name (``input_<name>`` on a record field).

    >>> passthrough(["id", "text", "outlet", "stance"])
    {'outlet': 'outlet', 'stance': 'input_stance'}
    """
    return {c: f"input_{c}" if c in RESERVED else c for c in columns if c not in (id_column, text_column, source_column)}


def score_frame(frame, model=None, *, id_column: str = "id", text_column: str = "text",
                source_column: str | None = None, batch_passages: int = 256, max_evidence: int = 3,
                min_words: int = 5):
    """Score a pandas DataFrame of articles (``text_column``; ``id_column`` if present, else the index) and
    return a frame with the same index: ``id``, ``source`` (from ``source_column``, else null), the
    pass-through columns, then the record's fields (see the module docstring). A missing or non-string
    text gives an error row naming the row; the other rows are scored.

    >>> import pandas as pd
    >>> out = score_frame(pd.DataFrame({"text": ["Rain.", None]}, index=[7, 8]), model="baseline")
    >>> out.loc[8, "errors"]
    ["row 8 (id '8'): 'text' is missing"]
    """
    import pandas as pd

    _check_columns(frame.columns, text_column, source_column)
    clf, labels = _labels(model)
    keep = passthrough(frame.columns, id_column, text_column, source_column)
    recs = score_articles(_items(frame, id_column, text_column, source_column), model=clf,
                          batch_passages=batch_passages, max_evidence=max_evidence, min_words=min_words)
    rows = [record_row(r, labels) for r in recs]
    cols: dict[str, Any] = {"id": [r["id"] for r in rows], "source": [r["source"] for r in rows]}
    for src, dst in keep.items():
        cols[dst] = frame[src].reset_index(drop=True)  # values and dtype as they are
    for f in RESERVED[2:]:
        cols[f] = [r[f] for r in rows]
    out = pd.DataFrame(cols)
    out["n_passages"] = out["n_passages"].astype("int64")
    out.index = frame.index
    return out


def score_table(table, model=None, *, id_column: str = "id", text_column: str = "text",
                source_column: str | None = None, batch_passages: int = 256, max_evidence: int = 3,
                min_words: int = 5):
    """Score an Arrow table of articles: the result has the record's columns typed by
    :func:`record_schema`, and the pass-through columns with their own Arrow types, unconverted.

    >>> import pyarrow as pa
    >>> out = score_table(pa.table({"id": ["a"], "text": ["Rain."]}), model="baseline")
    >>> out.schema.field("evidence").type.value_type.names[:3]
    ['narrative', 'start', 'end']
    """
    import pyarrow as pa

    _check_columns(table.column_names, text_column, source_column)
    clf, labels = _labels(model)
    scored = score_frame(table.select([c for c in (id_column, text_column, source_column)
                                       if c is not None and c in table.column_names]).to_pandas(),
                         clf, id_column=id_column, text_column=text_column, source_column=source_column,
                         batch_passages=batch_passages, max_evidence=max_evidence, min_words=min_words)
    schema = record_schema(labels)
    arrays, fields = [], []
    for name in ("id", "source"):
        arrays.append(pa.array(scored[name].tolist(), type=schema.field(name).type))
        fields.append(schema.field(name))
    for src, dst in passthrough(table.column_names, id_column, text_column, source_column).items():
        arrays.append(table.column(src))
        fields.append(pa.field(dst, table.schema.field(src).type))
    for f in RESERVED[2:]:
        arrays.append(pa.array(scored[f].tolist(), type=schema.field(f).type))
        fields.append(schema.field(f))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def model_path(model: str | Path | None) -> str:
    """The directory of a model reference, resolved once on the driver so that every worker loads that one.

    >>> Path(model_path("baseline")).name
    'baseline'
    """
    from narratives.model.loading import resolve_model

    return str(resolve_model(model).resolve())
