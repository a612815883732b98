"""The two search engines answer alike (ADR 0016): the in-memory index, kept in step with the
database by search versions, and the database's full-text index (PostgreSQL tsvector + GIN,
SQLite FTS5).

One catalog of varied offerings and sessions; a few hundred generated searches (words, prefixes,
every filter, every sort, small pages followed by their cursors), each asked of both engines,
whose whole answers must be equal. Then the catalog changes (edits, a retirement, new and
cancelled sessions, a seat taken and freed) and the searches are asked again, so the index's
catch-up reads are checked too, not only its first read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.catalog.deps import catalog_state
from services.catalog.search.memory import SearchIndex
from tests.conftest import AppFactory
from tests.services.catalog.test_offerings import PACKAGE, SOON, Catalog
from tests.support import asgi_client

WORDS = ("coaching", "assessment", "literacy", "math", "equity", "feedback", "reading", "science", "data", "culture")
OTHER = ("students", "teachers", "classroom", "planning", "inquiry", "writing", "routines", "discourse")
TYPES = ("workshop", "academy", "online_course", "coaching_cycle", "plc")
MODALITIES = ("in_person", "online_synchronous", "online_asynchronous", "blended")
ROLES = ("teacher", "coach", "principal")
BANDS = ("k-2", "3-5", "6-8")
PROVIDERS = ({"name": "Demo USD"}, {"kind": "external", "name": "Learning Partners", "number": "PRV-77"})


def offering_body(rng: random.Random, items: dict[str, str]) -> dict[str, Any]:
    return {
        "offering_type": rng.choice(TYPES),
        "title": " ".join(rng.sample(WORDS, rng.randint(1, 3))).title(),
        "summary": " ".join(rng.sample(WORDS + OTHER, rng.randint(2, 5))),
        "description": " ".join(rng.sample(OTHER, 3)),
        "modality": rng.choice(MODALITIES),
        "pacing": rng.choice(("self_paced", "cohort")),
        "duration_minutes": rng.choice((30, 60, 90, 120, 240, 600)),
        "level": rng.choice(("introductory", "intermediate", "advanced", None)),
        "tags": rng.sample(OTHER, rng.randint(0, 2)),
        "competency_ids": rng.sample(sorted(items.values()), rng.randint(0, 2)),
        "audience": {
            "roles": rng.sample(ROLES, rng.randint(0, 2)),
            "grade_bands": rng.sample(BANDS, rng.randint(0, 1)),
        },
        "provider": rng.choice(PROVIDERS),
    }


def session_body(rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    starts = SOON + dt.timedelta(days=rng.randint(-9, 30), hours=rng.randint(0, 8))
    body: dict[str, Any] = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(hours=2)).isoformat(),
        "time_zone": "America/Chicago",
        "location": "Room 4",
        "capacity": rng.choice((1, 1, 5)),
    }
    window = rng.random()
    if window < 0.2:  # registration not open yet
        body["registration_opens_at"] = (now + dt.timedelta(days=1)).isoformat()
    elif window < 0.3:  # registration already closed
        body["registration_opens_at"] = (now - dt.timedelta(days=3)).isoformat()
        body["registration_closes_at"] = (now - dt.timedelta(days=1)).isoformat()
    return body


def search_params(rng: random.Random, items: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": rng.choice((3, 5, 8))}
    if rng.random() < 0.6:
        words = rng.sample(WORDS + OTHER, rng.randint(1, 2))
        if rng.random() < 0.4:  # still typing
            words[-1] = words[-1][: rng.randint(2, len(words[-1]))]
        params["q"] = " ".join(words)
    chosen = {
        "offering_type": lambda: rng.sample(TYPES, rng.randint(1, 2)),
        "modality": lambda: [rng.choice(MODALITIES)],
        "pacing": lambda: [rng.choice(("self_paced", "cohort"))],
        "level": lambda: [rng.choice(("introductory", "advanced"))],
        "provider_kind": lambda: [rng.choice(("district", "external"))],
        "provider": lambda: rng.choice(("learning partners", "PRV-77", "Demo USD")),
        "competency": lambda: rng.sample(sorted(items.values()), rng.randint(1, 2)),
        "min_minutes": lambda: rng.choice((60, 120)),
        "max_minutes": lambda: rng.choice((90, 240)),
        "role": lambda: rng.choice(ROLES),
        "grade_band": lambda: rng.choice(BANDS),
        "has_open_seats": lambda: "true",
        "session_from": lambda: (SOON + dt.timedelta(days=rng.randint(-5, 10))).isoformat(),
        "session_to": lambda: (SOON + dt.timedelta(days=rng.randint(5, 25))).isoformat(),
    }
    for name in rng.sample(sorted(chosen), rng.choice((0, 1, 1, 2, 3))):
        params[name] = chosen[name]()
    params["sort"] = rng.choice(("relevance", "soonest", "shortest", "newest"))
    return params


async def ask(catalog: Catalog, engine: SearchIndex | None, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The search's first pages (up to three), as that engine answers them."""
    catalog_state(catalog.app).search_index = engine
    pages = []
    cursor = None
    for _ in range(3):
        asked = {**params, **({"cursor": cursor} if cursor else {})}
        got = await catalog.client.get("/v1/offerings", params=asked, headers=catalog.as_("educator"))
        assert got.status_code == 200, got.text
        pages.append(got.json())
        cursor = got.json()["next_cursor"]
        if cursor is None:
            break
    return pages


