"""The public badge page in a real browser: Debian's Chromium, driven by Playwright, against the
gateway and the badges service on real sockets.

The credential's own URL opens the page; it shows the live status (verified, suspended, verified
again, revoked; expired), the LinkedIn link carries the right parameters, keyboard focus is
visible, the copy button copies, nothing logs an error and nothing is fetched from elsewhere, and
a phone-sized window needs no sideways scrolling. Screenshots go to ``test-artifacts/``.

Chromium comes from Debian (``make browsers``); Playwright never downloads one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.gateway.deps import gateway_state
from services.gateway.seed import seed_demo
from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER, issuing_as_of
from tests.support import LiveServer, free_socket

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        message = "Chromium is not installed at /usr/bin/chromium — `make browsers` installs Debian's"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Stack:
    base: str
    client: httpx.AsyncClient  # through the gateway, as demo-lms

    async def issue(self, achievement_id: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "achievement_id": achievement_id,
            "recipient": {"email": "educator@demo.test", "name": "Ed Educator"},
            "results": [{"criterion": "plan", "level": "proficient"}],
            "evidence": [{"url": "https://portfolio.example/ed/lesson-1", "name": "Lesson plan"}],
            **overrides,
        }
        response = await self.client.post("/v1/badges", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def act(self, badge_id: str, action: str) -> None:
        response = await self.client.post(f"/v1/badges/{badge_id}/{action}", json={})
        assert response.status_code == 200, response.text


@pytest.fixture
async def stack(make_app: AppFactory) -> AsyncIterator[Stack]:
    _require_chromium()
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    badges = await LiveServer(await make_app("badges", public_base_url=base)).start()
    gateway_app = await make_app("gateway", public_base_url=base, badges_url=badges.url)
    async with gateway_state(gateway_app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(gateway_app).hasher)
        await session.commit()
    gateway = await LiveServer(gateway_app, sock).start()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            token = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "badges:issue badges:read"},
                auth=("demo-lms", "demo-lms-secret"),
            )
            client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
            yield Stack(base=base, client=client)
    finally:
        await gateway.stop()
        await badges.stop()


@dataclass
class Trouble:
    """What a page must never cause: console errors, uncaught exceptions, failed or foreign loads."""

    base: str
    seen: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.seen.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.seen.append(f"failed: {r.url} {r.failure}"))
        page.on("request", self._request)
        page.on("response", lambda r: self.seen.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.base + "/", "data:")):
            self.seen.append(f"fetched from elsewhere: {request.url}")


async def _status(page: Any) -> tuple[str, str]:
    status = page.locator("#status")
    return (await status.inner_text()).strip(), str(await status.get_attribute("data-status"))


async def test_the_badge_page_in_chromium(stack: Stack, backend: str) -> None:
    from playwright.async_api import async_playwright, expect

    issuer = (await stack.client.post("/v1/issuers", json={**ISSUER, "suspendable": True})).json()
    achievement = (await stack.client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer["id"]})).json()
    badge = await stack.issue(achievement["id"])
    now = dt.datetime.now(dt.UTC)
    with issuing_as_of(now - dt.timedelta(days=400)):
        expired = await stack.issue(
            achievement["id"],
            valid_from=(now - dt.timedelta(days=400)).isoformat(),
            valid_until=(now - dt.timedelta(days=2)).isoformat(),
        )
    shared = await stack.client.patch(
        f"/v1/badges/{badge['id']}/sharing", json={"show_name": True, "show_results": True}
    )
    assert shared.status_code == 200, shared.text
    links = badge["links"]
    trouble = Trouble(stack.base)
    ARTIFACTS.mkdir(exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1200, "height": 900})
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
            page = await context.new_page()
            trouble.watch(page)

            # The credential's own URL, opened in a browser, is the page.
            response = await page.goto(links["credential"])
            assert response is not None
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/html")
            await page.wait_for_load_state("load")
            heading = await page.locator("h1").inner_text()
            image_ok = await page.eval_on_selector("main img", "img => img.complete && img.naturalWidth > 0")
            alt = await page.get_attribute("main img", "alt")
            recipient = await page.locator("#recipient-name").inner_text()
            fresh = await _status(page)
            rows = await page.locator("#results ~ table td").all_inner_texts()
            linkedin = str(await page.get_attribute("#linkedin", "href"))
            await page.screenshot(path=str(ARTIFACTS / "badge-page.png"), full_page=True)

            # Keyboard: tab to the first download button; its focus ring shows.
            focused: dict[str, Any] = {}
            for _ in range(40):
                await page.keyboard.press("Tab")
                focused = await page.evaluate(
                    """() => {
                        const el = document.activeElement;
                        const style = getComputedStyle(el);
                        return {text: el.textContent.trim(), cls: el.className, visible: el.matches(':focus-visible'),
                                outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
                    }"""
                )
                if focused["text"].startswith("Download"):
                    break
            await page.screenshot(path=str(ARTIFACTS / "badge-page-focus.png"))

            # The copy button copies the embed snippet.
            await page.click("button[data-copy=embed]")
            # A locator wait, not wait_for_function: its string predicate is evaluated by eval()
            # in the page, which the page's CSP forbids (the wait failed whenever it had to poll).
            await expect(page.locator("#embed-copied")).to_have_text(re.compile(r"\S"))
            copied = await page.evaluate("navigator.clipboard.readText()")
            snippet = await page.input_value("#embed")

            # Status follows the issuer's actions, live.
            seen = [fresh]
            offered = []  # the LinkedIn link and the download buttons, as the reader sees them
            for action in ("suspend", "reinstate", "revoke"):
                await stack.act(badge["id"], action)
                await page.reload()
                seen.append(await _status(page))
                offered.append(
                    (await page.locator("#linkedin").count(), await page.locator("a[download]:visible").count())
                )
            withheld = await page.locator("#sharing-withheld").inner_text()
            await page.screenshot(path=str(ARTIFACTS / "badge-page-revoked.png"), full_page=True)
            await page.goto(expired["links"]["page"])
            expired_status = await _status(page)

            # A phone: everything fits the width, nothing scrolls sideways.
            phone = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
            small = await phone.new_page()
            trouble.watch(small)
            await small.goto(expired["links"]["page"])
            widths = await small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            await small.screenshot(path=str(ARTIFACTS / "badge-page-phone.png"), full_page=True)
            await phone.close()
            await context.close()
        finally:
            await browser.close()

    query = parse_qs(urlsplit(linkedin).query)
    issued = dt.datetime.fromisoformat(badge["credential"]["awardedDate"].replace("Z", "+00:00"))
    downloads = [links["baked_png"], links["baked_svg"], links["credential"] + "?format=json", links["jwt"]]
    answers = {url: (await stack.client.get(url.removeprefix(stack.base))).status_code for url in downloads}

    assert trouble.seen == []
    assert heading == ACHIEVEMENT["name"]
    assert image_ok
    assert alt == f"Badge image: {ACHIEVEMENT['name']}"
    assert recipient == "Ed Educator"
    assert rows == ["Lesson plan", "Proficient"]
    assert seen == [
        ("Verified", "verified"),
        ("Suspended", "suspended"),
        ("Verified", "verified"),
        ("Revoked", "revoked"),
    ]
    assert expired_status == ("Expired", "expired")
    # Suspended and revoked: nothing to download or share; reinstated: all of it again.
    assert offered == [(0, 0), (1, 6), (0, 0)]
    assert withheld.startswith("This badge was revoked")
    assert linkedin.startswith("https://www.linkedin.com/profile/add?")
    assert query == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": [ACHIEVEMENT["name"]],
        "organizationName": [ISSUER["name"]],
        "issueYear": [str(issued.year)],
        "issueMonth": [str(issued.month)],
        "certUrl": [links["page"]],
        "certId": [badge["id"]],
    }
    assert focused["text"].startswith("Download"), "tabbing reaches the download buttons"
    assert focused["visible"]
    assert focused["outline"] != "none"
    assert focused["width"] >= 2
    assert copied == snippet
    assert f'href="{links["page"]}"' in snippet
    assert widths[0] <= widths[1], f"the page is {widths[0]}px wide in a {widths[1]}px window"
    assert answers == dict.fromkeys(downloads, 200), "every download button leads somewhere"
    assert (ARTIFACTS / "badge-page.png").stat().st_size > 10_000
