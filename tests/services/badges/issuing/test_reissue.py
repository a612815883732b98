"""Expiry reminders and reissuing: renewals and corrections linked to the badge they replace."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.services.badges.conftest import Badges, issuing_as_of

RECIPIENT = {"email": "educator@demo.test"}


def _reissue(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "renewal",
        "old_badge": "supersede",
        "recipient": RECIPIENT,
        "results": [{"criterion": "plan", "level": "proficient"}],
        **overrides,
    }


def _at(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


async def test_expiring_within_finds_active_badges_whose_validity_ends_soon(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    soon = (await badges.issue(achievement["id"], valid_until=_at(10))).json()
    later = (await badges.issue(achievement["id"], valid_until=_at(90))).json()
    await badges.issue(achievement["id"])  # never expires
    with issuing_as_of(dt.datetime.now(dt.UTC) - dt.timedelta(days=60)):
        past = (await badges.issue(achievement["id"], valid_from=_at(-60), valid_until=_at(-1))).json()
    revoked = (await badges.issue(achievement["id"], valid_until=_at(5))).json()
    await badges.client.post(f"/v1/badges/{revoked['id']}/revoke", json={}, headers=badges.as_())
    c, h = badges.client, badges.as_()

    within_30 = await c.get("/v1/badges", params={"expiring_within": "30d"}, headers=h)
    within_120 = await c.get("/v1/badges", params={"expiring_within": "120d"}, headers=h)
    bad = await c.get("/v1/badges", params={"expiring_within": "30"}, headers=h)

    assert [b["id"] for b in within_30.json()["items"]] == [soon["id"]], "not expired, not revoked, not later"
    assert {b["id"] for b in within_120.json()["items"]} == {soon["id"], later["id"]}
    assert past["id"] not in {b["id"] for b in within_120.json()["items"]}
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/query/expiring_within"


async def test_a_renewal_supersedes_and_a_correction_revokes(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    old = (await badges.issue(achievement["id"], valid_until=_at(10))).json()
    c, h = badges.client, badges.as_()

    renewed = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(valid_until=_at(400), reason="cycle renewed"), headers=h
    )
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()
    old_now = (await c.get(f"/v1/badges/{old['id']}", headers=h)).json()
    assert renewed.headers["location"] == f"/v1/badges/{new['id']}"
    assert new["lineage"] == {
        "replaces": old["id"],
        "replaced_by": None,
        "kind": "renewal",
        "reason": "cycle renewed",
        "predecessor_outcome": "superseded",
    }
    assert old_now["lineage"]["replaced_by"] == new["id"]
    assert old_now["status"] == "active", "superseded: still valid until it expires"
    assert new["valid_until"] > old["valid_until"]
    same_identity = old["credential"]["credentialSubject"]["identifier"][0]["identityHash"]
    assert new["credential"]["credentialSubject"]["identifier"][0]["identityHash"] != same_identity, "a fresh salt"
    assert new["credential"]["credentialSubject"]["id"] == old["credential"]["credentialSubject"]["id"], (
        "the same recipient keeps their pseudonymous subject id, so a wallet relates the two"
    )
    reminded = await c.get("/v1/badges", params={"expiring_within": "30d"}, headers=h)
    assert reminded.json()["items"] == [], "a renewed badge needs no reminder"

    twice = await c.post(f"/v1/badges/{old['id']}/reissue", json=_reissue(), headers=h)
    assert twice.status_code == 409
    assert new["id"] in twice.json()["detail"]

    corrected = await c.post(
        f"/v1/badges/{new['id']}/reissue",
        json=_reissue(kind="correction", old_badge="revoke", narrative="The right narrative.", reason="typo"),
        headers=h,
    )
    assert corrected.status_code == 201, corrected.text
    middle = (await c.get(f"/v1/badges/{new['id']}", headers=h)).json()
    assert middle["status"] == "revoked"
    assert corrected.json()["id"] in middle["status_reason"]
    assert middle["lineage"]["replaces"] == old["id"], "the chain stays visible both ways"
    assert corrected.json()["lineage"]["predecessor_outcome"] == "revoked"

    report = await c.post("/v1/verify", json={"credential": middle["credential"]})
    assert report.json()["verified"] is False, "a revoked predecessor stops verifying"
    fresh = await c.post("/v1/verify", json={"credential": corrected.json()["credential"]})
    assert fresh.json()["verified"] is True, fresh.text


async def test_a_reissue_must_name_the_same_recipient_and_an_active_badge(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    old = (await badges.issue(achievement["id"])).json()
    c, h = badges.client, badges.as_()

    someone_else = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(recipient={"email": "other@demo.test"}), headers=h
    )
    wrong_results = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(results=[{"criterion": "plan", "level": "x"}]), headers=h
    )
    backwards = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(valid_from=_at(2), valid_until=_at(1)), headers=h
    )
    other_tenant = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(), headers=badges.as_(tenant="tenant-b")
    )
    reader = await c.post(
        f"/v1/badges/{old['id']}/reissue", json=_reissue(), headers=badges.as_(roles=frozenset({"educator"}))
    )
    assert someone_else.status_code == 422
    assert someone_else.json()["errors"][0]["pointer"] == "/body/recipient/email"
    assert wrong_results.status_code == 422
    assert wrong_results.json()["errors"][0]["pointer"] == "/body/results/0/level"
    assert backwards.status_code == 422
    assert other_tenant.status_code == 404
    assert reader.status_code == 403
    unchanged = (await c.get(f"/v1/badges/{old['id']}", headers=h)).json()
    assert unchanged["lineage"]["replaced_by"] is None, "nothing was written by the refused requests"
    assert (await c.get("/v1/badges", headers=h)).json()["items"].__len__() == 1

    await c.post(f"/v1/badges/{old['id']}/revoke", json={"reason": "integrity"}, headers=h)
    after_revoke = await c.post(f"/v1/badges/{old['id']}/reissue", json=_reissue(), headers=h)
    assert after_revoke.status_code == 409
    assert after_revoke.json()["current_status"] == "revoked"


async def test_the_public_page_shows_the_lineage_both_ways(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    old = (await badges.issue(achievement["id"])).json()
    new = (
        await badges.client.post(
            f"/v1/badges/{old['id']}/reissue", json=_reissue(kind="correction"), headers=badges.as_()
        )
    ).json()
    old_page = (await badges.client.get(f"/ob/badges/{old['id']}")).text
    new_page = (await badges.client.get(f"/ob/badges/{new['id']}")).text
    assert 'id="replaced-by"' in old_page
    assert new["links"]["page"] in old_page
    assert 'id="replaces"' in new_page
    assert "corrects" in new_page
    assert old["links"]["page"] in new_page
    assert 'id="replaces"' not in old_page
    assert 'id="replaced-by"' not in new_page
