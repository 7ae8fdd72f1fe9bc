"""The workbench's pages and JSON, mounted on the API's FastAPI app by :func:`mount_workbench`.

Pages (server-rendered Jinja2, autoescaped; the little JavaScript is in ``static/``): ``/`` (paste or drop
files), ``/wb/article/ID``, ``/wb/batch/ID`` (rows at ``/wb/api/batch/ID``), ``/wb/batch/ID/N`` (row N's
article), ``/wb/queue/ID``, ``/wb/corrections`` (and ``/wb/corrections/download``); ``POST /wb/open``
takes the form, ``POST /wb/api/label`` saves a correction. None is in the OpenAPI schema (they are not
the API); every answer is a page or JSON, never a 500.

>>> from narratives.serve.http import create_app
>>> paths = {r.path for r in create_app("baseline").routes}
>>> {"/", "/wb/open", "/wb/api/label"} <= paths
True
"""
from __future__ import annotations

import hashlib
import logging
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from .analysis import analyse_article, text_source
from .corrections import LANGS, CorrectionError, Corrections, conflict, labelled_index
from .opening import batch_row, display, evidence_article, open_submission
from .store import Store

HERE = Path(__file__).parent
log = logging.getLogger("narratives.serve.workbench")


class LabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["article", "queue"]
    id: str = Field(max_length=64)
    k: int = Field(ge=0)
    narratives: list[str] = Field(max_length=100)
    stance: Literal["promotes", "reports", "none"]
    lang: str = Field(max_length=16)
    review: dict[str, Literal["confirmed", "rejected", "added"]] = Field(default_factory=dict, max_length=100)


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    env.filters["pct"] = lambda v: f"{float(v):.2f}"
    return env


