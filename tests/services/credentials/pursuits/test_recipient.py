"""Whom a pursuit's badges name: the signed-in educator's own address from the gateway's token;
an explicit ``recipient_email`` only for API clients and coordinators acting for an educator."""

from __future__ import annotations

import copy

from sqlalchemy import select

from services.credentials.deps import credentials_state
from services.credentials.models import OutboxEvent
from tests.services.credentials.submissions.test_review_story import _tier1, scores
from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials, credentials  # noqa: F401
from tests.support import identity_headers


async def test_the_badges_name_the_address_the_educator_signed_in_with(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    body = copy.deepcopy(DESIGN)
    body["settings"]["learning_plan_required"] = False
    design = (await c.client.post("/v1/credential-designs", json=body, headers=c.as_())).json()
    await c.client.post(f"/v1/credential-designs/{design['id']}/publish", headers=c.as_())
    await c.client.put("/v1/assessors/user:a1", json={}, headers=c.as_())

    async def start(headers: dict[str, str], **fields: str) -> dict[str, object]:
        answer = await c.client.post("/v1/pursuits", json={"design_id": design["id"], **fields}, headers=headers)
        return {"status": answer.status_code, **answer.json()}

    signed_in = c.as_("educator", "user:e1", email="Ana.Lopez@demo.test")
    own = await start(signed_in)
    same_in_other_case = await start(
        c.as_("educator", "user:e4", email="kim@demo.test"), recipient_email="KIM@demo.TEST"
    )
    someone_else = await start(c.as_("educator", "user:e5", email="lee@demo.test"), recipient_email="pal@gmail.example")
    # A coordinator's own address never names someone else's badges.
    for_e2 = await start(c.as_(email="coordinator@demo.test"), educator_id="user:e2")
    for_e3 = await start(c.as_(email="coordinator@demo.test"), educator_id="user:e3", recipient_email="e3@demo.test")
    lms = identity_headers(
        c.keys_dir,
        "credentials",
        kind="client",
        subject="client:lms",
        roles=frozenset(),
        scopes=frozenset({"credentials:read", "credentials:write"}),
    )
    by_lms = await start(lms, educator_id="user:e6", recipient_email="e6@demo.test")
    # Without an address in the token (an older token, a test principal): the field, as before.
    no_address = await start(c.as_("educator", "user:e7"), recipient_email="e7@demo.test")
    e5_pursuits = await c.client.get("/v1/pursuits", headers=c.as_("educator", "user:e5"))

    assert (own["status"], own["recipient_email"]) == (201, "Ana.Lopez@demo.test")
    assert (same_in_other_case["status"], same_in_other_case["recipient_email"]) == (201, "kim@demo.test")
    assert someone_else["status"] == 422
    assert someone_else["errors"] == [
        {"pointer": "/body/recipient_email", "detail": "leave it out, or give lee@demo.test"}
    ]
    assert e5_pursuits.json() == [], "nothing was written"
    assert (for_e2["status"], for_e2["recipient_email"]) == (201, None)
    assert (for_e3["status"], for_e3["recipient_email"]) == (201, "e3@demo.test")
    assert (by_lms["status"], by_lms["recipient_email"]) == (201, "e6@demo.test")
    assert (no_address["status"], no_address["recipient_email"]) == (201, "e7@demo.test")

    # The award of the educator's first tier asks the badges service for a badge naming that address.
    submitted = await _tier1(c, str(own["id"]), signed_in)
    passed = await c.client.post(
        f"/v1/reviews/{submitted['reviews'][0]['id']}/scores",
        json={"scores": scores()},
        headers=c.as_("assessor", "user:a1"),
    )
    assert passed.json()["state"] == "passed", passed.text
    async with credentials_state(c.app).sessionmaker() as session:
        (event,) = await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "award.granted"))
    assert event.payload["recipient_email"] == "Ana.Lopez@demo.test"
