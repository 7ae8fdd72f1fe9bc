"""Opening what the start page receives: pasted text, article files (scored here, within the API's limits),
``narratives score`` outputs (batches; with their article files, readable in full) and ``narratives
suggest`` queues; and the shapes the pages show of them (batch rows, evidence-only articles).

>>> display(["a"])
"['a']"
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from narratives.serve.work import count_passages

from .analysis import analyse_text_layout, text_source
from .uploads import kind_of, read_flat_scores, read_queue, read_scores, read_uploaded_articles


def display(v, limit: int = 300) -> str:
    """A record field for display: a string, at most ``limit`` characters ('' for None).

    >>> display(None), display(12), display("abcdef", 3)
    ('', '12', 'abc')
    """
    return "" if v is None else (v if isinstance(v, str) else str(v))[:limit]


def open_submission(wb, clf, text: str, title: str, files: list[tuple[str, bytes]]) -> tuple[str, object]:
    """``("redirect", url)`` or ``("error", [messages])`` for one submission of the start page (``wb``: the
    :class:`~.routes.Workbench`, for its limits, store and scoring).

    >>> from narratives.serve.http import Limits
    >>> from narratives.serve.workbench.routes import Workbench
    >>> open_submission(Workbench(None, None, Limits()), None, "  ", "", [])
    ('error', ["Paste an article's text or choose files to open."])
    """
    from narratives.serve.readers import SUPPORTED

    lim = wb.limits
    if not files:
        if not text.strip():
            return "error", ["Paste an article's text or choose files to open."]
        if len(text) > lim.max_article_chars:
            return "error", [f"The pasted text has {len(text):,} characters; the limit is {lim.max_article_chars:,}."]
        if count_passages([text]) > lim.max_passages:
            return "error", [f"The pasted text has {count_passages([text]):,} passages; the limit is "
                             f"{lim.max_passages:,} (as /v1/score)."]
        item = {"id": title.strip() or "Pasted article", "text": text, "source": "pasted",
                "extra": {"title": title.strip()} if title.strip() else {}}
        return "redirect", f"/wb/article/{wb.keep_article(wb.analyse(clf, [item])[0])}"
    problems: list[str] = []
    kinds = [kind_of(name, data[:65536]) for name, data in files]
    if "queue" in kinds and len(files) > 1:
        return "error", ["Open a suggest queue (.json) on its own, not with other files."]
    with tempfile.TemporaryDirectory(prefix="narratives-wb-") as tmp:
        items: list[dict] = []
        scores: list[dict] = []
        for i, (name, data) in enumerate(files):
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED | {".json"}:
                problems.append(f"{name}: unsupported file type {suffix or '(none)'} "
                                f"(use {', '.join(sorted(SUPPORTED | {'.json'}))})")
                continue
            path = Path(tmp) / f"{i:03d}{suffix}"
            path.write_bytes(data)
            if suffix == ".parquet":
                kinds[i] = kind_of(name, b"", path)
            if kinds[i] == "queue":
                tasks, bad = read_queue(path, name)
                if not tasks:
                    return "error", bad or [f"{name}: no tasks"]
                qid = wb.store.put("queue", {"name": name, "tasks": tasks, "problems": bad},
                                     sum(len(t["text"]) for t in tasks))
                return "redirect", f"/wb/queue/{qid}"
            if kinds[i] == "scores":
                scores += read_scores(path, name) if suffix in (".jsonl", ".ndjson") else read_flat_scores(path, name)
            else:
                items += read_uploaded_articles(path, name)
    names = ", ".join(n for n, _ in files[:3]) + (f" and {len(files) - 3} more files" if len(files) > 3 else "")
    if scores:
        too_long = [it for it in items if "error" not in it and count_passages([it["text"]]) > lim.max_passages]
        problems += [f"{it['source']}: over {lim.max_passages:,} passages (the limit per request); its rows show "
                     "the evidence only" for it in too_long]
        texts = {hashlib.sha256(it["text"].encode("utf-8", "surrogatepass")).hexdigest(): it
                 for it in items if "error" not in it and it not in too_long}
        size = sum(len(t["text"]) for t in texts.values())
        bid = wb.store.put("batch", {"name": names, "records": scores, "texts": texts, "links": {},
                                       "problems": problems}, size)
        return "redirect", f"/wb/batch/{bid}"
    if not items:
        return "error", problems or ["No article found in the files."]
    if len(items) > lim.max_articles:
        return "error", problems + [
            f"{len(items)} articles in these files; the workbench scores at most {lim.max_articles} per "
            "upload (as /v1/score). Score a larger set with `narratives score FILES -o scores.jsonl` and "
            "open scores.jsonl here, with the article files beside it to read them in full."]
    n = count_passages([it["text"] for it in items if "error" not in it])
    if n > lim.max_passages:
        return "error", problems + [
            f"{n:,} passages in these articles; the workbench scores at most {lim.max_passages:,} per upload "
            "(as /v1/score). Open fewer or shorter articles at a time, or score them with `narratives score`."]
    good: list[tuple[int, dict]] = []
    records: list[dict] = []
    links: dict[int, str] = {}
    for it in items:
        if "error" not in it and len(it["text"]) > lim.max_article_chars:
            it = {"id": it.get("id"), "source": it.get("source"),
                  "error": f"{it.get('source')}: text over {lim.max_article_chars:,} characters; skipped"}
        if "error" in it:
            records.append({"id": it.get("id"), "source": it.get("source"), "narratives": [], "scores": {},
                            "stances": {}, "evidence": {}, "stance": None, "errors": [it["error"]]})
        else:
            good.append((len(records), it))
            records.append({})
    for (row, _), a in zip(good, wb.analyse(clf, [it for _, it in good])):
        records[row] = a["record"]
        links[row] = wb.keep_article(a)
    if len(records) == 1 and links and not problems:
        return "redirect", f"/wb/article/{links[0]}"
    bid = wb.store.put("batch", {"name": names, "records": records, "texts": {}, "links": links,
                                   "problems": problems})
    return "redirect", f"/wb/batch/{bid}"


def evidence_article(rec: dict) -> dict:
    """An article view of a scores record without text: its evidence passages, one per paragraph.

    >>> a = evidence_article({"evidence": {"x": [{"start": 9, "end": 12, "score": 0.9, "text": "abc"}]}})
    >>> a["text"], a["passages"][0]["hits"], a["evidence_only"]
    ('abc', ['x'], True)
    """
    seen: dict[tuple, dict] = {}
    for lab, evs in (rec.get("evidence") or {}).items():
        for ev in evs if isinstance(evs, list) else []:
            if not isinstance(ev, dict) or not isinstance(ev.get("text"), str):
                continue
            start = ev.get("start") if isinstance(ev.get("start"), int) else None
            p = seen.setdefault((start, ev["text"]), {"text": ev["text"], "orig": start, "scores": {}, "hits": [],
                                      "stance": display(ev.get("stance")), "stance_score": ev.get("stance_score")})
            if isinstance(ev.get("score"), (int, float)):
                p["scores"][str(lab)] = ev["score"]
            p["hits"].append(str(lab))
    ordered = sorted(seen.values(), key=lambda p: p["orig"] if isinstance(p["orig"], int) else 0)
    text, spans, passages = "", [], []
    for k, p in enumerate(ordered):
        start = len(text) + (2 if text else 0)
        text = text + ("\n\n" if text else "") + p["text"]
        spans.append((start, len(text)))
        hits = sorted(p["hits"], key=lambda lab: -p["scores"].get(lab, 0))
        passages.append({"k": k, "start": start, "end": len(text), "words": len(p["text"].split()),
                         "hits": hits, "scores": p["scores"], "stance": p["stance"],
                         "stance_score": p["stance_score"], "orig_start": p["orig"]})
    sha = display(rec.get("text_sha256"), 64)
    return {"record": rec, "passages": passages, "layout": analyse_text_layout(text, spans), "text": text,
            "thresholds": {}, "source": f"wb-{sha[:12]}" if sha else text_source(text),
            "title": display(rec.get("title")) or display(rec.get("id")), "evidence_only": True}


def batch_row(i: int, rec: dict, batch: dict) -> dict:
    """The batch table's row for record ``i`` (every field a display string, list or number).

    >>> batch_row(0, {"id": 7, "narratives": ["x"], "scores": {"x": 0.8}}, {"links": {}, "texts": {}})["top"]
    0.8
    """
    raw = rec.get("scores")
    scores = {str(k): v for k, v in (raw if isinstance(raw, dict) else {}).items() if isinstance(v, (int, float))}
    raw = rec.get("narratives")
    narr = [n for n in (raw if isinstance(raw, list) else []) if isinstance(n, str)]
    raw = rec.get("stances")
    stances: dict = raw if isinstance(raw, dict) else {}
    top = max((scores.get(n, 0) for n in narr), default=max(scores.values(), default=0))
    raw = rec.get("errors")
    errors: list = raw if isinstance(raw, list) else []
    return {"i": i, "id": display(rec.get("id"), 200), "title": display(rec.get("title") or rec.get("headline"), 200),
            "outlet": display(rec.get("outlet"), 100), "date": display(rec.get("date") or rec.get("published"), 40),
            "lang": display(rec.get("lang"), 16), "narratives": narr, "stance": display(rec.get("stance"), 16),
            "stances": {str(k): display(v, 16) for k, v in stances.items()}, "scores": scores, "top": top,
            "errors": [display(e) for e in errors][:3], "model_version": display(rec.get("model_version"), 16),
            "full": i in batch["links"] or display(rec.get("text_sha256"), 64) in batch["texts"]}
