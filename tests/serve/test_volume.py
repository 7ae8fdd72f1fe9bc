"""Scoring at volume: HTML and Parquet inputs, CSV and Parquet outputs, resuming a killed run, Predictor."""
import json
import pickle
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.serve.html import html_to_text
from narratives.serve.predictor import Predictor
from narratives.serve.readers import read_articles

PAGE = """<!doctype html><html><head><title>Kosovo and Crimea</title><script>var x = "<p>no</p>";</script></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<div class="cookie-banner">We use cookies.</div>
<main><article><header><h1>Kosovo set the rules</h1></header>
<p>When Pristina declared independence, the West called it <em>unique</em>.</p>
<p>Crimea followed the same path &amp; now they call it a crime.</p>
<div class="share-buttons">Share on X</div><aside>Related: ten other stories</aside></article></main>
<footer>© Example Media</footer></body></html>"""


def test_html_keeps_the_article_and_drops_boilerplate(tmp_path):
    text, title = html_to_text(PAGE)
    assert title == "Kosovo and Crimea"
    assert text.split("\n\n") == ["Kosovo set the rules",
                                  "When Pristina declared independence, the West called it unique.",
                                  "Crimea followed the same path & now they call it a crime."]
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    (item,) = read_articles([str(tmp_path)])
    assert item["id"] == "page" and item["extra"] == {"title": "Kosovo and Crimea"}


def test_parquet_in_csv_and_parquet_out(tiny_model, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime

    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["Crimea did what Kosovo did.", "Rain in Sarajevo."],
                             "date": [datetime.date(2026, 1, 5), None]}), tmp_path / "in.parquet")
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "bad.parquet")
    items = list(read_articles([str(tmp_path / "in.parquet"), str(tmp_path / "bad.parquet")]))
    assert [i["id"] for i in items[:2]] == ["p1", "p2"] and items[0]["extra"] == {"date": "2026-01-05"}
    assert "missing column 'text' (columns: body)" in items[2]["error"]
    for ext in ("csv", "parquet"):
        out = tmp_path / f"out.{ext}"
        r = CliRunner().invoke(main, ["score", str(tmp_path / "in.parquet"), "--model", str(tiny_model), "-o", str(out),
                                      "--no-progress"])
        assert r.exit_code == 0, r.output
        if ext == "csv":
            import csv

            rows = list(csv.DictReader(open(out, encoding="utf-8")))
        else:
            rows = pq.read_table(out).to_pylist()
        assert [row["id"] for row in rows] == ["p1", "p2"]
        assert {"score_genocide_denial", "evidence", "model_hash", "fields", "date"} <= set(rows[0])
        assert rows[0]["date"] == "2026-01-05" and rows[0]["fields"] == ""  # passed through as its own column
        assert rows[1]["date"] in (None, "")
        # and `narratives report` reads what `score` wrote, with the field back in the record
        from narratives.serve.report import load_records

        recs = load_records(out)
        assert [r["id"] for r in recs] == ["p1", "p2"] and recs[0]["date"] == "2026-01-05"
        assert recs[0]["scores"].keys() == set(json.loads((tiny_model / "config.json").read_text())["labels"])
        r = CliRunner().invoke(main, ["report", str(out)])
        assert r.exit_code == 0 and out.with_suffix(".html").exists(), r.output


def test_resume_after_a_real_kill_never_loses_or_duplicates_a_record(tiny_model, tmp_path):
    src = tmp_path / "many.jsonl"
    with open(src, "w") as fh:
        for i in range(4000):
            fh.write(json.dumps({"id": f"a{i}", "text": f"Article {i}. Crimea did what Kosovo did.\n\nRain again."}) + "\n")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "narratives.serve.cli", "score", str(src), "-o", str(out), "--model", str(tiny_model),
           "--no-progress", "--batch-size", "16"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(out, "ab") as fh:  # as if the kill had cut a record in half
        fh.write(b'{"id": "a99999", "sour')
    partial = out.read_text().count("\n")
    assert 0 < partial < 4000
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{partial} already done" in r.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert len(ids) == 4000 and set(ids) == {f"a{i}" for i in range(4000)}
    r = CliRunner().invoke(main, ["score", str(src), "-o", str(tmp_path / "o.csv"), "--resume", "--model", str(tiny_model)])
    assert r.exit_code == 2 and "--resume needs a JSONL output" in r.output


