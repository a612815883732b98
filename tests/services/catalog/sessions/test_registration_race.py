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
from tests.support import LiveServer, StartingGate, bearer, identity_headers

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


async def test_concurrent_repeats_never_take_two_seats_and_one_etag_wins_once(
    make_committing_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_committing_app("catalog", dev_seed=False)
    gate = StartingGate(app)
    server = await LiveServer(app).start()
    tenant = str(uuid.uuid4())

    def who(subject: str, role: str = "educator") -> dict[str, str]:
        return identity_headers(keys_dir, "catalog", roles=frozenset({role}), tenant_id=tenant, subject=subject)

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            coordinator = who("user:coordinator", "coordinator")
            created = await client.post(
                "/v1/offerings",
                json={
                    "offering_type": "workshop",
                    "title": "Workshop",
                    "modality": "in_person",
                    "pacing": "cohort",
                    "duration_minutes": 60,
                    "provider": {"name": "District"},
                },
                headers=coordinator,
            )
            offering_id = created.json()["id"]
            etag = created.headers["etag"]

            # Two edits naming the same ETag at once: one is applied, the other gets 412.
            gate.arm(2)
            edits = await asyncio.gather(
                *(
                    client.patch(
                        f"/v1/offerings/{offering_id}",
                        json={"summary": f"edit {i}"},
                        headers={**coordinator, "if-match": etag},
                    )
                    for i in range(2)
                )
            )
            assert sorted(e.status_code for e in edits) == [200, 412], [e.text for e in edits]

            await client.post(f"/v1/offerings/{offering_id}/publish", headers=coordinator)
            starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
            made = await client.post(
                f"/v1/offerings/{offering_id}/sessions",
                json={
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
                    "time_zone": "UTC",
                    "location": "Library",
                    "capacity": 5,
                },
                headers=coordinator,
            )
            url = f"/v1/sessions/{made.json()['id']}/registrations"
            first = await client.post(url, headers=who("user:e1"))
            await client.delete(f"{url}/{first.json()['id']}", headers=who("user:e1"))

            # The same educator registering again four times at once takes one seat.
            gate.arm(4)
            again = await asyncio.gather(*(client.post(url, headers=who("user:e1")) for _ in range(4)))
            seats = (await client.get(f"/v1/sessions/{made.json()['id']}", headers=coordinator)).json()
            assert sorted(r.status_code for r in again) == [200, 200, 200, 201], [r.text for r in again]
            assert {r.json()["status"] for r in again} == {"registered"}
            assert seats["seats_taken"] == 1
    finally:
        await server.stop()
