"""The workbench's server side, through FastAPI's test client: escaping, CSP, token, origin check, limits,
uploads (articles, scores files, suggest queues, bad files) and the corrections file."""
import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from narratives.serve.articles import score_articles
from narratives.serve.http import Limits, create_app
from narratives.serve.workbench.corrections import Corrections

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "workbench"
ARTICLE = (FIX / "article_en.txt").read_text(encoding="utf-8")
PAYLOADS = ['<script>alert(1)</script>', '<img src=x onerror="alert(2)">', '<a href="javascript:alert(3)">x</a>',
            '" onmouseover="alert(4)" x="', "</script><script>alert(5)</script>"]


@pytest.fixture()
def client(tmp_path):
    app = create_app("baseline", limits=Limits(max_articles=5, max_article_chars=20_000),
                     corrections=tmp_path / "corr")
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def _open(client, **form):
    return client.post("/wb/open", data=form, follow_redirects=False)


def _article(client, text=ARTICLE, title=""):
    r = _open(client, text=text, title=title)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def _data(html: str) -> dict:
    return json.loads(html.split('id="wb-data">', 1)[1].split("</script>", 1)[0])


def _no_raw_payload(html: str) -> None:
    body = html.split("<main>", 1)[1]
    assert "<script>alert" not in body and "<img" not in body and 'href="javascript' not in body
    assert 'onmouseover="alert' not in body
    assert len(re.findall(r"<script", html)) == 2  # the JSON data block and the page's own script file


def test_start_page_and_static_files_carry_the_policy(client):
    for path in ("/", "/wb/static/wb.js", "/wb/static/wb.css", "/wb/corrections", "/healthz"):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    page = client.get("/").text
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere
    assert "content-security-policy" not in client.get("/docs").headers  # FastAPI's own docs page


