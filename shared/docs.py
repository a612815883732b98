"""Interactive API docs: Swagger UI 5, which renders OpenAPI 3.1, served from the installed
fastapi-offline package's files — nothing is fetched from a CDN.

FastAPI's own page starts Swagger UI with an inline script; this one loads a fixed script from
``/docs/swagger-init.js`` instead and reads the document's URL from the page, so the page can
carry a strict Content-Security-Policy (no inline script, nothing from elsewhere).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from shared.auth import IDENTITY_HEADER

SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"

# Swagger UI builds its styles through the DOM (allowed) but also sets a few ``style``
# attributes in markup, which only 'unsafe-inline' in style-src permits; scripts stay strict.
# connect-src 'self': the document, "Try it out" and the token request all go to this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

_INIT_JS = """\
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
  });
});
"""


def _page(*, title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" type="image/png" href="/docs/static/favicon.png">
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url, quote=True)}"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI, *, openapi_url: str = "/openapi.json", title: str | None = None) -> None:
    app.mount("/docs/static", StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    page = _page(title=f"{title or app.title} — API docs", openapi_url=openapi_url)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(_INIT_JS, media_type="text/javascript", headers=_HEADERS)


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

# What a service behind the gateway takes as its caller: the internal token the gateway sends.
INTERNAL_SECURITY: dict[str, dict[str, Any]] = {
    "internal": {
        "type": "apiKey",
        "in": "header",
        "name": IDENTITY_HEADER,
        "description": "The gateway's short-lived internal token for the caller (services are reached through it)",
    }
}


def declare_security(
    schema: dict[str, Any], *, public: frozenset[tuple[str, str]], schemes: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """Declare ``schemes`` and require one of them on every operation not in ``public``.

    Each scheme alone suffices (one requirement object per scheme: OpenAPI's "or"), with no
    scopes named: which scope an operation needs is in its 403 answer.
    """
    schema.setdefault("components", {})["securitySchemes"] = dict(schemes)
    requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            if (method.upper(), path) in public:
                operation.pop("security", None)
            else:
                operation["security"] = requirement
    return schema
