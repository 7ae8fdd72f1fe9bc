"""The interactive API docs (``/docs``, Swagger UI; ``/redoc``) served from installed packages, so they
work offline and render the app's OpenAPI 3.1 schema.

FastAPI's own pages load Swagger UI from a CDN (blank without a network). The assets here come from the
``fastapi-offline`` package (MIT), which ships Swagger UI 5 (the first major version that reads OpenAPI
3.1) and ReDoc; they are mounted under ``/docs-assets`` and the pages name only those local paths.

>>> from fastapi import FastAPI
>>> app = FastAPI(docs_url=None, redoc_url=None)
>>> add_docs(app)
>>> sorted(r.path for r in app.routes if r.path.startswith(("/docs", "/redoc")))
['/docs', '/docs-assets', '/docs/oauth2-redirect', '/redoc']
"""
from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def assets_dir() -> str:
    """The folder of the packaged Swagger UI and ReDoc files."""
    return str(files("fastapi_offline") / "static")


def add_docs(app: FastAPI) -> None:
    """Add ``/docs`` and ``/redoc`` (not in the schema) and their assets to ``app``."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API docs",
                                   oauth2_redirect_url=f"{root}{redirect}",
                                   swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{ASSETS}/favicon.png")

    @app.get(redirect, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API reference",
                              redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False)
