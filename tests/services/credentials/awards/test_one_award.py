"""A tier is awarded once per educator while its award stands; after a revocation it may be
earned again, and the new award names the one it replaces."""

from __future__ import annotations

import copy
from typing import Any

from tests.services.credentials.submissions.test_review_story import scores, words
from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials, credentials  # noqa: F401

EDUCATOR = "user:e1"


async def _design(c: Credentials, tiers: int) -> str:
    body = copy.deepcopy(DESIGN)
    body["settings"]["learning_plan_required"] = False
    body["tiers"] = body["tiers"][:tiers]
    created = await c.client.post("/v1/credential-designs", json=body, headers=c.as_())
    assert created.status_code == 201, created.text
    published = await c.client.post(f"/v1/credential-designs/{created.json()['id']}/publish", headers=c.as_())
    assert published.status_code == 200, published.text
    assert (await c.client.put("/v1/assessors/user:a1", json={}, headers=c.as_())).status_code == 200
    return str(created.json()["id"])


async def _pass_tier1(c: Credentials, pursuit_id: str) -> dict[str, Any]:
    """Tier 1 submitted and passed; the award it made."""
    h = c.as_("educator", EDUCATOR)
    opened = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=h)
    assert opened.status_code == 201, opened.text
    sid = opened.json()["id"]
    for requirement, n in (("summary", 550), ("next_steps", 200)):
        added = await c.client.post(
            f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": words(n)}, headers=h
        )
        assert added.status_code == 201, added.text
    assert (await c.client.post(f"/v1/submissions/{sid}/submit", headers=h)).status_code == 200
    review = (await c.client.get(f"/v1/submissions/{sid}", headers=c.as_())).json()["reviews"][0]
    scored = await c.client.post(
        f"/v1/reviews/{review['id']}/scores",
        json={"scores": scores()},
        headers=c.as_("assessor", review["assessor_id"]),
    )
    assert scored.status_code == 200, scored.text
    awards = (await c.client.get("/v1/awards", params={"educator_id": EDUCATOR}, headers=c.as_())).json()
    return next(a for a in awards if a["submission_id"] == sid)


async def _start(c: Credentials, design_id: str) -> Any:
    return await c.client.post("/v1/pursuits", json={"design_id": design_id}, headers=c.as_("educator", EDUCATOR))


async def test_a_held_design_takes_no_new_pursuit_until_its_award_is_revoked(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    design_id = await _design(c, tiers=1)
    first = (await _start(c, design_id)).json()
    award = await _pass_tier1(c, first["id"])
    completed = (await c.client.get(f"/v1/pursuits/{first['id']}", headers=c.as_())).json()
    refused = await _start(c, design_id)
    revoked = await c.client.post(f"/v1/awards/{award['id']}/revoke", json={"reason": "integrity"}, headers=c.as_())
    second = await _start(c, design_id)
    assert second.status_code == 201, second.text
    renewed = await _pass_tier1(c, second.json()["id"])
    shown = (await c.client.get(f"/v1/awards/{renewed['id']}", headers=c.as_("educator", EDUCATOR))).json()
    record = (await c.client.get(f"/v1/educators/{EDUCATOR}/record", headers=c.as_())).json()
    ledger = (await c.client.get("/v1/ledger", params={"educator_id": EDUCATOR}, headers=c.as_())).json()["items"]

    assert (completed["state"], award["replaces_award_id"]) == ("completed", None)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/credentials/already-awarded")
    assert (refused.json()["award_id"], refused.json()["tier"]) == (award["id"], "learning")
    assert revoked.json()["status"] == "revoked"
    assert (shown["status"], shown["replaces_award_id"], shown["duplicate_of"]) == ("granted", award["id"], None)
    assert sorted((a["id"], a["status"], a["replaces_award_id"]) for a in record["awards"]) == sorted(
        [(award["id"], "revoked", None), (renewed["id"], "granted", award["id"])]
    )
    # The revoked award's unpaid stipend and minutes are void; the new award's stand.
    assert sorted((e["source_id"], e["kind"], e["status"]) for e in ledger) == sorted(
        [
            (award["id"], "pd_minutes", "void"),
            (award["id"], "stipend", "void"),
            (renewed["id"], "pd_minutes", "recorded"),
            (renewed["id"], "stipend", "pending"),
        ]
    )


async def test_a_revoked_tier_is_tried_again_in_the_same_pursuit(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    h = c.as_("educator", EDUCATOR)
    design_id = await _design(c, tiers=2)
    pursuit = (await _start(c, design_id)).json()
    award = await _pass_tier1(c, pursuit["id"])
    url = f"/v1/pursuits/{pursuit['id']}/submissions"
    held = await c.client.post(url, json={"tier": "learning"}, headers=h)
    other = await _start(c, design_id)
    await c.client.post(f"/v1/awards/{award['id']}/revoke", json={"reason": "integrity"}, headers=c.as_())
    # Tier 2 builds on tier 1, which no award holds any more.
    next_tier = await c.client.post(url, json={"tier": "implementation"}, headers=h)
    again = await _pass_tier1(c, pursuit["id"])

    assert held.status_code == 409, held.text
    assert (held.json()["award_id"], held.json()["type"].rsplit("/", 1)[-1]) == (award["id"], "already-awarded")
    assert other.status_code == 409, other.text
    assert (other.json()["pursuit_id"], other.json()["current_state"]) == (pursuit["id"], "active")
    assert next_tier.status_code == 409, next_tier.text
    assert next_tier.json()["allowed_actions"] == ["submit:learning"]
    assert again["replaces_award_id"] == award["id"]
    assert again["submission_id"] != award["submission_id"]