def test_article_page_escapes_text_title_and_ids(client):
    text = "\n\n".join(f"{p} Kosovo set the precedent for Crimea, the speaker said on the radio today." for p in PAYLOADS)
    aid = _article(client, text, title=PAYLOADS[0])
    html = client.get(f"/wb/article/{aid}").text
    _no_raw_payload(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = html.split('id="wb-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and _data(html)["ref"] == {"kind": "article", "id": aid}


def test_uploaded_records_escape_ids_and_extra_fields(client, tmp_path):
    lines = [json.dumps({"id": p, "text": f"Crimea did what Kosovo did. {p}", "outlet": p, p: p}) for p in PAYLOADS[:4]]
    r = client.post("/wb/open", files=[("files", ("a<b>.jsonl", "\n".join(lines).encode(), "application/json"))],
                    follow_redirects=False)
    assert r.status_code == 303
    bid = r.headers["location"].rsplit("/", 1)[1]
    _no_raw_payload(client.get(f"/wb/batch/{bid}").text)
    rows = client.get(f"/wb/api/batch/{bid}").json()["rows"]
    assert [row["id"] for row in rows] == PAYLOADS[:4] and rows[0]["outlet"] == PAYLOADS[0]
    html = client.get(f"/wb/batch/{bid}/1", follow_redirects=True).text
    _no_raw_payload(html)


def test_token_cookie_and_bearer(tmp_path):
    token = "secret-token-0123456789"
    app = create_app("baseline", corrections=tmp_path, token=token)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/", headers={"accept": "text/html"}).status_code == 401
        assert c.get("/healthz").json()["error"]["status"] == 401
        assert c.get("/wb/static/wb.js").status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/healthz", headers={"authorization": f"Bearer {token}"}).status_code == 200
        r = c.get(f"/wb/corrections?token={token}&x=1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/wb/corrections?x=1"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/").status_code == 200  # the cookie now rides along


def test_cross_origin_posts_refused(client):
    r = client.post("/wb/open", data={"text": ARTICLE}, headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/wb/open", data={"text": ARTICLE}, headers={"sec-fetch-site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/v1/predict", json={"texts": ["x"]}, headers={"origin": "null"})
    assert r.status_code == 403
    r = client.post("/wb/open", data={"text": ARTICLE}, headers={"sec-fetch-site": "same-origin"}, follow_redirects=False)
    assert r.status_code == 303


def test_limits_match_the_api(client):
    r = _open(client, text="word " * 5000)  # 25,000 characters, over this app's 20,000
    assert r.status_code == 422 and "the limit is 20,000" in r.text
    files = [("files", (f"a{i}.txt", b"Some text here.", "text/plain")) for i in range(6)]
    r = client.post("/wb/open", files=files, follow_redirects=False)
    assert r.status_code == 422 and "at most 5 per upload" in r.text
    r = client.post("/wb/open", content=b"x" * 10_000_001, headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    r = _open(client, text="  ")
    assert r.status_code == 422 and "Paste an article" in r.text
    many = "\n\n".join(f"Paragraph {i}." for i in range(1001))  # 1,001 passages, over the API's 1,000
    r = _open(client, text=many)
    assert r.status_code == 422 and "1,001 passages; the limit is 1,000" in r.text
    files = [("files", (f"a{i}.txt", many[: len(many) // 3].encode(), "text/plain")) for i in range(4)]
    r = client.post("/wb/open", files=files, follow_redirects=False)
    assert r.status_code == 422 and "the workbench scores at most 1,000 per upload" in r.text


def test_bad_files_never_stop_the_batch(client):
    good = ("files", ("good.txt", ARTICLE.encode(), "text/plain"))
    bad_jsonl = ("files", ("mixed.jsonl", b'{"id": "ok", "text": "Calm day."}\n{broken\n', "application/json"))
    bad_type = ("files", ("notes.docx", b"PK..", "application/octet-stream"))
    not_utf8 = ("files", ("latin.txt", "Beograd \u010c".encode("cp1250"), "text/plain"))
    r = client.post("/wb/open", files=[good, bad_jsonl, bad_type, not_utf8], follow_redirects=False)
    assert r.status_code == 303
    bid = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/wb/batch/{bid}").text
    assert "notes.docx: unsupported file type .docx" in page
    rows = client.get(f"/wb/api/batch/{bid}").json()["rows"]
    assert [r["id"] for r in rows[:2]] == ["good", "ok"]
    errors = [e for r in rows for e in r["errors"]]
    assert any(e.startswith("mixed.jsonl:2: malformed JSON") for e in errors)
    assert any(e.startswith("latin.txt: not valid UTF-8") for e in errors)
    assert not any("narratives-wb-" in e for e in errors)  # the temp folder is never shown


def test_corrections_saved_replaced_and_importable(client, tmp_path):
    aid = _article(client)
    html = client.get(f"/wb/article/{aid}").text
    data = _data(html)
    hit = next(p for p in data["passages"] if "kosovo_precedent" in p["hits"])
    quiet = next(p for p in data["passages"] if not p["hits"])
    body = {"kind": "article", "id": aid, "k": hit["k"], "narratives": ["kosovo_precedent"], "stance": "reports",
            "lang": "en", "review": {"kosovo_precedent": "confirmed"}}
    assert client.post("/wb/api/label", json=body).status_code == 200
    body["stance"] = "promotes"  # labelled again: the record is replaced, not doubled
    assert client.post("/wb/api/label", json=body).json()["count"] == 1
    r = client.post("/wb/api/label", json={**body, "k": quiet["k"], "narratives": [], "stance": "none", "review": {}})
    assert r.json()["count"] == 2
    for bad, field in [({"narratives": ["no_such"]}, "narratives"), ({"stance": "none"}, "stance"),
                       ({"lang": "hbs-Latn"}, "lang"), ({"lang": "../../x"}, "lang")]:
        r = client.post("/wb/api/label", json={**body, **bad})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith(field + ":")
    assert client.post("/wb/api/label", json={**body, "path": "/tmp/x"}).status_code == 422  # unknown field
    assert client.post("/wb/api/label", json={**body, "k": 999}).status_code == 404
    assert client.post("/wb/api/label", json={**body, "id": "../../../etc"}).status_code == 404
    written = list((tmp_path / "corr").iterdir())
    assert len(written) == 1 and written[0].name.startswith("workbench-") and written[0].suffix == ".jsonl"
    assert client.get("/wb/corrections/download").text == written[0].read_text(encoding="utf-8")
    recs = [json.loads(x) for x in written[0].read_text(encoding="utf-8").splitlines()]
    assert recs[0]["stance"] == "promotes" and recs[0]["source"] == recs[1]["source"]
    from narratives.train.importers import import_labels

    labels = tmp_path / "labels"
    labels.mkdir()
    for f in [ROOT / "data" / "labels" / "taxonomy.yaml", *(ROOT / "data" / "labels").glob("team_*.jsonl")]:
        shutil.copy(f, labels / f.name)
    res = import_labels(written[0], labels, dry_run=True)
    assert [r["narratives"] for r in res.records] == [["kosovo_precedent"], []]
    assert {r["split"] for r in res.records} <= {"train", "dev"}


def test_suggest_queue_opens_and_labels(client, tmp_path):
    tasks = [{"data": {"text": "Crimea only did what Kosovo was allowed to do, a guest said.", "source": "f.jsonl#a1",
                       "article_id": "a1", "lang": "en"},
              "predictions": [{"model_version": "x", "score": 0.9, "result": [
                  {"from_name": "narratives", "to_name": "text", "type": "choices", "value": {"choices": ["kosovo_precedent"]}},
                  {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["promotes"]}}]}],
              "meta": {"scores": {"kosovo_precedent": 0.51}}},
             {"data": {"text": PAYLOADS[0]}}, {"nodata": 1}]
    r = client.post("/wb/open", files=[("files", ("tasks.json", json.dumps(tasks).encode(), "application/json"))],
                    follow_redirects=False)
    assert r.status_code == 303 and "/wb/queue/" in r.headers["location"]
    qid = r.headers["location"].rsplit("/", 1)[1]
    html = client.get(f"/wb/queue/{qid}").text
    _no_raw_payload(html)
    assert "tasks.json: task 3: data.text is missing" in html
    r = client.post("/wb/api/label", json={"kind": "queue", "id": qid, "k": 0, "narratives": ["kosovo_precedent"],
                                           "stance": "reports", "lang": "en", "review": {"kosovo_precedent": "confirmed"}})
    assert r.status_code == 200
    saved = _data(client.get(f"/wb/queue/{qid}").text)["passages"][0]["saved"]
    assert saved == {"narratives": ["kosovo_precedent"], "stance": "reports", "lang": "en"}


def test_scores_file_with_its_articles_opens_in_full(client, tmp_path):
    recs = list(score_articles([{"id": "forum", "text": ARTICLE, "source": "forum.txt", "extra": {"outlet": "X"}}],
                               model="baseline"))
    scores = "".join(json.dumps(r) + "\n" for r in recs).encode()
    only = client.post("/wb/open", files=[("files", ("scores.jsonl", scores, "application/json"))], follow_redirects=False)
    bid = only.headers["location"].rsplit("/", 1)[1]
    assert "Evidence passages only" in client.get(f"/wb/batch/{bid}/0", follow_redirects=True).text
    both = client.post("/wb/open", files=[("files", ("scores.jsonl", scores, "application/json")),
                                          ("files", ("forum.txt", ARTICLE.encode(), "text/plain"))], follow_redirects=False)
    bid = both.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/wb/api/batch/{bid}").json()["rows"][0]["full"] is True
    html = client.get(f"/wb/batch/{bid}/0", follow_redirects=True).text
    assert "Evidence passages only" not in html and "6 scored" in html and "<dd class=\"wrap\">X</dd>" in html
    assert client.get(f"/wb/batch/{bid}/7").status_code == 404
    assert client.get("/wb/batch/nonexistent-id-000").status_code == 404


def test_corrections_folder_defaults_to_user_data_dir():
    c = Corrections()
    assert c.folder.name == "corrections" and c.folder.parent.name == "narratives"
    assert re.fullmatch(r"workbench-\d{8}-\d{6}-[0-9a-f]{6}\.jsonl", c.name)


def test_odd_scores_records_never_give_a_500(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    app = create_app("baseline", corrections=tmp_path)
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                            max_size=3), max_leaves=8)
    evidence = st.dictionaries(st.sampled_from(["kosovo_precedent", "x<y>", ""]), st.lists(
        st.fixed_dictionaries({"text": st.text(max_size=40)}, optional={"start": json_values, "score": json_values,
                                                                        "stance": json_values}), max_size=3) | json_values)
    record = st.fixed_dictionaries(
        {"narratives": st.lists(st.sampled_from(["kosovo_precedent", "anti_western", "unknown<b>", ""]), max_size=3),
         "scores": st.dictionaries(st.sampled_from(["kosovo_precedent", "anti_western", "zz"]), json_values, max_size=3)},
        optional={k: json_values for k in ("id", "title", "outlet", "date", "lang", "stance", "stances", "errors",
                                           "warnings", "text_sha256", "model_version", "n_passages")} | {"evidence": evidence})

    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        @settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(record)
        def check(rec):
            body = (json.dumps(rec) + "\n").encode()
            r = c.post("/wb/open", files=[("files", ("s.jsonl", body, "application/json"))], follow_redirects=False)
            assert r.status_code in (303, 422), r.text[:300]
            if r.status_code == 303:
                bid = r.headers["location"].rsplit("/", 1)[1]
                assert c.get(f"/wb/batch/{bid}").status_code == 200
                assert c.get(f"/wb/api/batch/{bid}").status_code == 200
                assert c.get(f"/wb/batch/{bid}/0", follow_redirects=True).status_code < 500

        check()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_scores_files_open_as_batches(client, tmp_path, fmt):
    from narratives.serve.output import Writer

    recs = list(score_articles([{"id": "forum", "text": ARTICLE, "source": "forum.txt", "extra": {"outlet": PAYLOADS[0]}},
                                {"id": "calm", "text": "Markets were calm.", "source": "calm.txt", "extra": {}}],
                               model="baseline"))
    path = tmp_path / f"scores.{fmt}"
    w = Writer(path, fmt, list(recs[0]["scores"]))
    for r in recs:
        w.write(r)
    w.close()
    r = client.post("/wb/open", files=[("files", (path.name, path.read_bytes(), "application/octet-stream"))],
                    follow_redirects=False)
    assert r.status_code == 303 and "/wb/batch/" in r.headers["location"]
    bid = r.headers["location"].rsplit("/", 1)[1]
    rows = client.get(f"/wb/api/batch/{bid}").json()["rows"]
    assert [(x["id"], x["narratives"], x["outlet"]) for x in rows] == [(r["id"], r["narratives"], r.get("outlet", ""))
                                                                      for r in recs]
    assert rows[0]["scores"] == recs[0]["scores"]
    html = client.get(f"/wb/batch/{bid}/0", follow_redirects=True).text
    assert "Evidence passages only" in html and "kosovo_precedent" in html
    _no_raw_payload(html)


def test_a_folder_upload_keeps_going_past_stray_files(client):
    files = [("files", ("desk/a.txt", ARTICLE.encode(), "text/plain")),
             ("files", ("desk/sub/a.txt", b"Markets were calm in Sarajevo on Monday.", "text/plain")),
             ("files", ("desk/.DS_Store", b"\x00\x01", "application/octet-stream"))]
    r = client.post("/wb/open", files=files, follow_redirects=False)
    bid = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/wb/batch/{bid}").text
    assert ".DS_Store: unsupported file type (none)" in page and "desk/" not in page
    rows = client.get(f"/wb/api/batch/{bid}").json()["rows"]
    assert [(x["id"], x["full"]) for x in rows] == [("a", True), ("a", True)]


def test_a_passage_labelled_otherwise_in_the_label_folder_is_flagged(client):
    from narratives.train.data import read_jsonl

    path = ROOT / "data" / "labels" / "team_voices.jsonl"
    no, rec, _ = next(x for x in read_jsonl(path) if x[1]["narratives"])
    aid = _article(client, rec["text"])
    body = {"kind": "article", "id": aid, "k": 0, "narratives": [], "stance": "none", "lang": rec["lang"], "review": {}}
    out = client.post("/wb/api/label", json=body).json()
    assert out["warning"].startswith(f"already labelled at {path}:{no} as ")
    same = {**body, "narratives": rec["narratives"], "stance": rec["stance"]}
    assert client.post("/wb/api/label", json=same).json()["warning"] is None


def test_analysis_highlights_what_the_decision_rule_decides(tmp_path):
    """The workbench's highlighted narratives per passage are predict()'s decisions (one rule), and its
    record is the one `narratives score` writes for the same article."""
    from narratives.model import load_model
    from narratives.serve.predict import predict
    from narratives.serve.workbench.analysis import analyse_article

    clf = load_model("baseline")
    # team-written text; passages of several lengths, one under the evidence minimum
    text = ("Kosovo was the precedent, so Crimea had every right to leave, and the West knows it.\n\n"
            "Short line.\n\n"
            "NATO keeps building bases around Serbia to encircle it, one ring after another.\n\n"
            "Markets were calm in Belgrade today and the weather was mild.")
    item = {"id": "a", "text": text, "source": "t"}
    a = analyse_article(clf, dict(item))
    expected = predict([text[p["start"]:p["end"]] for p in a["passages"]], model="baseline")
    assert any(p["hits"] for p in a["passages"])  # something to compare: a passage carries a narrative
    for p, rec in zip(a["passages"], expected):
        assert p["hits"] == (sorted(rec["narratives"], key=lambda lab: -rec["scores"][lab]) if p["words"] >= 5 else [])
        assert p["scores"] == rec["scores"] and p["stance"] == rec["stance"]
    assert a["record"] == next(score_articles([dict(item)], model=clf))
