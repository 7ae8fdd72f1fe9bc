"""``/docs`` works offline: the page names only assets the server itself serves (from the installed
fastapi-offline package), that Swagger UI is version 5 (it renders OpenAPI 3.1, our schema's version), and,
where Debian's chromium is installed, a headless browser really renders the operations."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(tiny_model, start_server):
    with start_server(str(tiny_model)) as base:
        yield base


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets(server, page):
    html = httpx.get(server + page).text
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html)
    assert urls, html
    assert not [u for u in urls if not u.startswith("/")], urls  # no CDN, no other host
    assert "http://" not in html and "https://" not in html
    for u in urls:
        r = httpx.get(server + u)
        assert r.status_code == 200 and r.content, u


def test_swagger_ui_is_a_version_that_reads_openapi_31(server):
    assert httpx.get(server + "/openapi.json").json()["openapi"].startswith("3.1")
    js = httpx.get(server + "/docs-assets/swagger-ui-bundle.js").text
    assert "isOAS31" in js  # Swagger UI 5's OpenAPI 3.1 support (Swagger UI 4 shows "Unable to render")
    assert httpx.get(server + "/docs-assets/missing.js").status_code == 404


def test_docs_render_in_a_headless_browser(server):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium (installed by .ci/system-deps)")
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--virtual-time-budget=15000", "--dump-dom", server + "/docs"],
                         capture_output=True, text=True, timeout=120)
    dom = out.stdout
    assert "opblock" in dom, out.stderr[-2000:]  # Swagger UI built an operation block per endpoint
    for path in ("/v1/predict", "/v1/score", "/v1/model", "/healthz"):
        assert path in dom
    assert "Unable to render this definition" not in dom
