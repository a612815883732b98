"""The verifier on a credential it did not issue: every document comes over HTTP from the issuer.

Two badges services on real sockets, each with its own public base URL: one issues, the other
verifies (allowed to fetch from loopback for the test; by default it refuses private addresses).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER
from tests.support import LiveServer, free_socket, identity_headers


@dataclass
class Pair:
    issuer: httpx.AsyncClient  # the issuing service, as a coordinator of tenant-a
    verifier: httpx.AsyncClient  # another deployment's public verifier
    strict: httpx.AsyncClient  # a verifier with the default SSRF guard


async def _live(make_app: AppFactory, **settings: Any) -> tuple[LiveServer, str]:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = await LiveServer(await make_app("badges", public_base_url=base, **settings), sock).start()
    return server, base


@pytest.fixture
async def pair(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Pair]:
    issuing, issuing_url = await _live(make_app)
    verifying, verifying_url = await _live(make_app, verify_allow_private=True)
    strict, strict_url = await _live(make_app)
    headers = identity_headers(keys_dir, "badges", roles=frozenset({"coordinator"}), tenant_id="tenant-a")
    try:
        async with (
            httpx.AsyncClient(base_url=issuing_url, headers=headers, timeout=30) as a,
            httpx.AsyncClient(base_url=verifying_url, timeout=30) as b,
            httpx.AsyncClient(base_url=strict_url, timeout=30) as c,
        ):
            yield Pair(issuer=a, verifier=b, strict=c)
    finally:
        for server in (issuing, verifying, strict):
            await server.stop()


async def _badge(pair: Pair) -> dict[str, Any]:
    issuer = (await pair.issuer.post("/v1/issuers", json=ISSUER)).json()
    achievement = (await pair.issuer.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer["id"]})).json()
    issued = await pair.issuer.post(
        "/v1/badges",
        json={
            "achievement_id": achievement["id"],
            "recipient": {"email": "educator@demo.test"},
            "results": [{"criterion": "plan", "level": "proficient"}],
        },
    )
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def failed(report: dict[str, Any]) -> list[str]:
    return [f"{c['name']}: {c['message']}" for c in report["checks"] if not c["passed"]]


async def test_a_foreign_credential_is_verified_from_the_issuers_own_documents(pair: Pair, backend: str) -> None:
    badge = await _badge(pair)
    credential = badge["credential"]
    jwt = (await pair.issuer.get(f"/ob/credentials/{badge['id']}/jwt")).text
    fresh = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    fresh_jwt = (await pair.verifier.post("/v1/verify", json={"credential": jwt})).json()
    hosted = (await pair.verifier.post("/v1/verify", json={"url": badge["links"]["ob2_assertion"]})).json()
    refused = (await pair.strict.post("/v1/verify", json={"credential": credential})).json()

    await pair.issuer.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "error"})
    revoked = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    revoked_jwt = (await pair.verifier.post("/v1/verify", json={"credential": jwt})).json()
    gone = (await pair.verifier.post("/v1/verify", json={"url": badge["links"]["ob2_assertion"]})).json()

    assert fresh["verified"] is True, failed(fresh)
    assert fresh["status"] == "active"
    assert fresh_jwt["verified"] is True, failed(fresh_jwt)
    assert hosted["verified"] is True, failed(hosted)
    assert refused["verified"] is False
    assert any("private, loopback or reserved" in message for message in failed(refused)), failed(refused)
    assert (revoked["verified"], revoked["status"]) == (False, "revoked")
    assert (revoked_jwt["verified"], revoked_jwt["status"]) == (False, "revoked")
    assert (gone["verified"], gone["status"]) == (False, "revoked")


async def test_a_foreign_credential_signed_by_a_withdrawn_key_or_altered_fails(pair: Pair, backend: str) -> None:
    badge = await _badge(pair)
    credential = badge["credential"]
    altered = {**credential, "name": "A grander title"}
    issuer_id = badge["issuer_id"]
    key_id = credential["proof"][0]["verificationMethod"].split("#", 1)[1]
    altered_report = (await pair.verifier.post("/v1/verify", json={"credential": altered})).json()
    await pair.issuer.post(f"/v1/issuers/{issuer_id}/keys", json={"purpose": "data_integrity"})
    await pair.issuer.post(f"/v1/issuers/{issuer_id}/keys/{key_id}/revoke", json={"reason": "compromised"})
    withdrawn = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    assert altered_report["verified"] is False
    assert [c["name"] for c in altered_report["checks"] if not c["passed"]] == ["proof"]
    assert withdrawn["verified"] is False
    assert any(m.startswith("proof:") for m in failed(withdrawn)), failed(withdrawn)