async def compare(catalog: Catalog, index: SearchIndex, rng: random.Random, items: dict[str, str], n: int) -> int:
    """Ask ``n`` generated searches of both engines; the answers must be equal. Returns how
    many found something (so that the searches are known to be more than empty pages)."""
    found = 0
    for _ in range(n):
        params = search_params(rng, items)
        from_database = await ask(catalog, None, params)
        from_memory = await ask(catalog, index, params)
        assert from_memory == from_database, params
        found += from_database[0]["total"] > 0
    return found


@pytest.fixture
async def catalog(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Catalog]:
    app = await make_app("catalog", search_engine="database")  # the test swaps the engine per request
    async with asgi_client(app) as client:
        yield Catalog(app=app, client=client, keys_dir=keys_dir)


async def test_memory_index_answers_as_the_database_does_and_follows_changes(catalog: Catalog, backend: str) -> None:
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    items = await catalog.framework()
    index = SearchIndex()
    offerings = []
    for n in range(60):
        offerings.append(await catalog.offering(publish=n % 9 != 0, **offering_body(rng, items)))
    sessions = []
    for offering in rng.sample([o for o in offerings if o["status"] == "published"], 35):
        for _ in range(rng.randint(1, 2)):
            sessions.append(await catalog.session(offering["id"], **session_body(rng, now)))

    # A session whose one seat decides whether its offering has open seats.
    open_one = next(
        s
        for s in sessions
        if s["capacity"] == 1
        and s["registration_opens_at"] is None
        and [other["offering_id"] for other in sessions].count(s["offering_id"]) == 1
    )

    async def with_open_seats() -> list[str]:
        pages = await ask(catalog, index, {"has_open_seats": "true", "limit": 100, "sort": "newest"})
        return [hit["id"] for hit in pages[0]["items"]]

    assert await compare(catalog, index, rng, items, 120) > 60
    assert open_one["offering_id"] in await with_open_seats()
    # A competency named by the district's CASE identifier (the CFItem GUID) finds what its
    # internal id finds, on both engines (issue 16).
    guids = {str(item["humanCodingScheme"]): str(item["identifier"]) for item in PACKAGE["CFItems"]}
    matched = 0
    for code, item_id in sorted(items.items()):
        params = {"limit": 100, "sort": "shortest"}
        by_id = await ask(catalog, None, {**params, "competency": [item_id]})
        assert by_id == await ask(catalog, index, {**params, "competency": [item_id]}), code
        assert by_id == await ask(catalog, None, {**params, "competency": [guids[code]]}), code
        assert by_id == await ask(catalog, index, {**params, "competency": [guids[code]]}), code
        matched += by_id[0]["total"] > 0
    assert matched > len(items) / 2

    # Changes after the index has read the tenant: it must catch up with each of them.
    edited = offerings[1]
    changed = await catalog.client.patch(
        f"/v1/offerings/{edited['id']}",
        json={"title": "Science Feedback Studio", "duration_minutes": 45, "tags": ["inquiry"]},
        headers=catalog.as_(),
    )
    assert changed.status_code == 200, changed.text
    retired = await catalog.client.post(f"/v1/offerings/{offerings[2]['id']}/retire", headers=catalog.as_())
    assert retired.status_code == 200, retired.text
    await catalog.offering(title="Equity Walkthrough", duration_minutes=60, audience={"roles": ["coach"]})
    seated = await catalog.client.post(
        f"/v1/sessions/{open_one['id']}/registrations", headers=catalog.as_("educator", subject="user:e1")
    )
    assert seated.status_code == 201, seated.text
    called_off = await catalog.client.post(f"/v1/sessions/{sessions[0]['id']}/cancel", headers=catalog.as_())
    assert called_off.status_code == 200, called_off.text

    assert await compare(catalog, index, rng, items, 80) > 30
    assert open_one["offering_id"] not in await with_open_seats()

    freed = await catalog.client.delete(
        f"/v1/sessions/{open_one['id']}/registrations/{seated.json()['id']}", headers=catalog.as_()
    )
    assert freed.status_code in (200, 204), freed.text
    assert open_one["offering_id"] in await with_open_seats()
    assert await compare(catalog, index, rng, items, 40) > 15


async def test_a_starting_service_reads_every_tenants_index_in_the_background(
    make_committing_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    """With committed offerings in a tenant, a new catalog process reads that tenant's index
    on start, before any search, and the first search is answered from it."""
    tenant = str(uuid.uuid4())
    writer = await make_committing_app("catalog", dev_seed=False, search_warm_on_start=False)
    async with asgi_client(writer) as client:
        first = Catalog(app=writer, client=client, keys_dir=keys_dir)
        made = await first.offering(tenant=tenant, title="Warm Start Literacy")

    restarted = await make_committing_app("catalog", dev_seed=False)
    async with asgi_client(restarted) as client:
        index: SearchIndex = catalog_state(restarted).search_index
        for _ in range(200):  # the read runs beside the app; give it up to 10 s
            if tenant in index.snapshots:
                break
            await asyncio.sleep(0.05)
        assert tenant in index.snapshots, "the tenant was not read on start"
        snapshot = index.snapshots[tenant]
        second = Catalog(app=restarted, client=client, keys_dir=keys_dir)
        found = await client.get("/v1/offerings", params={"q": "warm"}, headers=second.as_("educator", tenant=tenant))
        assert [hit["id"] for hit in found.json()["items"]] == [made["id"]]
        assert index.snapshots[tenant] is snapshot, "the search used the snapshot read on start"
