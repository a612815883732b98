"""The learning record: where each tier stands, awards, PD minutes per licensure year and cycle,
stipends, competencies shown, goals — for the educator, coordinators and HR only."""

from __future__ import annotations

import copy
import datetime as dt

from services.credentials.deps import credentials_state
from services.credentials.models import LedgerEntry
from services.credentials.records.service import licensure_year_start
from tests.services.credentials.submissions.test_review_story import scores, words
from tests.services.credentials.test_catalog_references import Linked, linked  # noqa: F401
from tests.services.credentials.test_designs_and_pursuits import DESIGN, PLAN


def test_licensure_years_start_on_the_tenants_date() -> None:
    assert licensure_year_start(dt.date(2026, 12, 2), 7, 1) == dt.date(2026, 7, 1)
    assert licensure_year_start(dt.date(2026, 6, 30), 7, 1) == dt.date(2025, 7, 1)
    assert licensure_year_start(dt.date(2025, 3, 1), 2, 29) == dt.date(2025, 2, 28), "no 29 February in 2025"


async def test_the_record_shows_what_an_educator_has_done(linked: Linked, backend: str) -> None:  # noqa: F811
    c = linked.credentials
    competency = linked.items["INS.1"]  # a framework item of the district's catalog
    body = copy.deepcopy(DESIGN)
    body["competency_ids"] = [competency]
    design = (await c.client.post("/v1/credential-designs", json=body, headers=c.as_())).json()
    await c.client.post(f"/v1/credential-designs/{design['id']}/publish", headers=c.as_())
    await c.client.put("/v1/assessors/user:a1", json={}, headers=c.as_())
    educator = c.as_("educator", "user:e1")
    pid = (await c.client.post("/v1/pursuits", json={"design_id": design["id"]}, headers=educator)).json()["id"]
    await c.client.put(f"/v1/pursuits/{pid}/plan", json=PLAN, headers=educator)
    await c.client.post(f"/v1/pursuits/{pid}/plan/submit", headers=educator)
    await c.client.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "approve"}, headers=c.as_())
    sid = (await c.client.post(f"/v1/pursuits/{pid}/submissions", json={"tier": "learning"}, headers=educator)).json()[
        "id"
    ]
    for requirement, n in (("summary", 550), ("next_steps", 200)):
        await c.client.post(
            f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": words(n)}, headers=educator
        )
    review = (await c.client.post(f"/v1/submissions/{sid}/submit", headers=educator)).json()["reviews"][0]
    await c.client.post(
        f"/v1/reviews/{review['id']}/scores", json={"scores": scores()}, headers=c.as_("assessor", "user:a1")
    )
    # An attended workshop two licensure years ago, recorded by the catalog's event.
    async with credentials_state(c.app).sessionmaker() as session, session.begin():
        session.add(
            LedgerEntry(
                id="00000000-0000-4000-8000-000000000001",
                tenant_id="tenant-a",
                educator_id="user:e1",
                kind="pd_minutes",
                amount=90,
                status="recorded",
                source="attendance",
                source_id="00000000-0000-4000-8000-0000000000a1",
                source_recorded_at=dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
                activity_title="Questioning workshop",
                occurred_on=dt.date(2024, 10, 1),
                created_at=dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
                updated_at=dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
            )
        )

    mine = await c.client.get("/v1/educators/user:e1/record", headers=educator)
    by_hr = await c.client.get("/v1/educators/user:e1/record", headers=c.as_("hr", "user:hr"))
    by_peer = await c.client.get("/v1/educators/user:e1/record", headers=c.as_("educator", "user:e2"))
    assert mine.status_code == 200, mine.text
    record = mine.json()
    assert by_hr.json() == record
    via_me = await c.client.get("/v1/educators/me/record", headers=educator)
    assert via_me.status_code == 200, via_me.text
    assert via_me.json() == record, "`me` is the signed-in educator's own id"
    assert by_peer.status_code == 404
    (pursuit,) = record["pursuits"]
    assert [(t["key"], t["status"]) for t in pursuit["tiers"]] == [
        ("learning", "passed"),
        ("implementation", "not_started"),
        ("impact", "not_started"),
        ("sharing", "not_started"),
    ]
    (award,) = record["awards"]
    assert award["tier_key"] == "learning"
    minutes = record["pd_minutes"]
    assert minutes["total_minutes"] == 300 + 90
    years = {y["starts_on"]: y["minutes"] for y in minutes["by_licensure_year"]}
    assert years["2024-07-01"] == 90
    assert sum(years.values()) == 390
    assert minutes["current_cycle"]["minutes"] == 390, "both within the 5-year cycle"
    assert record["stipends_cents"] == {"pending": 7500, "approved": 0, "paid": 0}
    assert record["competency_ids"] == [competency]
    assert [g["topic"] for g in record["goals"]] == [PLAN["topic"]]
