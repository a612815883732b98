"""The last seat under a real race: many educators register for one free seat at once.

The requests come through a real gateway with access tokens, as an LMS's would. In the catalog
each runs on its own connection in its own committed transaction (``make_committing_app``) behind
a real socket, and the racing requests enter the app together (``StartingGate``). Exactly
one gets the seat; the others are waitlisted in order; cancelling promotes exactly one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import httpx

from tests.conftest import AppFactory
from tests.support import LiveServer, StartingGate, bearer

RUNNERS = 12


async def test_exactly_one_request_gets_the_last_seat(
    make_committing_app: AppFactory, make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_committing_app("catalog", dev_seed=False)
    gate = StartingGate(app)
    server = await LiveServer(app).start()
    gateway = await LiveServer(await make_app("gateway", catalog_url=server.url)).start()
    tenant = str(uuid.uuid4())

    def who(subject: str, role: str = "educator") -> dict[str, str]:
        return bearer(keys_dir, roles=frozenset({role}), tenant_id=tenant, subject=subject)

    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
            coordinator = who("user:coordinator", "coordinator")
            offering = await client.post(
                "/v1/offerings",
                json={
                    "offering_type": "workshop",
                    "title": "Popular workshop",
                    "modality": "in_person",
                    "pacing": "cohort",
                    "duration_minutes": 60,
                    "provider": {"name": "District"},
                },
                headers=coordinator,
            )
            await client.post(f"/v1/offerings/{offering.json()['id']}/publish", headers=coordinator)
            starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
            session = await client.post(
                f"/v1/offerings/{offering.json()['id']}/sessions",
                json={
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
                    "time_zone": "UTC",
                    "location": "Library",
                    "capacity": 2,
                },
                headers=coordinator,
            )
            assert session.status_code == 201, session.text
            url = f"/v1/sessions/{session.json()['id']}/registrations"
            early = await client.post(url, headers=who("user:early"))
            assert early.json()["status"] == "registered"

            gate.arm(RUNNERS)
            racers = await asyncio.gather(*(client.post(url, headers=who(f"user:r{i}")) for i in range(RUNNERS)))
            listed = (await client.get(url, headers=coordinator)).json()
            seats = (await client.get(f"/v1/sessions/{session.json()['id']}", headers=coordinator)).json()

            assert [r.status_code for r in racers] == [201] * RUNNERS, [r.text for r in racers if r.status_code != 201]
            statuses = sorted(r.json()["status"] for r in racers)
            assert statuses == ["registered"] + ["waitlisted"] * (RUNNERS - 1)
            # Positions as they stand once everyone is in (each answer saw only what had committed).
            positions = sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted")
            assert positions == list(range(1, RUNNERS))
            assert sum(1 for r in listed if r["status"] == "registered") == 2
            assert (seats["seats_taken"], seats["seats_open"], seats["waitlisted"]) == (2, 0, RUNNERS - 1)

            # Both seated people cancel at once: two waitlisted educators are promoted, in order.
            seated = [r for r in listed if r["status"] == "registered"]
            first_two = [r["educator_id"] for r in listed if r["status"] == "waitlisted"][:2]
            gate.arm(2)
            cancels = await asyncio.gather(
                *(client.delete(f"{url}/{r['id']}", headers=who(r["educator_id"])) for r in seated)
            )
            after = (await client.get(f"/v1/sessions/{session.json()['id']}", headers=coordinator)).json()
            assert [c.status_code for c in cancels] == [200, 200], [c.text for c in cancels]
            assert sorted(c.json()["promoted"]["educator_id"] for c in cancels) == sorted(first_two)
            assert (after["seats_taken"], after["waitlisted"]) == (2, RUNNERS - 3)
    finally:
        await gateway.stop()
        await server.stop()
