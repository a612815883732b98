"""Decisions under a real race (own connections, committed transactions, requests let in
together): of two decisions on one submission exactly one stands, the other gets a 409."""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path

import httpx

from tests.conftest import AppFactory
from tests.services.credentials.test_designs_and_pursuits import DESIGN
from tests.support import LiveServer, StartingGate, identity_headers


async def test_two_decisions_at_once_one_stands(make_committing_app: AppFactory, keys_dir: Path, backend: str) -> None:
    app = await make_committing_app("credentials", dev_seed=False)
    gate = StartingGate(app)
    server = await LiveServer(app).start()
    tenant = str(uuid.uuid4())

    def who(role: str, subject: str) -> dict[str, str]:
        return identity_headers(keys_dir, "credentials", roles=frozenset({role}), tenant_id=tenant, subject=subject)

    coordinator, educator = who("coordinator", "user:c1"), who("educator", "user:e1")
    body = copy.deepcopy(DESIGN)
    body["settings"].update({"learning_plan_required": False, "two_stage": True})
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
            design = (await c.post("/v1/credential-designs", json=body, headers=coordinator)).json()
            await c.post(f"/v1/credential-designs/{design['id']}/publish", headers=coordinator)
            await c.put("/v1/assessors/user:a1", json={}, headers=coordinator)
            pursuit = (await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=educator)).json()
            sid = (
                await c.post(f"/v1/pursuits/{pursuit['id']}/submissions", json={"tier": "learning"}, headers=educator)
            ).json()["id"]
            for requirement, n in (("summary", 550), ("next_steps", 200)):
                await c.post(
                    f"/v1/submissions/{sid}/evidence",
                    data={"requirement": requirement, "text": " ".join(["word"] * n)},
                    headers=educator,
                )
            submitted = (await c.post(f"/v1/submissions/{sid}/submit", headers=educator)).json()
            review = (await c.get(f"/v1/submissions/{sid}", headers=coordinator)).json()["reviews"][0]
            assessor = who("assessor", review["assessor_id"])
            levels = {"understanding": "on_track", "application": "on_track", "length": "on_track"}
            pass_scores = [{"criterion": k, "level": v} for k, v in levels.items()]
            comments = ["first tab", "second tab"]

            # The assessor's two tabs submit their scores at once: one is recorded.
            gate.arm(2)
            scored = await asyncio.gather(
                *(
                    c.post(
                        f"/v1/reviews/{review['id']}/scores",
                        json={"scores": pass_scores, "comment": comment},
                        headers=assessor,
                    )
                    for comment in comments
                )
            )
            assert sorted(r.status_code for r in scored) == [200, 409], [r.text for r in scored]
            after = (await c.get(f"/v1/submissions/{sid}", headers=coordinator)).json()
            assert submitted["state"] == "in_review"
            assert after["state"] == "recommended"
            assert [r["comment"] for r in after["reviews"]] == [
                next(r for r in scored if r.status_code == 200).json()["reviews"][0]["comment"]
            ]

            # Two coordinators decide the recommendation at once: grant and deny, one stands.
            gate.arm(2)
            decided = await asyncio.gather(
                c.post(
                    f"/v1/submissions/{sid}/decision", json={"decision": "grant"}, headers=who("coordinator", "user:c2")
                ),
                c.post(
                    f"/v1/submissions/{sid}/decision", json={"decision": "deny"}, headers=who("coordinator", "user:c3")
                ),
            )
            assert sorted(r.status_code for r in decided) == [200, 409], [r.text for r in decided]
            final = (await c.get(f"/v1/submissions/{sid}", headers=coordinator)).json()["state"]
            assert final == next(r for r in decided if r.status_code == 200).json()["state"]
    finally:
        await server.stop()
