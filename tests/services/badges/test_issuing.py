"""Issuing through the badges API: one award, every representation, consistent."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from services.credentials.schemas import AwardedResult, AwardGranted
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER, Badges, issuing_as_of


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
    # The extensions context defines the credentialSchema type OB 3.0 requires (issue 16).
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert [s["type"] for s in credential["credentialSchema"]] == ["1EdTechJsonSchemaValidator2019"]
    assert credential["issuer"]["id"] == issuer["did"]
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["credentialStatus"]["statusPurpose"] == "revocation", "one entry, as an object (ADR 0010)"
    assert "suspension_list" not in badge["links"]
    c = badges.client
    jwt = await c.get(badge["links"]["jwt"].replace("http://127.0.0.1:8000", ""))
    assert jwt.headers["content-type"].startswith("application/jwt")
    payload = jwt_payload(jwt.text)
    assert payload["vc"] == {k: v for k, v in credential.items() if k != "proof"}
    # OB 3.0's JWT Payload Format: each required claim is the credential's own value.
    valid_from = dt.datetime.fromisoformat(credential["validFrom"])
    assert {k: payload[k] for k in ("iss", "jti", "nbf", "sub")} == {
        "iss": issuer["did"],
        "jti": credential["id"],
        "nbf": int(valid_from.timestamp()),
        "sub": credential["credentialSubject"]["id"],
    }
    assert "exp" not in payload, "no validUntil, no exp"
    hosted = await c.get(badge["links"]["ob2_assertion"].replace("http://127.0.0.1:8000", ""))
    assert hosted.json()["recipient"]["identity"].startswith("sha256$")
    did = await c.get(badge["links"]["did_document"].replace("http://127.0.0.1:8000", ""))
    assert did.json()["id"] == issuer["did"]
    status = await c.get(badge["links"]["revocation_list"].replace("http://127.0.0.1:8000", ""))
    assert status.status_code == 200, status.text
    assert status.json()["credentialSubject"]["statusPurpose"] == "revocation"


async def test_every_subject_has_an_id_stable_per_recipient_and_revealing_no_email(
    badges: Badges, backend: str
) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    first = (await badges.issue(achievement["id"])).json()
    same = (await badges.issue(achievement["id"], recipient={"email": "educator@demo.test"})).json()
    other = (await badges.issue(achievement["id"], recipient={"email": "someone@demo.test"})).json()
    did = "did:example:educator-7"
    with_id = (await badges.issue(achievement["id"], recipient={"email": "educator@demo.test", "id": did})).json()
    b = badges.as_(tenant="tenant-b")
    issuer_b = (await badges.client.post("/v1/issuers", json=ISSUER, headers=b)).json()
    achievement_b = (
        await badges.client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer_b["id"]}, headers=b)
    ).json()
    elsewhere = await badges.client.post(
        "/v1/badges",
        json={"achievement_id": achievement_b["id"], "recipient": {"email": "educator@demo.test"}},
        headers=b,
    )
    jwt = await badges.client.get(first["links"]["jwt"].replace("http://127.0.0.1:8000", ""))

    def subject(badge: dict[str, Any]) -> dict[str, Any]:
        return dict(badge["credential"]["credentialSubject"])

    pseudonym = subject(first)["id"]
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", pseudonym)
    assert subject(same)["id"] == pseudonym, "the same recipient (any case, spaces) keeps one id"
    assert subject(other)["id"] != pseudonym
    assert subject(with_id)["id"] == did, "a recipient's own DID is the subject id"
    assert elsewhere.status_code == 201, elsewhere.text
    assert subject(elsewhere.json())["id"] != pseudonym, "another tenant cannot relate its recipients to ours"
    assert "demo.test" not in json.dumps(subject(first)).lower(), "the email shows nowhere, only its salted hash"
    assert subject(first)["identifier"][0]["identityHash"].startswith("sha256$"), "the hashed identifier stays"
    assert jwt_payload(jwt.text)["sub"] == pseudonym


async def test_tenants_see_only_their_own_and_scopes_decide_who_issues(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    badge = (await badges.issue(achievement["id"])).json()
    c = badges.client
    other = badges.as_(tenant="tenant-b")
    educator = badges.as_(roles=frozenset({"educator"}))
    elsewhere = {
        "issuer": await c.get(f"/v1/issuers/{issuer['id']}", headers=other),
        "achievement": await c.get(f"/v1/achievements/{achievement['id']}", headers=other),
        "badge": await c.get(f"/v1/badges/{badge['id']}", headers=other),
        "revoke": await c.post(f"/v1/badges/{badge['id']}/revoke", headers=other),
        "issue": await c.post(
            "/v1/badges", json={"achievement_id": achievement["id"], "recipient": {"email": "x@y.test"}}, headers=other
        ),
    }
    missing = await c.get("/v1/badges/00000000-0000-4000-8000-000000000000", headers=badges.as_())
    listed_elsewhere = await c.get("/v1/badges", headers=other)
    reads = await c.get(f"/v1/badges/{badge['id']}", headers=educator)
    cannot_issue = await c.post(
        "/v1/badges", json={"achievement_id": achievement["id"], "recipient": {"email": "x@y.test"}}, headers=educator
    )
    assert {name: r.status_code for name, r in elsewhere.items()} == dict.fromkeys(elsewhere, 404)
    assert elsewhere["badge"].json()["title"] == missing.json()["title"]
    assert listed_elsewhere.json()["items"] == []
    assert reads.status_code == 200
    assert cannot_issue.status_code == 403
    assert "badges:issue" in cannot_issue.json()["detail"]


async def test_editing_an_achievement_makes_a_version_and_issued_badges_keep_theirs(
    badges: Badges, backend: str
) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    before = (await badges.issue(achievement["id"])).json()
    edited = await badges.client.patch(
        f"/v1/achievements/{achievement['id']}", json={"name": "Formative Assessment, revised"}, headers=badges.as_()
    )
    after = (await badges.issue(achievement["id"])).json()
    old = await badges.client.get(
        f"/ob/achievements/{achievement['id']}/versions/1", headers={"accept": "application/ld+json"}
    )
    assert edited.json()["version"] == 2
    assert before["credential"]["credentialSubject"]["achievement"]["name"] == ACHIEVEMENT["name"]
    assert before["credential"]["credentialSubject"]["achievement"]["id"].endswith("/versions/1")
    assert after["credential"]["credentialSubject"]["achievement"]["name"] == "Formative Assessment, revised"
    assert after["achievement_version"] == 2
    assert old.json()["name"] == ACHIEVEMENT["name"]


async def test_results_must_match_the_rubric_and_status_changes_follow_the_rules(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    wrong = await badges.issue(achievement["id"], results=[{"criterion": "plan", "level": "stellar"}])
    badge = (await badges.issue(achievement["id"])).json()
    c, h = badges.client, badges.as_()
    reinstate_active = await c.post(f"/v1/badges/{badge['id']}/reinstate", headers=h)
    revoked = await c.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "error"}, headers=h)
    again = await c.post(f"/v1/badges/{badge['id']}/suspend", headers=h)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/body/results/0/level"
    assert reinstate_active.status_code == 409
    assert reinstate_active.json()["allowed_actions"] == ["revoke"], "the issuer does not publish suspension"
    assert revoked.json()["status"] == "revoked"
    assert again.status_code == 409, "revocation is permanent"
    assert again.json()["allowed_actions"] == []


async def test_suspension_is_published_only_by_suspendable_issuers(badges: Badges, backend: str) -> None:
    plain = await badges.issuer()
    suspendable = await badges.issuer(suspendable=True)
    c, h = badges.client, badges.as_()
    unsuspendable = (await badges.issue((await badges.achievement(plain["id"]))["id"])).json()
    refused = await c.post(f"/v1/badges/{unsuspendable['id']}/suspend", headers=h)
    both = (await badges.issue((await badges.achievement(suspendable["id"]))["id"])).json()
    suspended = await c.post(f"/v1/badges/{both['id']}/suspend", json={"reason": "under review"}, headers=h)
    turned_on = await c.patch(f"/v1/issuers/{plain['id']}", json={"suspendable": True}, headers=h)
    later = (await badges.issue((await badges.achievement(plain["id"]))["id"])).json()
    nulled = await c.patch(f"/v1/issuers/{plain['id']}", json={"suspendable": None}, headers=h)
    assert (plain["suspendable"], suspendable["suspendable"]) == (False, True)
    assert refused.status_code == 409
    assert refused.json()["allowed_actions"] == ["revoke"]
    assert "no suspension status entry" in refused.json()["detail"]
    assert [e["statusPurpose"] for e in both["credential"]["credentialStatus"]] == ["revocation", "suspension"]
    assert both["links"]["suspension_list"] != both["links"]["revocation_list"]
    assert suspended.json()["status"] == "suspended"
    assert turned_on.json()["suspendable"] is True
    assert isinstance(later["credential"]["credentialStatus"], list), "applies to badges issued afterwards"
    assert isinstance(unsuspendable["credential"]["credentialStatus"], dict), "signed badges never change"
    assert nulled.status_code == 422


async def test_images_are_checked_by_content_and_svg_is_sanitized(badges: Badges, backend: str) -> None:
    import io

    from PIL import Image

    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    c, h = badges.client, badges.as_()
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "#1f5f8b").save(png, format="PNG")
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">'
        b'<script>alert(1)</script><circle r="40" cx="50" cy="50" onclick="alert(2)" fill="url(https://evil.example/x)"/>'
        b'<image xlink:href="https://tracker.example/pixel.png" width="1" height="1"/><title>ok</title></svg>'
    )
    url = f"/v1/achievements/{achievement['id']}/image"
    as_png = await c.put(url, files={"image": ("badge.png", png.getvalue(), "image/png")}, headers=h)
    spoofed = await c.put(url, files={"image": ("badge.png", b"GIF89a not a png", "image/png")}, headers=h)
    huge = await c.put(url, files={"image": ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 600_000, "image/png")}, headers=h)
    as_svg = await c.put(url, files={"image": ("badge.svg", svg, "image/svg+xml")}, headers=h)
    stored = await c.get(f"/ob/achievements/{achievement['id']}/versions/{as_svg.json()['version']}/image")
    assert as_png.status_code == 200, as_png.text
    assert as_png.json()["image_type"] == "image/png"
    assert spoofed.status_code == 415
    assert huge.status_code == 413
    assert as_svg.status_code == 200, as_svg.text
    assert stored.headers["content-type"] == "image/svg+xml"
    for bad in (b"<script", b"onclick", b"evil.example", b"tracker.example"):
        assert bad not in stored.content, bad
    assert b"<title>ok</title>" in stored.content or b":title>ok<" in stored.content


async def test_badges_are_listed_newest_first_with_filters_and_a_cursor(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer(suspendable=True)
    achievement = await badges.achievement(issuer["id"])
    first = (await badges.issue(achievement["id"])).json()
    second = (await badges.issue(achievement["id"], recipient={"email": "someone@demo.test"})).json()
    third = (await badges.issue(achievement["id"], recipient={"id": "did:example:learner-3"})).json()
    c, h = badges.client, badges.as_()
    await c.post(f"/v1/badges/{second['id']}/suspend", headers=h)
    page1 = (await c.get("/v1/badges", params={"limit": 2}, headers=h)).json()
    page2 = (await c.get("/v1/badges", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=h)).json()
    by_email = (await c.get("/v1/badges", params={"recipient": " EDUCATOR@demo.test"}, headers=h)).json()
    by_did = (await c.get("/v1/badges", params={"recipient": "did:example:learner-3"}, headers=h)).json()
    suspended = (await c.get("/v1/badges", params={"status": "suspended"}, headers=h)).json()
    bad_cursor = await c.get("/v1/badges", params={"cursor": "bm90IGEgY3Vyc29y"}, headers=h)
    listed = [b["id"] for b in page1["items"] + page2["items"]]
    assert sorted(listed) == sorted([first["id"], second["id"], third["id"]])
    assert len(page1["items"]) == 2
    assert page2["next_cursor"] is None
    assert [b["id"] for b in by_email["items"]] == [first["id"]]
    assert [b["id"] for b in by_did["items"]] == [third["id"]]
    assert [b["id"] for b in suspended["items"]] == [second["id"]]
    assert bad_cursor.status_code == 400
    assert "ob2_assertion" not in third["links"], "a DID-only recipient gets OB 3.0 only"


async def test_a_taken_status_index_is_drawn_again(
    badges: Badges, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.badges.issuing import service as issuing

    draws = iter([5, 5, 7])  # the second badge first draws the first badge's index
    monkeypatch.setattr(issuing.secrets, "randbelow", lambda _n: next(draws))
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    first = await badges.issue(achievement["id"])
    second = await badges.issue(achievement["id"])
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    indexes = [b.json()["credential"]["credentialStatus"]["statusListIndex"] for b in (first, second)]
    assert indexes == ["5", "7"]


def _award_event(achievement_id: str, **payload: object) -> dict[str, object]:
    """An ``award.granted`` envelope as the credentials service's outbox sends it."""
    now = dt.datetime.now(dt.UTC)
    award = AwardGranted(
        award_id=str(uuid.uuid4()),
        achievement_id=achievement_id,
        recipient_email="earner@demo.test",
        results=[AwardedResult(criterion="plan", level="proficient")],
        awarded_at=now - dt.timedelta(days=30),
        **payload,  # type: ignore[arg-type]
    )
    return {
        "id": str(uuid.uuid4()),
        "type": "award.granted",
        "source": "credentials",
        "tenant_id": "tenant-a",
        "occurred_at": now.isoformat(),
        "payload": award.model_dump(mode="json"),
    }


