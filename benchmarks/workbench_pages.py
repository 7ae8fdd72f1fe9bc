"""What the workbench adds to scoring, measured against scoring the same input in the same run.

    python benchmarks/workbench_pages.py --model baseline --words 10000 --rows 5000 [--out bench.json]

Figures (each the best of ``--repeats`` runs after a warm-up), through FastAPI's test client on one app:

* ``article``: pasting a ``--words``-word article (the team-written samples' paragraphs, cycled) and
  getting its page (``POST /wb/open``, then ``GET /wb/article/ID``: scoring, every passage's scores, the
  layout and the rendered HTML), against ``score``: ``score_articles`` on the same text alone. The ratio
  ``article / score`` is the page's overhead on the scoring it needs anyway (with the default ensemble
  the scoring dominates even more than with the baseline measured here).
* ``batch``: opening a ``--rows``-row scores file and getting its page and rows JSON (``POST /wb/open``,
  ``GET /wb/batch/ID``, ``GET /wb/api/batch/ID``), against ``parse``: ``json.loads`` of every line of
  the same file. The page size (HTML) and the rows JSON size are reported too: the browser renders 50
  rows at a time, so these bound its work.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _article(words: int) -> str:
    paras = [p for f in sorted((ROOT / "data" / "samples").glob("*.txt"))
             for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 8]
    out, n, i = [], 0, 0
    while n < words:
        out.append(paras[i % len(paras)])
        n += len(paras[i % len(paras)].split())
        i += 1
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="baseline")
    ap.add_argument("--words", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=5_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from fastapi.testclient import TestClient

    from narratives.serve.articles import score_articles
    from narratives.serve.http import create_app

    text = _article(args.words)
    tmp = Path(tempfile.mkdtemp())
    app = create_app(args.model, corrections=tmp / "corrections")
    result: dict = {"model": args.model, "words": len(text.split()), "rows": args.rows, "python": sys.version.split()[0]}
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        clf = app.state.model

        def page():
            r = c.post("/wb/open", data={"text": text}, follow_redirects=True)
            assert r.status_code == 200, r.text[:300]
            result["article_html_bytes"] = len(r.content)

        result["score_s"] = _best(lambda: list(score_articles([{"id": "a", "text": text}], model=clf)), args.repeats)
        result["article_s"] = _best(page, args.repeats)
        result["article_over_score"] = result["article_s"] / result["score_s"]

        one = list(score_articles([{"id": "a", "text": _article(60), "extra": {"outlet": "O", "date": "2026-01-02"}}],
                                  model=clf))[0]
        lines = "".join(json.dumps({**one, "id": f"a{i}", "title": f"Report {i}"}) + "\n" for i in range(args.rows))
        result["scores_file_bytes"] = len(lines.encode())

        def batch():
            r = c.post("/wb/open", files=[("files", ("scores.jsonl", lines.encode(), "application/json"))],
                       follow_redirects=False)
            assert r.status_code == 303, (r.status_code, r.text[:300])  # 413 past the 10 MB body limit
            bid = r.headers["location"].rsplit("/", 1)[1]
            assert c.get(f"/wb/batch/{bid}").status_code == 200
            rows = c.get(f"/wb/api/batch/{bid}")
            result["rows_json_bytes"] = len(rows.content)

        result["parse_s"] = _best(lambda: [json.loads(x) for x in lines.splitlines()], args.repeats)
        result["batch_s"] = _best(batch, args.repeats)
        result["batch_over_parse"] = result["batch_s"] / result["parse_s"]
    for k, v in result.items():
        print(f"{k:>20}: {v:.3f}" if isinstance(v, float) else f"{k:>20}: {v}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
