"""The API docs in a real browser: Debian's Chromium, driven by Playwright, opens the gateway's
``/docs`` in front of the three services on real sockets.

Swagger UI renders the combined OpenAPI 3.1 document (the old bundled UI could not: "Unable to
render this definition"), lists the operations of every service, authorizes with the demo client
through the OAuth 2.0 client-credentials flow the document declares, and runs one call through
"Try it out" → Execute, which answers 200 as that client. Nothing logs an error, nothing breaks
the page's Content-Security-Policy, nothing is fetched from elsewhere. Screenshots go to
``test-artifacts/``. Launching Chromium is the badge page's browser test's (same flags, same
watch for trouble).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from services.gateway.deps import gateway_state
from services.gateway.seed import seed_demo
from tests.conftest import AppFactory
from tests.e2e.test_badge_page_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Trouble, _require_chromium
from tests.support import DOMAIN_SERVICES, LiveServer, free_socket

WHOAMI = "#operations-badges-whoami_v1_ops_badges_whoami_get"


@dataclass
class Gateway:
    base: str


@pytest.fixture
async def gateway(make_app: AppFactory) -> AsyncIterator[Gateway]:
    _require_chromium()
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    services: dict[str, LiveServer] = {}
    try:
        for name in DOMAIN_SERVICES:  # the catalog first: credentials asks it
            extra = {"catalog_url": services["catalog"].url} if name == "credentials" else {}
            services[name] = await LiveServer(await make_app(name, public_base_url=base, **extra)).start()
        urls = {f"{name}_url": server.url for name, server in services.items()}
        app = await make_app("gateway", public_base_url=base, **urls)
        async with gateway_state(app).sessionmaker() as session:
            await seed_demo(session, hasher=gateway_state(app).hasher)  # demo-lms / demo-lms-secret
            await session.commit()
        server = await LiveServer(app, sock).start()
        try:
            yield Gateway(base=base)
        finally:
            await server.stop()
    finally:
        for running in services.values():
            await running.stop()


async def test_the_docs_render_authorize_and_run_a_call(gateway: Gateway, backend: str) -> None:
    from playwright.async_api import async_playwright, expect

    trouble = Trouble(gateway.base)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            trouble.watch(page)
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            token_requests: list[str] = []
            page.on("request", lambda r: token_requests.append(r.method) if r.url.endswith("/oauth/token") else None)

            response = await page.goto(gateway.base + "/docs")
            assert response is not None
            policy = response.headers["content-security-policy"]
            await expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
            title = await page.locator(".info .title").inner_text()
            errors = await page.locator(".errors-wrapper").count()
            tags = set(await page.locator(".opblock-tag").evaluate_all("els => els.map(e => e.dataset.tag)"))
            summaries = set(
                await page.locator(".opblock-summary-path").evaluate_all(
                    "els => els.map(e => e.dataset.path || e.textContent.trim())"
                )
            )
            await page.screenshot(path=str(ARTIFACTS / "docs.png"))

            # Authorize: the OAuth 2.0 client-credentials flow the document declares.
            await page.locator(".auth-wrapper button.authorize").click()
            oauth = page.locator(".auth-container").filter(has_text="clientCredentials")
            await oauth.locator("#client_id_clientCredentials").fill("demo-lms")
            await oauth.locator("#client_secret_clientCredentials").fill("demo-lms-secret")
            await oauth.locator("label[for='badges:read-clientCredentials-checkbox-oauth2']").click()
            await oauth.locator("button.modal-btn.authorize").click()
            await expect(oauth.get_by_role("heading", name="Authorized")).to_be_visible(timeout=15_000)
            await page.screenshot(path=str(ARTIFACTS / "docs-authorized.png"))
            await page.locator("button.close-modal").click()

            # One call through "Try it out" → Execute: who the gateway says the caller is.
            operation = page.locator(WHOAMI)
            await operation.locator(".opblock-summary-control").click()
            await operation.locator("button.try-out__btn").click()
            await operation.locator("button.execute").click()
            live = operation.locator(".live-responses-table .response .response-col_status")
            await expect(live).to_have_text("200", timeout=15_000)
            body = await operation.locator(".live-responses-table .response-col_description pre").first.inner_text()
            await page.screenshot(path=str(ARTIFACTS / "docs-executed.png"), full_page=False)
            await context.close()
        finally:
            await browser.close()

    assert trouble.seen == []
    assert violations == []
    assert "script-src 'self'" in policy
    assert "'unsafe-eval'" not in policy
    assert title.startswith("Practicum API")
    assert errors == 0, "Swagger UI reported errors in the document"
    assert {"gateway", *DOMAIN_SERVICES} <= tags
    assert {"/v1/auth/login", "/oauth/token", "/v1/ops/badges/whoami", "/v1/offerings"} <= summaries
    assert token_requests == ["POST"]
    caller = json.loads(body)
    assert caller["subject"] == "client:demo-lms"
    assert caller["kind"] == "client"
    assert caller["scopes"] == ["badges:read"], "the scope ticked in the dialog is the token's"