def test_predictor_pickles_and_scores_lists_dicts_and_dataframes(tiny_model):
    pd = pytest.importorskip("pandas")
    p = pickle.loads(pickle.dumps(Predictor(model=tiny_model)))
    assert p._clf is None  # loads lazily, in the worker
    frame = pd.DataFrame({"id": [1, 2], "text": ["Crimea did what Kosovo did.", None]})
    out = p(frame)
    assert list(out["id"]) == [1, 2] and out["stance"].iloc[1] == "none"
    assert {"score_kosovo_precedent", "model_version"} <= set(out.columns)
    cols = p({"text": ["Crimea did what Kosovo did."], "outlet": ["X"]})
    assert cols["outlet"] == ["X"] and len(cols["narratives"]) == 1
    assert len(p(["a", "b"])) == 2
    assert len(list(p.map_in_pandas(iter([frame, frame])))) == 2
    assert pickle.loads(pickle.dumps(p))._clf is None  # a used predictor still ships without its model
    with pytest.raises(TypeError, match="a batch must be"):
        p(42)


def test_report_is_self_contained_and_escapes_text(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    with open(src, "w") as fh:
        for i, (outlet, date) in enumerate([("A", "2026-01-02"), ("B", "2026-02-03"), ("A", "2026-03-04")]):
            fh.write(json.dumps({"id": f"r{i}", "text": "Crimea did what <Kosovo> did, said the West.\n\nMore text here.",
                                 "outlet": outlet, "date": date}) + "\n")
    scores = tmp_path / "scores.jsonl"
    assert CliRunner().invoke(main, ["score", str(src), "-o", str(scores), "--model", str(tiny_model),
                                     "--no-progress"]).exit_code == 0
    r = CliRunner().invoke(main, ["report", str(scores)])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "scores.html").read_text()
    assert "Narratives per outlet" in page and "Narratives over time" in page and "Top evidence passages" in page
    assert "&lt;Kosovo&gt;" in page and "<Kosovo>" not in page
    assert "http://" not in page and "https://" not in page and page.count("data:image/png;base64,") >= 3
    (tmp_path / "junk.jsonl").write_text('{"not": "a record"}\n')
    r = CliRunner().invoke(main, ["report", str(tmp_path / "junk.jsonl")])
    assert r.exit_code == 1 and "junk.jsonl:1: not a record written by narratives score" in r.output


def test_csv_output_keeps_every_field_and_reads_back_whole(tmp_path):
    """Fields of the first record become columns; a later record's new field lands in `fields`; read back,
    each record has all its fields again."""
    from narratives.serve.output import Writer, read_records

    model = {"model_version": "0123456789ab", "model_hash": "0123456789ab" * 4, "text_sha256": "00" * 32, "lang": "en"}
    recs = [{"id": "a", "source": "in.jsonl:1", "narratives": ["x"], "stance": "promotes", "stances": {"x": "promotes"},
             "scores": {"x": 0.9}, "n_passages": 1, **model, "errors": [], "warnings": [],
             "evidence": {"x": [{"start": 0, "end": 3, "score": 0.9, "stance": "promotes", "stance_score": 0.8,
                                 "text": "=cmd"}]},
             "outlet": "Daily, \"quoted\"", "tags": ["a", "b"]},
            {"id": "b", "source": "in.jsonl:2", "narratives": [], "stance": "none", "stances": {}, "scores": {"x": 0.1},
             "evidence": {}, "n_passages": 1, **model, "errors": [], "warnings": [], "outlet": "-Weekly",
             "url": "https://e.org/b"}]
    for ext in ("csv", "parquet"):
        out = tmp_path / f"o.{ext}"
        w = Writer(out, ext, ["x"])
        for r in recs:
            w.write(r)
        w.close()
        back = read_records(out)
        assert back[0]["outlet"] == 'Daily, "quoted"' and back[0]["tags"] == '["a", "b"]'  # JSON text
        assert back[1]["outlet"] == "-Weekly" and back[1]["url"] == "https://e.org/b"  # CSV-injection guard undone
        assert back[0]["evidence"] == recs[0]["evidence"] and back[1]["narratives"] == []
    empty = tmp_path / "empty.csv"
    Writer(empty, "csv", ["x"]).close()
    assert empty.read_text(encoding="utf-8").startswith("id,source,") and read_records(empty) == []
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv: line 2: not a record"):
        read_records(tmp_path / "bad.csv")
