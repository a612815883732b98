"""The public badge page: HTML for people, served by the badges service through the gateway, no token.

``GET /ob/badges/{id}`` is the page. ``GET /ob/credentials/{id}`` answers it too (both in api.py) when the
client prefers HTML to JSON, so the credential's own id opens the page in a browser while JSON-LD
clients keep getting the credential (``prefers_html``). The status shown is the verifier's
answer, computed on every request by the same code as ``POST /v1/verify``.

The page fetches nothing from elsewhere (no fonts, scripts or styles from a CDN): its CSS and
its small script are inline, allowed by their hashes in a strict Content-Security-Policy, so
nothing an issuer or earner typed can run even if escaping ever failed. Templates escape
everything (Jinja2 autoescape); see ADR 0014.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from services.badges.models import Badge
from services.badges.openbadges import documents as docs
from services.badges.public import page_view
from services.badges.schemas import VerifyReport
from shared.db import utcnow
from shared.problems import NotFound

TEMPLATES = Path(__file__).parent / "templates"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# What machine clients of a credential ask for; any ``+json`` type counts too.
MACHINE_TYPES = frozenset({"application/json", "application/jwt", "text/plain"})


@dataclass(frozen=True)
class _Assets:
    environment: Environment
    css: Markup
    js: Markup
    style_source: str
    script_source: str


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache
def _assets() -> _Assets:
    """Templates and inline assets, read once per process (they are part of the code)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )
    css = (TEMPLATES / "badge_page.css").read_text()
    js = (TEMPLATES / "badge_page.js").read_text()
    # Our own files, never user input: inlined as they are (their hashes are in the CSP).
    return _Assets(environment, Markup(css), Markup(js), _csp_hash(css), _csp_hash(js))  # noqa: S704


def _media_ranges(accept: str) -> dict[str, float]:
    """``Accept`` as media range → its highest q (RFC 9110 §12.5.1); a bad q counts as 0."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges[media] = max(ranges.get(media, 0.0), q)
    return ranges


def prefers_html(accept: str) -> bool:
    """A browser: it names HTML, and ranks it above every JSON (or JWT) type it names.

    Wildcards do not count (browsers send ``*/*`` too, and so do JSON clients that name
    nothing); a tie goes to the machine types, so a client that asks for JSON gets JSON.
    """
    ranges = _media_ranges(accept)
    html = max((q for media, q in ranges.items() if media in HTML_TYPES), default=0.0)
    machine = max((q for media, q in ranges.items() if media in MACHINE_TYPES or media.endswith("+json")), default=0.0)
    return html > 0 and html > machine


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers(urls: docs.Urls) -> dict[str, str]:
    assets = _assets()
    policy = "; ".join(
        [
            "default-src 'none'",
            # The badge image lives under the public base URL: the same origin through the
            # gateway, another when the service is reached directly. ``data:`` is the icon.
            f"img-src 'self' {_origin(urls.base)} data:",
            f"style-src {assets.style_source}",
            f"script-src {assets.script_source}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        # The status is live: a cache may keep the page but must ask again before showing it.
        "Cache-Control": "no-cache",
        "Vary": "Accept",
    }


def render(template: str, **context: Any) -> str:
    assets = _assets()
    return assets.environment.get_template(template).render(css=assets.css, js=assets.js, **context)


def not_found(accept: str, urls: docs.Urls, badge_id: str) -> Response:
    """No such badge: a 404 page for browsers, a problem for others."""
    if prefers_html(accept):
        return HTMLResponse(render("not_found.html"), status_code=404, headers=_headers(urls))
    raise NotFound(f"no badge {badge_id}")


def badge_page(urls: docs.Urls, badge: Badge, report: VerifyReport) -> Response:
    """The page of a badge, with the verifier's live ``report`` on it."""
    view = page_view.build(urls=urls, badge=badge, report=report, now=utcnow())
    return HTMLResponse(render("badge_page.html", v=view), headers=_headers(urls))
