"""The catalog as an LMS meets it: through the gateway, with the dev clients' OAuth tokens.

``demo-lms`` (Demo USD) and ``other-lms`` (Other District) are the seeded API clients; nothing of
one district may ever show in the other's answers.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.catalog.app import DEMO_FRAMEWORK
from services.gateway.deps import gateway_state
from services.gateway.seed import DEMO_TENANT_ID, seed_demo
from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer

PACKAGE: dict[str, Any] = json.loads(DEMO_FRAMEWORK.read_text())


@dataclass
class Districts:
    demo: httpx.AsyncClient
    other: httpx.AsyncClient
    anonymous: httpx.AsyncClient


async def _client(base: str, client_id: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    token = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, f"{client_id}-secret")
    )
    assert token.status_code == 200, token.text
    client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
    return client


@pytest.fixture
async def districts(make_app: AppFactory) -> AsyncIterator[Districts]:
    # dev_seed off: the framework import below is the test's own (and must create it).
    services = {
        name: await LiveServer(await make_app(name, **({"dev_seed": False} if name == "catalog" else {}))).start()
        for name in DOMAIN_SERVICES
    }
    gateway_app = await make_app("gateway", **{f"{name}_url": server.url for name, server in services.items()})
    async with gateway_state(gateway_app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(gateway_app).hasher)
        await session.commit()
    gateway = await LiveServer(gateway_app).start()
    clients = [await _client(gateway.url, "demo-lms"), await _client(gateway.url, "other-lms")]
    anonymous = httpx.AsyncClient(base_url=gateway.url, timeout=30)
    try:
        yield Districts(demo=clients[0], other=clients[1], anonymous=anonymous)
    finally:
        for client in [*clients, anonymous]:
            await client.aclose()
        await gateway.stop()
        for server in services.values():
            await server.stop()


def _codes(tree: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree:
        found[node["human_coding_scheme"]] = node["id"]
        found |= _codes(node["children"])
    return found


async def test_a_district_builds_its_catalog_and_educators_find_it(districts: Districts, backend: str) -> None:
    demo, other = districts.demo, districts.other

    # CASE round trip: import, export, re-import the export: the same items with the same ids.
    imported = await demo.post("/v1/frameworks", json=PACKAGE)
    assert imported.status_code == 201, imported.text
    framework_id = imported.json()["id"]
    tree = (await demo.get(f"/v1/frameworks/{framework_id}")).json()
    exported = (await demo.get(f"/v1/frameworks/{framework_id}/case")).json()
    again = await demo.post("/v1/frameworks", json=exported)
    tree_again = (await demo.get(f"/v1/frameworks/{framework_id}")).json()
    broken = copy.deepcopy(PACKAGE)
    broken["CFDocument"]["identifier"] = "3b1d3a80-0000-4000-8000-00000000f00d"
    broken["CFItems"][0]["fullStatement"] = ""
    malformed = await demo.post("/v1/frameworks", json=broken)
    frameworks = (await demo.get("/v1/frameworks")).json()
    assert (again.status_code, again.json()["id"]) == (200, framework_id)
    assert _codes(tree_again["tree"]) == _codes(tree["tree"])
    assert malformed.status_code == 422
    assert malformed.json()["errors"], "the problem lists what is wrong"
    assert [f["id"] for f in frameworks] == [framework_id], "nothing of the malformed package was stored"
    items = _codes(tree["tree"])

    created = await demo.post(
        "/v1/offerings",
        json={
            "offering_type": "micro_credential",
            "title": "Formative Assessment Micro-credential",
            "summary": "Show formative assessment in your classroom",
            "modality": "online_asynchronous",
            "pacing": "self_paced",
            "duration_minutes": 600,
            "provider": {"name": "Demo USD"},
            "competency_ids": [items["INS.1"]],
            "tags": ["assessment"],
        },
    )
    assert created.status_code == 201, created.text
    offering = created.json()
    etag = created.headers["etag"]
    published = await demo.post(f"/v1/offerings/{offering['id']}/publish", headers={"if-match": etag})
    stale = await demo.patch(f"/v1/offerings/{offering['id']}", json={"title": "x"}, headers={"if-match": etag})
    assert published.status_code == 200, published.text
    assert stale.status_code == 412

    found = (await demo.get("/v1/offerings", params={"q": "formative", "competency": items["INS"]})).json()
    # The district's own CASE identifier for the domain finds the same (issue 16).
    ins_guid = next(i["identifier"] for i in PACKAGE["CFItems"] if i.get("humanCodingScheme") == "INS")
    by_guid = (await demo.get("/v1/offerings", params={"q": "formative", "competency": ins_guid})).json()
    other_by_guid = (await other.get("/v1/offerings", params={"competency": ins_guid})).json()
    hidden = (await other.get("/v1/offerings", params={"q": "formative"})).json()
    other_get = await other.get(f"/v1/offerings/{offering['id']}")
    assert [o["id"] for o in found["items"]] == [offering["id"]]
    assert by_guid == found
    assert other_by_guid["total"] == 0, "the GUID names nothing in a district that never imported it"
    assert found["facets"]["offering_type"] == {"micro_credential": 1}
    assert hidden["total"] == 0, "another district never sees this offering"
    assert other_get.status_code == 404

    starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    scheduled = await demo.post(
        f"/v1/offerings/{offering['id']}/sessions",
        json={
            "starts_at": starts.isoformat(),
            "ends_at": (starts + dt.timedelta(hours=1)).isoformat(),
            "time_zone": "America/New_York",
            "online_url": "https://meet.example/fa",
            "capacity": 1,
        },
    )
    url = f"/v1/sessions/{scheduled.json()['id']}/registrations"
    seat = await demo.post(url, json={"educator_id": "educator-1"})
    waiting = await demo.post(url, json={"educator_id": "educator-2"})
    cancelled = await demo.delete(f"{url}/{seat.json()['id']}")
    assert (seat.json()["status"], waiting.json()["status"]) == ("registered", "waitlisted")
    assert cancelled.json()["promoted"]["educator_id"] == "educator-2"

    recommended = await demo.post(
        "/v1/recommendations",
        json={"targets": [{"id": items["INS.1"]}, {"id": items["COG.1"]}], "preferences": {"max_minutes": 900}},
    )
    (first,) = recommended.json()["items"]
    assert first["offering"]["id"] == offering["id"]
    assert first["reason"] == "covers 1 of your 2 goal competencies · online asynchronous · 10 h · start any time"

    closed = await districts.anonymous.get(f"/v1/offerings-public/{DEMO_TENANT_ID}")
    opened = await demo.put("/v1/offerings-settings", json={"public_catalog": True})
    public = await districts.anonymous.get(f"/v1/offerings-public/{DEMO_TENANT_ID}", params={"q": "assessment"})
    assert closed.status_code == 404
    assert opened.status_code == 200
    assert [o["id"] for o in public.json()["items"]] == [offering["id"]]