async def test_a_validity_that_has_ended_is_refused_wherever_a_badge_is_issued(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    now = dt.datetime.now(dt.UTC)
    yesterday = (now - dt.timedelta(days=1)).isoformat()
    c, h = badges.client, badges.as_()
    # Sent once while it was still valid (issued as of 40 days ago), sent again today.
    with issuing_as_of(now - dt.timedelta(days=40)):
        earlier = await c.post(
            "/v1/badges",
            json={
                "achievement_id": achievement["id"],
                "recipient": {"email": "ed@demo.test"},
                "valid_until": yesterday,
            },
            headers={**h, "idempotency-key": "sis-7"},
        )
    live = (await badges.issue(achievement["id"], valid_until=(now + dt.timedelta(days=30)).isoformat())).json()

    past = await badges.issue(achievement["id"], valid_until=yesterday)
    just_now = await badges.issue(achievement["id"], valid_until=now.isoformat())
    replayed = await c.post(
        "/v1/badges",
        json={"achievement_id": achievement["id"], "recipient": {"email": "ed@demo.test"}, "valid_until": yesterday},
        headers={**h, "idempotency-key": "sis-7"},
    )
    reissued = await c.post(
        f"/v1/badges/{live['id']}/reissue",
        json={
            "kind": "renewal",
            "old_badge": "supersede",
            "recipient": {"email": "educator@demo.test"},
            "valid_until": yesterday,
        },
        headers=h,
    )
    event = await c.post("/internal/events", json=_award_event(achievement["id"], valid_until=yesterday))
    backwards = await c.post(
        "/internal/events",
        json=_award_event(achievement["id"], valid_until=(now - dt.timedelta(days=31)).isoformat()),
    )
    listed = (await c.get("/v1/badges", headers=h)).json()["items"]
    live_now = (await c.get(f"/v1/badges/{live['id']}", headers=h)).json()

    assert earlier.status_code == 201, earlier.text
    for refused in (past, just_now, reissued):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/valid_until"]
        assert refused.json()["errors"][0]["detail"].startswith("must be later than the time of issue")
        assert "is in the past" in refused.json()["detail"]
    # A request sent again with its Idempotency-Key gets the badge it got then, expired or not.
    assert (replayed.status_code, replayed.headers.get("idempotent-replayed")) == (201, "true")
    assert replayed.json()["id"] == earlier.json()["id"]
    # The award event is refused for good (422: its outbox marks it dead), naming its own field.
    assert event.status_code == 422, event.text
    assert [e["pointer"] for e in event.json()["errors"]] == ["/body/payload/valid_until"]
    assert event.json()["detail"].startswith("the award.granted event cannot be issued as a badge: valid_until")
    # An award whose validity ends before it was awarded is refused the same way (it was a 500).
    assert backwards.status_code == 422, backwards.text
    assert backwards.json()["errors"][0]["pointer"] == "/body/payload"
    assert "valid_until must be after valid_from" in backwards.json()["detail"]
    assert {b["id"] for b in listed} == {earlier.json()["id"], live["id"]}, "nothing else was issued"
    assert live_now["lineage"]["replaced_by"] is None
