"""Interactive API docs served from the bundled Swagger UI: nothing is fetched from a CDN."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


def mount_docs(app: FastAPI, *, openapi_url: str = "/openapi.json", title: str | None = None) -> None:
    app.mount("/docs/static", StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title or app.title} — API docs",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
