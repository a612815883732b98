"""Public documents: no token, CORS-open, the right media type for what the client accepts."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from services.badges.openbadges.documents import OB2_SUSPENDED_REASON
from services.badges.openbadges.statuslist import bit, decode
from tests.conftest import AppFactory
from tests.services.badges.conftest import Badges
from tests.support import asgi_client, identity_headers

BASE = "http://127.0.0.1:8000"


def path(url: str) -> str:
    assert url.startswith(BASE)
    return url[len(BASE) :]


async def test_media_types_follow_accept_and_anyone_may_read(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    badge = (await badges.issue(achievement["id"])).json()
    c = badges.client  # no identity header on any of these requests
    credential_url = path(badge["links"]["credential"])
    as_vc = await c.get(credential_url, headers={"accept": "application/vc+ld+json"})
    as_ld = await c.get(credential_url, headers={"accept": "application/ld+json"})
    as_jwt = await c.get(credential_url, headers={"accept": "application/jwt"})
    as_text = await c.get(path(badge["links"]["jwt"]), headers={"accept": "text/plain"})
    did = await c.get(path(badge["links"]["did_document"]))
    jwks = await c.get(f"/ob/issuers/{issuer['id']}/jwks.json")
    image = await c.get(path(achievement["links"]["image"]))
    badgeclass = await c.get(path(badge["links"]["ob2_badgeclass"]))
    ob2_issuer = await c.get(path(badge["links"]["ob2_issuer"]))
    preflight = await c.options("/v1/verify", headers={"origin": "https://wallet.example"})
    assert as_vc.headers["content-type"] == "application/vc+ld+json"
    assert as_ld.headers["content-type"] == "application/ld+json"
    assert as_jwt.headers["content-type"] == "application/jwt"
    assert as_jwt.text == as_text.text
    assert as_text.headers["content-type"].startswith("text/plain")
    assert as_vc.json() == badge["credential"]
    for response in (as_vc, as_jwt, did, jwks, image, badgeclass, ob2_issuer):
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
    assert [k["kid"] for k in jwks.json()["keys"]] == [
        k["verification_method"] for k in issuer["keys"] if k["purpose"] == "jose"
    ]
    assert "d" not in jwks.json()["keys"][0], "never a private key"
    assert image.headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in image.headers["content-security-policy"]
    assert ob2_issuer.json()["publicKey"][0].startswith(f"{BASE}/ob/v2/keys/")
    assert badgeclass.json()["issuer"] == ob2_issuer.json()["id"]
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_status_lists_are_signed_cached_by_etag_and_follow_the_badge(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    badge = (await badges.issue(achievement["id"])).json()
    entry = badge["credential"]["credentialStatus"]
    assert entry["statusPurpose"] == "revocation"
    url, index = path(entry["statusListCredential"]), int(entry["statusListIndex"])
    c = badges.client
    first = await c.get(url)
    cached = await c.get(url, headers={"if-none-match": first.headers["etag"]})
    await c.post(f"/v1/badges/{badge['id']}/revoke", headers=badges.as_())
    changed = await c.get(url, headers={"if-none-match": first.headers["etag"]})
    bits_before = decode(first.json()["credentialSubject"]["encodedList"])
    bits_after = decode(changed.json()["credentialSubject"]["encodedList"])
    assert len(bits_before) * 8 == 131_072
    assert (bit(bits_before, index), bit(bits_after, index)) == (False, True)
    assert sum(bin(byte).count("1") for byte in bits_after) == 1
    assert cached.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert changed.json()["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert changed.json()["issuer"] == badge["credential"]["issuer"]["id"]
    assert first.json()["credentialSubject"]["encodedList"].startswith("u"), "multibase base64url"


async def test_a_full_list_closes_and_the_next_badge_gets_a_new_one(make_app: AppFactory, keys_dir: Path) -> None:
    app = await make_app("badges", status_list_fill=0.00001)  # one index per list
    headers = identity_headers(keys_dir, "badges", roles=frozenset({"coordinator"}))
    async with asgi_client(app) as client:
        badges = Badges(app=app, client=client, keys_dir=keys_dir)
        issuer = await badges.issuer()
        achievement = await badges.achievement(issuer["id"])
        lists = set()
        for _ in range(3):
            badge = (
                await client.post(
                    "/v1/badges",
                    json={"achievement_id": achievement["id"], "recipient": {"email": "e@demo.test"}},
                    headers=headers,
                )
            ).json()
            lists.add(badge["links"]["revocation_list"])
    assert len(lists) == 3


async def test_ob2_documents_call_a_suspended_badge_revoked_saying_it_is_a_hold(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer(suspendable=True)
    achievement = await badges.achievement(issuer["id"])
    held = (await badges.issue(achievement["id"])).json()
    ended = (await badges.issue(achievement["id"])).json()
    standing = (await badges.issue(achievement["id"])).json()
    c = badges.client
    revocations = path(held["links"]["ob2_issuer"]) + "/revocations"

    def signed_id(badge: dict[str, Any]) -> str:
        return str(json.loads(base64.urlsafe_b64decode(badge["ob2_jws"].split(".")[1] + "==="))["id"])

    for badge in (held, ended, standing):
        badge["ob2_jws"] = (await c.get(path(badge["links"]["ob2_jws"]))).text
    fresh = await c.get(path(held["links"]["ob2_assertion"]))
    await c.post(f"/v1/badges/{held['id']}/suspend", json={"reason": "integrity review"}, headers=badges.as_())
    await c.post(f"/v1/badges/{ended['id']}/revoke", json={"reason": "issued in error"}, headers=badges.as_())
    hosted_held = await c.get(path(held["links"]["ob2_assertion"]))
    hosted_ended = await c.get(path(ended["links"]["ob2_assertion"]))
    listed = await c.get(revocations)
    await c.post(f"/v1/badges/{held['id']}/reinstate", headers=badges.as_())
    hosted_back = await c.get(path(held["links"]["ob2_assertion"]))
    listed_after = (await c.get(revocations)).json()

    assert fresh.status_code == 200
    assert (hosted_held.status_code, hosted_ended.status_code) == (410, 410)
    assert hosted_held.json() == {
        "@context": "https://w3id.org/openbadges/v2",
        "id": fresh.json()["id"],
        "revoked": True,
        "revocationReason": OB2_SUSPENDED_REASON,
    }, "a fixed reason: the issuer's note about a hold that may be lifted is not published"
    assert hosted_ended.json()["revocationReason"] == "issued in error"
    assert listed.headers["cache-control"] == hosted_held.headers["cache-control"] == "no-cache"
    assert sorted((e["id"], e["revocationReason"]) for e in listed.json()["revokedAssertions"]) == sorted(
        [(signed_id(held), OB2_SUSPENDED_REASON), (signed_id(ended), "issued in error")]
    )
    assert hosted_back.status_code == 200
    assert hosted_back.json() == fresh.json(), "reinstating serves the assertion exactly as before"
    assert listed_after["revokedAssertions"] == [{"id": signed_id(ended), "revocationReason": "issued in error"}]
    assert signed_id(standing) not in json.dumps(listed_after)
