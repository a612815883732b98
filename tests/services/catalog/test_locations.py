"""Every 201 of the catalog says where the created resource is (``Location``); a repeat that
creates nothing (200) names none."""

from __future__ import annotations

from tests.services.catalog.test_offerings import PACKAGE, Catalog, catalog  # noqa: F401


async def test_each_created_resource_is_named_by_location(catalog: Catalog, backend: str) -> None:  # noqa: F811
    c = catalog
    imported = await c.client.post("/v1/frameworks", json=PACKAGE, headers=c.as_())
    reimported = await c.client.post("/v1/frameworks", json=PACKAGE, headers=c.as_())
    assert imported.status_code == 201, imported.text
    assert imported.headers["location"] == f"/v1/frameworks/{imported.json()['id']}"
    framework = await c.client.get(imported.headers["location"], headers=c.as_())
    assert (framework.status_code, framework.json()["id"]) == (200, imported.json()["id"])
    assert reimported.status_code == 200
    assert "location" not in reimported.headers, "an update creates nothing"

    offering = await c.client.post(
        "/v1/offerings",
        json={
            "offering_type": "workshop",
            "title": "Exit tickets",
            "modality": "in_person",
            "pacing": "cohort",
            "duration_minutes": 120,
            "provider": {"name": "Demo USD"},
        },
        headers=c.as_(),
    )
    assert offering.status_code == 201, offering.text
    assert offering.headers["location"] == f"/v1/offerings/{offering.json()['id']}"
    await c.client.post(f"/v1/offerings/{offering.json()['id']}/publish", headers=c.as_())

    scheduled = await c.client.post(
        f"/v1/offerings/{offering.json()['id']}/sessions",
        json={
            "starts_at": "2030-01-10T15:00:00Z",
            "ends_at": "2030-01-10T18:00:00Z",
            "time_zone": "America/Chicago",
            "location": "Central Office, Room 4",
            "capacity": 2,
        },
        headers=c.as_(),
    )
    assert scheduled.status_code == 201, scheduled.text
    session_id = scheduled.json()["id"]
    assert scheduled.headers["location"] == f"/v1/sessions/{session_id}"
    fetched = await c.client.get(scheduled.headers["location"], headers=c.as_())
    assert (fetched.status_code, fetched.json()["id"]) == (200, session_id)

    educator = c.as_("educator", subject="user:e1")
    registered = await c.client.post(f"/v1/sessions/{session_id}/registrations", headers=educator)
    again = await c.client.post(f"/v1/sessions/{session_id}/registrations", headers=educator)
    assert registered.status_code == 201, registered.text
    location = registered.headers["location"]
    assert location == f"/v1/sessions/{session_id}/registrations/{registered.json()['id']}"
    assert again.status_code == 200
    assert "location" not in again.headers
    cancelled = await c.client.delete(location, headers=educator)
    assert cancelled.status_code in (200, 204), "the Location is the registration's address"
