"""The API's browsable docs, ``/docs`` (Swagger UI) and ``/redoc``, served from here.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they were blank without
internet access. The assets come from the ``fastapi-offline`` package (kept current
upstream, not copied into this repository) and are served under ``/docs/assets``;
Swagger UI is started by a file of ours rather than an inline script, so the pages'
Content-Security-Policy (``hookline.headers``) allows no inline script at all.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
INIT_SCRIPT = Path(__file__).parent / "static" / "swagger-init.js"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="icon" href="{root}{assets}/favicon.png">
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}{openapi}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - ReDoc</title>
<link rel="icon" href="{root}{assets}/favicon.png">
</head>
<body>
<redoc spec-url="{root}{openapi}"></redoc>
<script src="{root}{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def _page(template: str, app: FastAPI, request: Request) -> HTMLResponse:
    root = str(request.scope.get("root_path", ""))
    return HTMLResponse(
        template.format(
            title=escape(app.title),
            root=escape(root),
            assets=ASSETS_URL,
            openapi=escape(app.openapi_url or "/openapi.json"),
        )
    )


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their assets; the app must not add FastAPI's own pages."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return _page(SWAGGER_PAGE, app, request)

    @app.get("/docs/init.js", include_in_schema=False)
    def swagger_ui_init() -> FileResponse:
        return FileResponse(INIT_SCRIPT, media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return _page(REDOC_PAGE, app, request)