class Workbench:
    """The workbench of one app: its store, corrections file, templates and routes."""

    def __init__(self, current, lock, limits, corrections: str | Path | None = None):
        self.current, self.lock, self.limits = current, lock, limits
        self.store = Store()
        self.corrections = Corrections(corrections)
        self.env = _environment()
        self._labelled: dict | None = None  # the label folder's passages, read on the first save

    # -- helpers ---------------------------------------------------------------------------------------
    def labels(self, clf) -> list[dict]:
        """Narratives to show and label: the model's, then any the taxonomy adds, with names and colours.

        >>> from narratives.model import load_model
        >>> Workbench(None, None, None).labels(load_model("baseline"))[1]
        {'id': 'kosovo_precedent', 'name': 'Kosovo precedent', 'colour': 'c1'}
        """
        ids = list(clf.labels_)
        names: dict[str, str] = {}
        try:
            from narratives.model.paths import labels_dir
            from narratives.model.taxonomy import load_taxonomy

            tax = load_taxonomy(labels_dir() / "taxonomy.yaml")
            names = {n.id: n.name for n in tax.narratives}
            ids += [i for i in tax.ids if i not in ids]
        except Exception as exc:  # noqa: BLE001 - an installed package may have no label folder
            log.info("no taxonomy for names: %s", exc)
        return [{"id": i, "name": names.get(i, i.replace("_", " ")), "colour": f"c{n % 8}"} for n, i in enumerate(ids)]

    def page(self, template: str, request: Request, status: int = 200, **ctx) -> HTMLResponse:
        ctx.setdefault("title", "narratives workbench")
        ctx["n_corrections"] = len(self.corrections.records())
        try:
            ctx["model_version"] = self.current(request).model_hash_[:12]
        except Exception:  # noqa: BLE001
            ctx["model_version"] = "?"
        try:
            html = self.env.get_template(template).render(**ctx)
        except Exception as exc:  # noqa: BLE001 - a record of an unexpected shape: say so, never a 500
            log.exception("workbench: cannot render %s", template)
            html = self.env.get_template("message.html").render(
                **{**ctx, "heading": "This cannot be shown",
                   "message": f"A field of this record has an unexpected shape ({type(exc).__name__}: {exc})."})
            status = 422
        return HTMLResponse(html, status_code=status)

    def missing(self, request: Request, what: str) -> HTMLResponse:
        return self.page("message.html", request, 404, heading=f"No such {what}",
                         message=f"This {what} is not (or no longer) held by the server: the workbench keeps "
                                 "recent ones in memory only. Open it again from the start page.")

    def analyse(self, clf, items: list[dict]) -> list[dict]:
        """Score items under the app's scoring lock; each analysis gets the model's thresholds."""
        with self.lock:
            out = [analyse_article(clf, it) for it in items]
        for a, it in zip(out, items):
            a["thresholds"] = dict(clf.thresholds_)
            a["source"] = text_source(it["text"])
            a["title"] = display((it.get("extra") or {}).get("title")) or display(it.get("id"))
            a["evidence_only"] = False
        return out

    def keep_article(self, a: dict) -> str:
        return self.store.put("article", a, len(a["text"]))

    # -- opening files ---------------------------------------------------------------------------------
    def open_sync(self, clf, text: str, title: str, files: list[tuple[str, bytes]]) -> tuple[str, object]:
        """See :func:`.opening.open_submission`."""
        return open_submission(self, clf, text, title, files)

    # -- routes ----------------------------------------------------------------------------------------
    def add_routes(self, app) -> None:  # noqa: C901 - one closure per route
        """Register the pages on ``app``, none of them in the OpenAPI schema."""
        r = SimpleNamespace(get=partial(app.get, include_in_schema=False), post=partial(app.post, include_in_schema=False))

        @r.get("/", response_class=HTMLResponse)
        def index(request: Request):
            recent = {k: self.store.recent(k, 8) for k in ("article", "batch", "queue")}
            return self.page("index.html", request, recent=recent, limits=self.limits.__dict__, error=[])

        @r.post("/wb/open", response_class=HTMLResponse)
        async def open_files(request: Request):
            try:
                form = await request.form(max_files=self.limits.max_articles + 1, max_fields=10)
            except Exception as exc:  # noqa: BLE001 - multipart errors of every kind
                return self.page("index.html", request, 422, recent={}, limits=self.limits.__dict__,
                                 error=[f"The upload could not be read: {exc}"])
            text = form.get("text")
            title = form.get("title")
            files = []
            for i, f in enumerate(form.getlist("files")):
                if isinstance(f, UploadFile) and f.filename:
                    from .uploads import display_name

                    files.append((display_name(f.filename, i), await f.read()))
            clf = self.current(request)
            try:
                what, value = await run_in_threadpool(self.open_sync, clf, text if isinstance(text, str) else "",
                                                      title if isinstance(title, str) else "", files)
            except Exception as exc:  # noqa: BLE001 - never a 500: say what failed
                log.exception("workbench: open failed")
                what, value = "error", [f"Opening failed: {type(exc).__name__}: {exc}"]
            if what == "redirect":
                return RedirectResponse(str(value), status_code=303)
            return self.page("index.html", request, 422, recent={k: self.store.recent(k, 8)
                                                                 for k in ("article", "batch", "queue")},
                             limits=self.limits.__dict__, error=value)

        @r.get("/wb/article/{aid}", response_class=HTMLResponse)
        def article(request: Request, aid: str):
            a = self.store.get("article", aid)
            if a is None:
                return self.missing(request, "article")
            return self.article_page(request, a, {"kind": "article", "id": aid})

        @r.get("/wb/batch/{bid}", response_class=HTMLResponse)
        def batch(request: Request, bid: str):
            b = self.store.get("batch", bid)
            if b is None:
                return self.missing(request, "batch")
            data = {"id": bid, "labels": self.labels(self.current(request))}
            return self.page("batch.html", request, batch=b, data=data, title=f"{b['name']} - workbench")

        @r.get("/wb/api/batch/{bid}")
        def batch_rows(bid: str):
            b = self.store.get("batch", bid)
            if b is None:
                return JSONResponse({"error": {"status": 404, "message": "no such batch"}}, status_code=404)
            return {"rows": [batch_row(i, rec, b) for i, rec in enumerate(b["records"])]}

        @r.get("/wb/batch/{bid}/{row}", response_class=HTMLResponse)
        async def open_row(request: Request, bid: str, row: int):
            b = self.store.get("batch", bid)
            if b is None or not 0 <= row < len(b["records"]):
                return self.missing(request, "batch row")
            link = b["links"].get(row)
            if link and self.store.get("article", link) is not None:
                return RedirectResponse(f"/wb/article/{link}", status_code=303)
            rec = b["records"][row]
            item = b["texts"].get(display(rec.get("text_sha256"), 64))
            if item is not None:
                clf = self.current(request)
                a = (await run_in_threadpool(self.analyse, clf, [dict(item)]))[0]
                a["record"] = {**a["record"], **{k: v for k, v in rec.items() if k not in a["record"]}}
                a["scored_version"] = rec.get("model_version")
                b["links"][row] = self.keep_article(a)
                return RedirectResponse(f"/wb/article/{b['links'][row]}", status_code=303)
            a = evidence_article(rec)
            b["links"][row] = self.keep_article(a)
            return RedirectResponse(f"/wb/article/{b['links'][row]}", status_code=303)

        @r.get("/wb/queue/{qid}", response_class=HTMLResponse)
        def queue(request: Request, qid: str):
            q = self.store.get("queue", qid)
            if q is None:
                return self.missing(request, "queue")
            labels = self.labels(self.current(request))
            passages = []
            for k, t in enumerate(q["tasks"]):
                saved = self.corrections.get(t["text"])
                passages.append({"k": k, "scores": t["scores"], "hits": t["narratives"], "stance": t["stance"],
                                 "lang": t["lang"] if t["lang"] in LANGS else None, "saved": _saved(saved)})
            data = {"ref": {"kind": "queue", "id": qid}, "labels": labels, "passages": passages, "langs": LANGS,
                    "lang": None}
            return self.page("queue.html", request, queue=q, data=data, labels={lab["id"]: lab for lab in labels},
                             title=f"{q['name']} - workbench")

        @r.post("/wb/api/label")
        def label(body: LabelRequest, request: Request):
            try:
                rec = self.save_label(body, request)
            except CorrectionError as exc:
                return JSONResponse({"error": {"status": 422, "message": str(exc)}}, status_code=422)
            except LookupError as exc:
                return JSONResponse({"error": {"status": 404, "message": str(exc)}}, status_code=404)
            except OSError as exc:
                log.exception("workbench: cannot write corrections")
                return JSONResponse({"error": {"status": 507, "message": f"cannot write the corrections file: {exc}"}},
                                    status_code=507)
            if self._labelled is None:
                self._labelled = labelled_index()
            return {"saved": _saved(rec), "file": self.corrections.name, "count": len(self.corrections.records()),
                    "warning": conflict(self._labelled, rec)}

        @r.get("/wb/corrections", response_class=HTMLResponse)
        def corrections(request: Request):
            recs = list(reversed(self.corrections.records()))
            return self.page("corrections.html", request, records=recs, path=str(self.corrections.path),
                             name=self.corrections.name, title="Corrections - workbench")

        @r.get("/wb/corrections/download")
        def download():
            return Response(self.corrections.text(), media_type="application/x-ndjson",
                            headers={"content-disposition": f'attachment; filename="{self.corrections.name}"'})

    def article_page(self, request: Request, a: dict, ref: dict) -> HTMLResponse:
        labels = self.labels(self.current(request))
        by_id = {lab["id"]: lab for lab in labels}
        text = a["text"]
        rec = a["record"]
        passages = [{"k": p["k"], "scores": p["scores"], "hits": p["hits"], "stance": p["stance"],
                     "stance_score": p["stance_score"],
                     "saved": _saved(self.corrections.get(text[p["start"]:p["end"]]))} for p in a["passages"]]
        lang = rec.get("lang") if rec.get("lang") in LANGS else None
        data = {"ref": ref, "labels": labels, "passages": passages, "langs": LANGS, "lang": lang}
        found = []
        for lab in rec.get("narratives") or []:
            n = sum(lab in p["hits"] for p in a["passages"])
            score = (rec.get("scores") or {}).get(lab)
            found.append({"id": lab, "label": by_id.get(lab, {"name": lab, "colour": "c7"}),
                          "score": score if isinstance(score, (int, float)) else None,
                          "stance": display((rec.get("stances") or {}).get(lab), 16), "n": n})
        meta = [(k, display(rec.get(k))) for k in ("outlet", "date", "author", "url", "source")
                if rec.get(k) and rec.get(k) != "pasted"]
        return self.page("article.html", request, a=a, rec=rec, data=data, found=found, labels=by_id, meta=meta,
                         saved={p["k"] for p in passages if p["saved"]}, title=f"{a['title']} - workbench")

    def save_label(self, body: LabelRequest, request: Request) -> dict:
        ids = tuple(lab["id"] for lab in self.labels(self.current(request)))
        if body.kind == "article":
            a = self.store.get("article", body.id)
            if a is None or body.k >= len(a["passages"]):
                raise LookupError("no such article or passage (the server may have dropped it; open it again)")
            p = a["passages"][body.k]
            text = a["text"][p["start"]:p["end"]]
            rec = a["record"]
            start = p.get("orig_start") if a["evidence_only"] else p["start"]
            extra = {"article": rec.get("id"), "start": start,
                     "end": start + len(text) if isinstance(start, int) else None,
                     "model": {"narratives": p["hits"], "stance": p["stance"], "scores": p["scores"]},
                     "model_version": rec.get("model_version")}
            source = a["source"]
        else:
            q = self.store.get("queue", body.id)
            if q is None or body.k >= len(q["tasks"]):
                raise LookupError("no such queue or task (the server may have dropped it; open it again)")
            t = q["tasks"][body.k]
            text = t["text"]
            source = "wb-" + hashlib.sha256((t["source"] or text).encode("utf-8", "surrogatepass")).hexdigest()[:12]
            extra = {"article": t["article"], "model": {"narratives": t["narratives"], "stance": t["stance"],
                                                        "scores": t["scores"]}}
        extra["review"] = body.review
        return self.corrections.save(text, body.narratives, body.stance, body.lang, source, ids, extra)


def _saved(rec: dict | None) -> dict | None:
    return None if rec is None else {"narratives": rec["narratives"], "stance": rec["stance"], "lang": rec["lang"]}


def mount_workbench(app, current, lock, limits, corrections: str | Path | None = None,
                    token: str | None = None) -> Workbench:
    """Add the workbench to ``app`` (the API's FastAPI app): its routes at ``/`` and ``/wb/...``, its
    static files at ``/wb/static``, and the :class:`~.guard.Guard` (token, origin check, CSP) around the
    whole app. ``current(request)`` gives the model; ``lock`` serialises scoring with the API's.

    >>> from fastapi import FastAPI
    >>> from narratives.serve.http import Limits
    >>> wb = mount_workbench(FastAPI(), None, None, Limits())
    >>> wb.corrections.name.startswith("workbench-")
    True
    """
    from fastapi.staticfiles import StaticFiles

    from .guard import Guard

    wb = Workbench(current, lock, limits, corrections)
    wb.add_routes(app)
    app.mount("/wb/static", StaticFiles(directory=str(HERE / "static")), name="wb-static")
    app.add_middleware(Guard, token=token)
    app.state.workbench = wb
    return wb
