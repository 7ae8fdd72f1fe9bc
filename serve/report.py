"""``narratives report``: a self-contained HTML report of a scoring run (plots embedded, opens offline).

Sections: a summary (articles, errors, model versions), articles per narrative split by stance,
narratives per outlet and over time (when the records carry ``outlet`` and ``date`` fields), score
distributions, and the top evidence passages per narrative.

>>> html = render_report([{"id": "a", "narratives": ["x"], "stances": {"x": "promotes"}, "scores": {"x": 0.9},
...                        "evidence": {"x": [{"score": 0.9, "stance": "promotes", "text": "<b>t</b>"}]},
...                        "errors": [], "model_version": "v1"}])
>>> "&lt;b&gt;t&lt;/b&gt;" in html and "data:image/png;base64," in html
True
"""
from __future__ import annotations

import base64
import html
import textwrap
from collections import Counter, defaultdict
from pathlib import Path


def load_records(path: Path) -> list[dict]:
    """Records of a scoring output (JSONL, CSV or Parquet, as ``narratives score`` writes them); a line
    that is not a record is an error naming the line."""
    from .output import read_records

    return read_records(path)


def _png(fig) -> str:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _prevalence(records, labels, names: dict[str, str]) -> str:
    plt = _plt()
    prom = [sum(r.get("stances", {}).get(lab) == "promotes" for r in records) for lab in labels]
    rep = [sum(r.get("stances", {}).get(lab) == "reports" for r in records) for lab in labels]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    shown = [names.get(lab, lab) for lab in labels]
    ax.barh(shown, prom, label="promotes", color="#c0392b")
    ax.barh(shown, rep, left=prom, label="reports", color="#2980b9")
    ax.set_xlabel("articles")
    ax.legend(fontsize=8)
    ax.invert_yaxis()
    return _png(fig)


def _by_field(records, labels, field: str, names: dict[str, str] | None = None, top: int = 15) -> str:
    """Per value of ``field`` (an outlet): its articles' narratives split by stance, so an outlet that
    reports narratives (a fact-checker) is not read as one that promotes them."""
    names = names or {}
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        if r.get(field) is not None:
            counts[str(r[field])].update((lab, r.get("stances", {}).get(lab, "promotes"))
                                         for lab in r.get("narratives", []))
    if not counts:
        return ""
    keys = sorted(counts, key=lambda k: -sum(counts[k].values()))[:top]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(keys) + 1.2))
    prom = [sum(v for (lab, st), v in counts[k].items() if st == "promotes") for k in keys]
    rep = [sum(v for (lab, st), v in counts[k].items() if st == "reports") for k in keys]
    ax.barh(keys, prom, label="promotes a narrative", color="#c0392b")
    ax.barh(keys, rep, left=prom, label="reports a narrative (with distance)", color="#2980b9")
    ax.invert_yaxis()
    ax.set_xlabel("narratives found in the outlet's articles, by stance")
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    head = "".join(f"<th>{html.escape(names.get(lab, lab))}<br>promotes / reports</th>" for lab in labels)
    rows = "".join(f"<tr><td>{html.escape(k)}</td>" + "".join(
        f"<td>{counts[k][(lab, 'promotes')]} / {counts[k][(lab, 'reports')]}</td>" for lab in labels) + "</tr>"
        for k in keys)
    return _png(fig) + f"<table><tr><th>{html.escape(field)}</th>{head}</tr>{rows}</table>"


def _over_time(records, labels, names: dict[str, str]) -> str:
    by_month: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        d = r.get("date")
        if isinstance(d, str) and len(d) >= 7:
            by_month[d[:7]].update(r.get("narratives", []))
    if len(by_month) < 2:
        return ""
    plt = _plt()
    months = sorted(by_month)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for lab in labels:
        ax.plot(months, [by_month[m][lab] for m in months], marker="o", label=names.get(lab, lab))
    ax.set_ylabel("articles")
    ax.legend(fontsize=7, ncol=3)
    fig.autofmt_xdate()
    return _png(fig)


def _distributions(records, labels, names: dict[str, str]) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(labels), figsize=(2.2 * len(labels), 2.2), sharey=True, squeeze=False)
    for ax, lab in zip(axes[0], labels):
        ax.hist([r["scores"][lab] for r in records if lab in r.get("scores", {})], bins=20, range=(0, 1),
                color="#555")
        ax.set_title("\n".join(textwrap.wrap(names.get(lab, lab.replace("_", " ")), 22)), fontsize=8)
    return _png(fig)


def _evidence(records, labels, names: dict[str, str], per: int = 5) -> str:
    parts = []
    for lab in labels:
        hits = [(e["score"], r.get("id"), e) for r in records for e in r.get("evidence", {}).get(lab, [])]
        hits.sort(key=lambda h: -h[0])
        if not hits:
            continue
        rows = "".join(f"<tr><td>{html.escape(str(aid))}</td><td>{score:.3f}</td><td>{html.escape(e['stance'])}</td>"
                       f"<td>{html.escape(e['text'])}</td></tr>" for score, aid, e in hits[:per])
        parts.append(f"<h3>{html.escape(names.get(lab, lab))} <small>({html.escape(lab)})</small></h3>"
                     "<table><tr><th>article</th><th>score</th><th>stance</th>"
                     f"<th>passage</th></tr>{rows}</table>")
    return "".join(parts)


def render_report(records: list[dict], title: str = "Narrative report", names: dict[str, str] | None = None) -> str:
    """The whole report as one HTML string (no external resources); ``names`` maps narrative ids to the
    names shown (the taxonomy's), else the ids are shown."""
    names = names or {}
    ok = [r for r in records if not r.get("errors")]
    labels = list(next((r["scores"] for r in ok if r.get("scores")), {}))
    versions = Counter(r.get("model_version") for r in records)
    sections = [f"<p>{len(records)} articles, {len(records) - len(ok)} with errors; model version(s): "
                f"{html.escape(', '.join(f'{v} ({n})' for v, n in versions.items()))}.</p>"]
    if ok and labels:
        sections += ["<h2>Articles per narrative</h2>", _prevalence(ok, labels, names)]
        outlet = _by_field(ok, labels, "outlet", names)
        if outlet:
            sections += ["<h2>Narratives per outlet, by stance</h2>", outlet]
        time_plot = _over_time(ok, labels, names)
        if time_plot:
            sections += ["<h2>Narratives over time (by month)</h2>", time_plot]
        sections += ["<h2>Score distributions</h2>", _distributions(ok, labels, names),
                     "<h2>Top evidence passages</h2>", _evidence(ok, labels, names)]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
             "vertical-align:top;font-size:13px}th{background:#f3f3f3}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>")
