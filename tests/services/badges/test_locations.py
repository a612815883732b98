"""Every 201 of the badges service says where the created resource is (``Location``)."""

from __future__ import annotations

from tests.services.badges.conftest import ACHIEVEMENT, ISSUER, Badges


async def test_each_created_resource_is_named_by_location(badges: Badges, backend: str) -> None:
    c = badges
    issuer = await c.client.post("/v1/issuers", json=ISSUER, headers=c.as_())
    assert issuer.status_code == 201, issuer.text
    issuer_id = issuer.json()["id"]
    assert issuer.headers["location"] == f"/v1/issuers/{issuer_id}"
    fetched = await c.client.get(issuer.headers["location"], headers=c.as_())
    assert (fetched.status_code, fetched.json()["id"]) == (200, issuer_id)

    rotated = await c.client.post(f"/v1/issuers/{issuer_id}/keys", json={"purpose": "jose"}, headers=c.as_())
    assert rotated.status_code == 201, rotated.text
    assert rotated.headers["location"] == f"/v1/issuers/{issuer_id}/keys/{rotated.json()['id']}"

    achievement = await c.client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer_id}, headers=c.as_())
    assert achievement.status_code == 201, achievement.text
    achievement_id = achievement.json()["id"]
    assert achievement.headers["location"] == f"/v1/achievements/{achievement_id}"
    fetched = await c.client.get(achievement.headers["location"], headers=c.as_())
    assert (fetched.status_code, fetched.json()["id"]) == (200, achievement_id)

    issued = await c.issue(achievement_id)
    assert issued.status_code == 201, issued.text
    assert issued.headers["location"] == f"/v1/badges/{issued.json()['id']}"
