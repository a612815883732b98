"""PD minutes from the catalog: ``session.attended`` delivered over HTTP into the ledger, once
per attendance however often it arrives, corrections applied, late old versions ignored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.catalog.models import OfferingSession, OutboxEvent
from shared.outbox import HttpEventSink, envelope_of
from shared.state import ServiceState, state_of
from tests.conftest import AppFactory
from tests.support import LiveServer, asgi_client, identity_headers


async def test_attendance_becomes_one_ledger_entry_per_attendance(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    catalog = await make_app("catalog")
    credentials = await make_app("credentials")
    server = await LiveServer(credentials).start()
    sink = HttpEventSink({"session.": server.url})

    def who(app: str, role: str, subject: str) -> dict[str, str]:
        return identity_headers(keys_dir, app, roles=frozenset({role}), tenant_id="tenant-a", subject=subject)

    coordinator = who("catalog", "coordinator", "user:coordinator")
    try:
        async with asgi_client(catalog) as c, asgi_client(credentials) as cr:
            offering = (
                await c.post(
                    "/v1/offerings",
                    json={
                        "offering_type": "workshop",
                        "title": "Questioning Strategies",
                        "modality": "in_person",
                        "pacing": "cohort",
                        "duration_minutes": 180,
                        "credits": 0.3,
                        "provider": {"kind": "external", "name": "Learning Partners", "number": "PRV-77"},
                    },
                    headers=coordinator,
                )
            ).json()
            starts = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
            made = await c.post(
                f"/v1/offerings/{offering['id']}/sessions",
                json={
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + dt.timedelta(hours=3)).isoformat(),
                    "time_zone": "UTC",
                    "location": "Room 4",
                    "capacity": 30,
                },
                headers=coordinator,
            )
            url = f"/v1/sessions/{made.json()['id']}/attendance"
            await c.put(url, json={"entries": [{"educator_id": "user:e1", "minutes": 150}]}, headers=coordinator)
            await c.put(url, json={"entries": [{"educator_id": "user:e1", "minutes": 175}]}, headers=coordinator)
            async with state_of(catalog, ServiceState).sessionmaker() as session:
                events = list(
                    await session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id))
                )
                assert await session.get(OfferingSession, made.json()["id"]) is not None
            first, correction = (envelope_of(e) for e in events)
            # Delivered out of order and more than once: the correction, the original (late), both again.
            for envelope in (correction, first, correction, first):
                await sink(envelope)

            mine: dict[str, Any] = (
                await cr.get("/v1/ledger", headers=who("credentials", "educator", "user:e1"))
            ).json()
            others = (await cr.get("/v1/ledger", headers=who("credentials", "educator", "user:e2"))).json()
            hr = (
                await cr.get("/v1/ledger", params={"kind": "pd_minutes"}, headers=who("credentials", "hr", "user:hr"))
            ).json()
    finally:
        await sink.aclose()
        await server.stop()

    (entry,) = mine["items"]
    assert entry["amount"] == 175, "the newest correction stands, whatever order they came in"
    assert entry["source"] == "attendance"
    assert (entry["activity_title"], entry["provider_name"], entry["provider_number"], entry["credits"]) == (
        "Questioning Strategies",
        "Learning Partners",
        "PRV-77",
        0.3,
    )
    assert entry["occurred_on"] == starts.date().isoformat()
    assert others["items"] == []
    assert [e["id"] for e in hr["items"]] == [entry["id"]]
