"""Issuing through the badges API: one award, every representation, consistent."""

from __future__ import annotations

import base64
import json

from tests.services.badges.conftest import Badges


def jwt_payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


async def test_one_award_yields_every_representation(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    issued = await badges.issue(achievement["id"])
    assert issued.status_code == 201, issued.text
    badge = issued.json()
    credential = badge["credential"]
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["issuer"]["id"] == issuer["did"]
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert [s["statusPurpose"] for s in credential["credentialStatus"]] == ["revocation", "suspension"]
    c = badges.client
    jwt = await c.get(badge["links"]["jwt"].replace("http://127.0.0.1:8000", ""))
    assert jwt.headers["content-type"].startswith("application/jwt")
    payload = jwt_payload(jwt.text)
    assert payload["vc"] == {k: v for k, v in credential.items() if k != "proof"}
    hosted = await c.get(badge["links"]["ob2_assertion"].replace("http://127.0.0.1:8000", ""))
    assert hosted.json()["recipient"]["identity"].startswith("sha256$")
    did = await c.get(badge["links"]["did_document"].replace("http://127.0.0.1:8000", ""))
    assert did.json()["id"] == issuer["did"]
    status = await c.get(badge["links"]["revocation_list"].replace("http://127.0.0.1:8000", ""))
    assert status.status_code == 200, status.text
    assert status.json()["credentialSubject"]["statusPurpose"] == "revocation"
