"""One award per tier per educator, under a real race and through the gateway.

The credentials app runs each request on its own connection in its own committed transaction
(``make_committing_app``) behind a real socket, the gateway in front of it; racing requests
enter the app together (``StartingGate``). Twenty starts of one design by one educator make one
pursuit; twenty decisions that would each award tier 1 — on the tier's submission of a
withdrawn pursuit and on that of the pursuit started after it — make one award. The learning
record, the ledger and the completions export show it once.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AppFactory
from tests.services.credentials.submissions.test_review_story import scores, words
from tests.services.credentials.test_designs_and_pursuits import DESIGN
from tests.support import LiveServer, StartingGate, bearer

RUNNERS = 20
EDUCATOR = "user:educator"


async def test_a_tier_is_awarded_once_however_many_ask_at_once(
    make_committing_app: AppFactory, make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_committing_app("credentials", dev_seed=False)
    gate = StartingGate(app)
    server = await LiveServer(app).start()
    gateway = await LiveServer(await make_app("gateway", credentials_url=server.url)).start()
    tenant = str(uuid.uuid4())

    def who(subject: str, role: str) -> dict[str, str]:
        return bearer(keys_dir, roles=frozenset({role}), tenant_id=tenant, subject=subject)

    coordinator, educator = who("user:coordinator", "coordinator"), who(EDUCATOR, "educator")
    body = copy.deepcopy(DESIGN)
    # Two-stage: a pass is a recommendation until a coordinator grants it, so the decisions that
    # award can be sent at once.
    body["settings"].update({"learning_plan_required": False, "two_stage": True})
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as c:

            async def recommended(pursuit_id: str) -> str:
                """Tier 1 of the pursuit submitted and scored: a recommendation waiting."""
                opened = await c.post(
                    f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator
                )
                assert opened.status_code == 201, opened.text
                sid = str(opened.json()["id"])
                for requirement, n in (("summary", 550), ("next_steps", 200)):
                    added = await c.post(
                        f"/v1/submissions/{sid}/evidence",
                        data={"requirement": requirement, "text": words(n)},
                        headers=educator,
                    )
                    assert added.status_code == 201, added.text
                submitted = await c.post(f"/v1/submissions/{sid}/submit", json={}, headers=educator)
                assert submitted.status_code == 200, submitted.text
                review = (await c.get(f"/v1/submissions/{sid}", headers=coordinator)).json()["reviews"][0]
                scored = await c.post(
                    f"/v1/reviews/{review['id']}/scores",
                    json={"scores": scores()},
                    headers=who(review["assessor_id"], "assessor"),
                )
                assert scored.status_code == 200, scored.text
                return sid

            created = await c.post("/v1/credential-designs", json=body, headers=coordinator)
            assert created.status_code == 201, created.text
            design_id = created.json()["id"]
            published = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=coordinator)
            assert published.status_code == 200, published.text
            assert (await c.put("/v1/assessors/user:a1", json={}, headers=coordinator)).status_code == 200

            # Twenty starts at once (a double-clicking LMS): one pursuit; the others name it.
            gate.arm(RUNNERS)
            starts = await asyncio.gather(
                *(c.post("/v1/pursuits", json={"design_id": design_id}, headers=educator) for _ in range(RUNNERS))
            )
            assert sorted(r.status_code for r in starts) == [201] + [409] * (RUNNERS - 1), [r.text for r in starts]
            first = next(r for r in starts if r.status_code == 201).json()["id"]
            refusals = [r.json() for r in starts if r.status_code == 409]
            assert {p["type"].rsplit("/", 1)[-1] for p in refusals} == {"already-pursuing"}
            assert {p["pursuit_id"] for p in refusals} == {first}

            # Tier 1 waits for a grant; the educator withdraws and starts again (now allowed), and
            # tier 1 of the new pursuit waits for a grant too: two decisions could each award it.
            stale = await recommended(first)
            withdrawn = await c.post(f"/v1/pursuits/{first}/withdraw", json={}, headers=educator)
            assert withdrawn.status_code == 200, withdrawn.text
            second = await c.post("/v1/pursuits", json={"design_id": design_id}, headers=educator)
            assert second.status_code == 201, second.text
            current = await recommended(second.json()["id"])

            before = {
                sid: (await c.get(f"/v1/submissions/{sid}", headers=coordinator)).json() for sid in (stale, current)
            }
            assert {b["state"] for b in before.values()} == {"recommended"}

            # Twenty coordinators' grants at once, ten on each submission: one award.
            gate.arm(RUNNERS)
            grants = await asyncio.gather(
                *(
                    c.post(
                        f"/v1/submissions/{(stale, current)[i % 2]}/decision",
                        json={"decision": "grant"},
                        headers=who(f"user:c{i}", "coordinator"),
                    )
                    for i in range(RUNNERS)
                )
            )
            codes = sorted(r.status_code for r in grants)
            assert codes == [200] + [409] * (RUNNERS - 1), [r.text for r in grants]
            won = next(r for r in grants if r.status_code == 200).json()
            awards = (await c.get(f"/v1/awards?educator_id={EDUCATOR}", headers=coordinator)).json()
            assert [(a["tier_key"], a["submission_id"], a["status"]) for a in awards] == [
                ("learning", won["id"], "granted")
            ]
            award = awards[0]
            # Every grant on the other submission was refused naming the award that stands.
            loser = current if won["id"] == stale else stale
            refused = [
                r.json() for i, r in enumerate(grants) if r.status_code == 409 and (stale, current)[i % 2] == loser
            ]
            assert len(refused) == RUNNERS // 2  # nothing of theirs committed: each was refused alike
            assert {p["type"].rsplit("/", 1)[-1] for p in refused} == {"already-awarded"}
            assert {(p["award_id"], p["tier"]) for p in refused} == {(award["id"], "learning")}
            # ... and wrote nothing: the other recommendation still waits as it was.
            other = (await c.get(f"/v1/submissions/{loser}", headers=coordinator)).json()
            assert (other["state"], other["decided_at"]) == ("recommended", before[loser]["decided_at"])

            # Another try at the tier: a new submission or a new pursuit are refused.
            again = await c.post(
                f"/v1/pursuits/{second.json()['id']}/submissions", json={"tier": "learning"}, headers=educator
            )
            third = await c.post("/v1/pursuits", json={"design_id": design_id}, headers=educator)
            assert again.status_code == 409, again.text
            assert again.json()["award_id"] == award["id"]
            assert third.status_code == 409, third.text
            assert third.json()["pursuit_id"] == second.json()["id"]

            # The record, the ledger and the HR export show the award once.
            record = (await c.get(f"/v1/educators/{EDUCATOR}/record", headers=coordinator)).json()
            assert [(a["id"], a["tier_key"]) for a in record["awards"]] == [(award["id"], "learning")]
            ledger = (await c.get(f"/v1/ledger?educator_id={EDUCATOR}", headers=coordinator)).json()["items"]
            assert sorted((e["kind"], e["amount"], e["source_id"]) for e in ledger) == [
                ("pd_minutes", 300, award["id"]),
                ("stipend", 7500, award["id"]),
            ]
            today = dt.date.today()
            export = await c.get(
                "/v1/exports/completions.csv",
                params={"from": str(today - dt.timedelta(days=1)), "to": str(today + dt.timedelta(days=1))},
                headers=coordinator,
            )
            assert export.status_code == 200, export.text
            rows: list[dict[str, Any]] = [
                row for row in csv.DictReader(io.StringIO(export.text)) if row["educator_id"] == EDUCATOR
            ]
            assert [(row["minutes"], row["activity_title"]) for row in rows] == [
                ("300", f"{DESIGN['name']} — {DESIGN['tiers'][0]['title']}")
            ]
    finally:
        await gateway.stop()
        await server.stop()
