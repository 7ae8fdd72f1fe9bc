"""The workbench in a real browser: Debian's chromium driven by Playwright (``executable_path``, no browser
download), on a ``narratives serve --token`` server started here with the baseline model.

Paste an article and see its highlights; open a scores file and filter it; make corrections and read them
back through ``narratives labels import --dry-run``; escaping payloads (no dialog, no script); the token.
Also takes the README's screenshots (docs/workbench-article.png, docs/workbench-batch.png).
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from narratives.serve.articles import score_articles

CHROMIUM = os.environ.get("NARRATIVES_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TOKEN = "wb-test-token-0123456789"
OUTLETS = ["Daily Courier", "Evening Wire", "Balkan Ledger", "Morning Post", "Radio Centre"]
ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "workbench"
# The README screenshots are rewritten only when asked (NARRATIVES_SCREENSHOTS=docs), so a test run leaves the
# tracked PNGs alone; otherwise they go to a scratch folder, still taken so the rendering path runs.
DOCS = ROOT / "docs" if os.environ.get("NARRATIVES_SCREENSHOTS") == "docs" else \
    Path(os.environ.get("TMPDIR", "/tmp")) / "narratives-screenshots"
PAYLOADS = ['<script>window.__pwned = 1; alert(1)</script>', '<img src=x onerror="window.__pwned = 2; alert(2)">',
            '<a href="javascript:window.__pwned=3;alert(3)">click</a>', '" onmouseover="alert(4)" x="',
            "</script><script>alert(5)</script>", "{{7*7}} ${alert(6)}"]

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} not installed (bash .ci/system-deps)")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    corrections = tmp_path_factory.mktemp("corrections")
    port = _free_port()
    env = {**os.environ, "NARRATIVES_TOKEN": TOKEN, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", "serve", "--port", str(port), "--model",
                             "baseline", "--corrections", str(corrections)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", headers={"authorization": f"Bearer {TOKEN}"}, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base, corrections
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    """A page logged in with the token once in the URL (then the cookie); fails the test on any dialog or
    page error."""
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = ctx.new_page()
    events: list[str] = []
    pg.on("dialog", lambda d: (events.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("pageerror", lambda e: events.append(f"page error: {e}"))
    pg.on("console", lambda m: events.append(f"console: {m.text}") if m.type == "error" else None)
    pg.goto(f"{base}/?token={TOKEN}")
    assert "token" not in pg.url  # the token left the address bar for a cookie
    yield pg
    ctx.close()
    assert events == []


def _shot(pg, name: str) -> None:
    """A README screenshot, written atomically, as a 256-colour PNG (small in the repository)."""
    from PIL import Image

    DOCS.mkdir(parents=True, exist_ok=True)
    raw = DOCS / f".{name}.tmp.png"
    pg.screenshot(path=str(raw))
    with Image.open(raw) as im:
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(raw, optimize=True)
    os.replace(raw, DOCS / name)


def _open_text(pg, text: str, title: str = "") -> None:
    pg.fill("#title", title)
    pg.fill("#text", text)
    pg.click("#analyse")
    pg.wait_for_selector("#text .psg")


def test_paste_article_shows_highlights_in_both_scripts(page, server):
    _open_text(page, (FIX / "article_en.txt").read_text(encoding="utf-8"), "Forum report")
    hits = page.locator("#text .psg.hit")
    assert hits.count() >= 2
    found = page.inner_text("#found")
    assert "Kosovo precedent" in found and "NATO encirclement" in found
    assert page.inner_text("#article-lang") == "en" and len(page.inner_text("#article-model")) == 12
    chips = page.locator("#text .chip:not(.low)")
    assert "· promotes ·" in chips.first.inner_text() or "· reports ·" in chips.first.inner_text()
    assert not page.locator(".chip.low").first.is_visible()  # below-threshold scores on demand
    page.check("#show-low")
    assert page.locator(".chip.low").first.is_visible()
    page.uncheck("#show-low")
    hits.first.click()
    page.wait_for_selector("#label-form .lf-row")
    _shot(page, "workbench-article.png")
    page.goto(server[0] + "/")
    cyr = (FIX / "article_sr_cyrl.txt").read_text(encoding="utf-8")
    _open_text(page, cyr)
    assert "Косово било преседан за Крим" in page.inner_text("#text")
    assert page.inner_text("#article-lang") == "sr-Cyrl"


def test_long_article_stays_usable(page):
    paras = (FIX / "article_en.txt").read_text(encoding="utf-8").split("\n\n")[1:]
    text = "\n\n".join(paras[i % len(paras)] for i in range(int(10_000 / 25)))
    assert len(text.split()) > 10_000
    _open_text(page, text)
    n = page.locator("#text .psg").count()
    assert n >= 400
    page.keyboard.press("j")  # jump to a flagged passage far down and label it: the page responds
    page.keyboard.press("k")
    page.wait_for_selector("#text .psg.sel")
    assert page.locator("#label-form .lf-row").count() >= 6


def _scores_file(tmp_path: Path, n: int = 3000) -> Path:
    """``n`` score records (117 team-written samples, cycled, and 3 neutral ones, scored once and copied)
    with outlets and dates, and one bad line at the end."""
    samples = sorted((ROOT / "data" / "samples").glob("*.txt"))
    items = [{"id": str(i), "text": samples[(i * 5) % len(samples)].read_text(encoding="utf-8"), "source": str(i)}
             for i in range(117)]
    items += [{"id": str(i), "text": "Markets were calm in Belgrade on Monday.", "source": str(i)} for i in range(117, 120)]
    scored = list(score_articles(items, model="baseline"))
    assert not any(scored[i]["narratives"] for i in (117, 118, 119))
    recs = []
    for i in range(n):
        rec = {**scored[i % 120], "id": f"art-{i:04d}", "source": f"batch.jsonl:{i + 1}", "title": f"Report {i}",
               "outlet": OUTLETS[(i * 7 // 3) % len(OUTLETS)], "date": f"2026-{1 + i % 6:02d}-{1 + i % 27:02d}"}
        recs.append(rec)
    recs[117]["id"] = PAYLOADS[0]  # neutral rows: sorted by score they sink below the screenshot
    recs[118]["outlet"] = PAYLOADS[1]
    recs[119]["title"] = PAYLOADS[2]
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + "not a record\n", encoding="utf-8")
    return path


def test_scores_file_filter_sort_and_open(page, tmp_path):
    page.set_input_files("#files", str(_scores_file(tmp_path)))
    page.click("#analyse")
    page.wait_for_selector("#rows tbody tr")
    assert page.inner_text("#count") == "3001 of 3001 articles"
    assert page.locator("#rows tbody tr").count() == 50  # paged: thousands of rows, 50 in the page
    page.click("#next")
    assert page.inner_text("#page") == "page 2 of 61"
    page.fill("#f-q", "scores.jsonl:3001")  # the bad line is a row naming it
    page.wait_for_function("document.querySelector('#count').textContent.startsWith('1 of')")
    assert "not a JSON record" in page.inner_text("#rows")
    page.click("#f-reset")
    page.select_option("#f-narrative", "kosovo_precedent")
    shown = int(page.inner_text("#count").split()[0])
    assert 0 < shown < 3001
    for chips in page.locator("#rows tbody tr td:nth-child(5)").all_inner_texts():
        assert "Kosovo precedent" in chips
    page.select_option("#f-outlet", "Evening Wire")
    page.fill("#f-from", "2026-02-01")
    page.fill("#f-to", "2026-04-30")
    for row in page.locator("#rows tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        assert cells[1] == "Evening Wire" and "2026-02-01" <= cells[2] <= "2026-04-30"
    page.click("#f-reset")
    page.fill("#f-q", "report 2345")
    page.wait_for_function("document.querySelector('#count').textContent.startsWith('1 of')")
    assert page.locator("#rows tbody tr td:nth-child(1)").inner_text().startswith("Report 2345")
    page.click("#f-reset")
    page.click("th[data-sort=top]")
    tops = [float(x) for x in page.locator("#rows tbody tr td:nth-child(7)").all_inner_texts() if x]
    assert tops == sorted(tops, reverse=True)
    assert page.locator("#chart-time svg rect").count() > 0 and page.locator("#chart-outlet svg rect").count() > 0
    _shot(page, "workbench-batch.png")
    page.locator("#rows tbody tr a").first.click()
    page.wait_for_selector(".reader")
    assert "Evidence passages only" in page.inner_text(".reader")


def test_corrections_round_trip_through_labels_import(page, server, tmp_path):
    base, corrections = server
    _open_text(page, (FIX / "article_en.txt").read_text(encoding="utf-8"), "Forum report")
    kosovo = page.locator("#text .psg.hit", has_text="Pristina")
    kosovo.click()
    row = page.locator("#label-form .lf-row[data-lab=kosovo_precedent]")
    assert "confirmed" in row.inner_text().lower()
    page.locator("#label-form .lf-row[data-lab=anti_western] button.yes").click()  # add a narrative
    page.select_option("#label-form .lf-stance", "promotes")
    page.click("#label-form .lf-save")
    page.wait_for_selector("#label-form .lf-msg.ok")
    page.locator("#text .psg", has_text="Ticket sales").click()  # reject: the model's calls are all absent here
    page.select_option("#label-form .lf-lang", "en")
    page.click("#label-form .lf-save")
    page.wait_for_selector("#label-form .lf-msg.ok")
    nato = page.locator("#text .psg.hit", has_text="ring of bases")
    nato.click()
    page.locator("#label-form .lf-row[data-lab=nato_encirclement] button.no").click()  # reject the model's call
    assert "rejected" in page.locator("#label-form .lf-row[data-lab=nato_encirclement]").inner_text().lower()
    page.click("#label-form .lf-save")
    page.wait_for_selector("#label-form .lf-msg.ok")
    assert page.inner_text("#n-corrections") == "3"
    files = list(corrections.glob("workbench-*.jsonl"))
    assert len(files) == 1
    recs = [json.loads(x) for x in files[0].read_text(encoding="utf-8").splitlines()]
    by_text = {r["text"][:20]: r for r in recs}
    assert len(recs) == 3
    k = next(r for r in recs if "Pristina" in r["text"])
    assert k["narratives"] == ["anti_western", "kosovo_precedent"] and k["stance"] == "promotes"
    assert k["review"] == {"kosovo_precedent": "confirmed", "anti_western": "added"}
    n = next(r for r in recs if "ring of bases" in r["text"])
    assert n["narratives"] == [] and n["stance"] == "none" and n["review"]["nato_encirclement"] == "rejected"
    assert len(by_text) == 3
    page.goto(base + "/wb/corrections")
    with page.expect_download() as dl:
        page.click("#download")
    downloaded = Path(dl.value.path()).read_text(encoding="utf-8")
    assert downloaded == files[0].read_text(encoding="utf-8")
    labels = tmp_path / "labels"  # the team's label files (the seed spans need the corpus, which CI lacks)
    labels.mkdir()
    for f in [ROOT / "data" / "labels" / "taxonomy.yaml", *(ROOT / "data" / "labels").glob("team_*.jsonl")]:
        shutil.copy(f, labels / f.name)
    out = subprocess.run([sys.executable, "-m", "narratives.serve.cli", "labels", "import", str(files[0]), "--dry-run",
                          "--labels", str(labels)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "would import 3" in out.stdout + out.stderr, out.stdout + out.stderr


def test_payloads_are_text_never_code(page, server, tmp_path):
    text = "\n\n".join(f"Paragraph {i}: {p} Kosovo set the precedent for Crimea, the speaker said again today."
                       for i, p in enumerate(PAYLOADS))
    _open_text(page, text, PAYLOADS[0])
    shown = page.inner_text(".reader")
    for p in PAYLOADS:
        assert p in shown
    assert page.locator(".reader script, .reader img, .reader a").count() == 0
    page.locator("#text .psg").first.click()
    page.hover("#text .psg >> nth=1")
    assert page.evaluate("window.__pwned") is None
    arts = tmp_path / "arts.jsonl"
    arts.write_text("".join(json.dumps({"id": p, "text": f"Crimea followed Kosovo, a speaker said. {p}", "outlet": p,
                                        "date": p, p: p}) + "\n" for p in PAYLOADS), encoding="utf-8")
    page.goto(server[0] + "/")
    page.set_input_files("#files", str(arts))
    page.click("#analyse")
    page.wait_for_selector("#rows tbody tr")
    assert page.locator("#rows tbody tr").count() == len(PAYLOADS)
    page.hover("#rows tbody tr >> nth=3")
    assert PAYLOADS[0] in page.inner_text("#rows")
    page.locator("#rows tbody tr a").first.click()
    page.wait_for_selector(".reader")
    assert page.evaluate("window.__pwned") is None
    csp = httpx.get(page.url, cookies={"narratives_token": TOKEN}).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_token_required_for_pages_and_api(browser, server):
    base, _ = server
    ctx = browser.new_context()
    pg = ctx.new_page()
    resp = pg.goto(base + "/")
    assert resp.status == 401 and "Token needed" in pg.inner_text("h1")
    resp = pg.goto(base + "/?token=wrong-token-0000000000")
    assert resp.status == 401
    ctx.close()
    assert httpx.get(base + "/healthz").status_code == 401
    assert httpx.post(base + "/v1/predict", json={"texts": ["x"]}).status_code == 401
    ok = httpx.post(base + "/v1/predict", json={"texts": ["x"]}, headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200


def test_suggest_output_opens_as_a_queue(page, server, tmp_path):
    from narratives.train.suggest import suggest, write_tasks

    labels = tmp_path / "labels"
    shutil.copytree(ROOT / "tests" / "fixtures" / "labels", labels)
    tasks = suggest([str(ROOT / "data" / "samples")], n=4, model="baseline", against=None, labels=labels,
                    corpus=ROOT / "tests" / "fixtures" / "corpus")
    write_tasks(tasks, tmp_path / "tasks.json")
    page.goto(server[0] + "/")
    page.set_input_files("#files", str(tmp_path / "tasks.json"))
    page.click("#analyse")
    page.wait_for_selector(".task .lf-row")
    assert page.locator(".task").count() == 4
    first = page.locator(".task >> nth=0")
    assert first.locator(".lf-lang").input_value() == "en"  # preset from the task
    first.locator(".lf-save").click()  # the model's call, confirmed as it stands
    first.locator(".lf-msg.ok").wait_for()
    assert page.inner_text("#q-done") == "1"
    assert "done" in (first.get_attribute("class") or "")
