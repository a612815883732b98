"""Offerings: lifecycle with ETag/If-Match, search with filters and facets (the same on SQLite
and PostgreSQL), the public catalog, sessions, registrations with a waitlist, attendance."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.deps import catalog_state
from services.catalog.models import OfferingSession, OutboxEvent
from services.catalog.seed import DEMO_FRAMEWORK
from tests.conftest import AppFactory
from tests.support import asgi_client, identity_headers

PACKAGE: dict[str, Any] = json.loads(DEMO_FRAMEWORK.read_text())
SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)


@dataclass
class Catalog:
    app: FastAPI
    client: httpx.AsyncClient
    keys_dir: Path

    def as_(self, role: str = "coordinator", tenant: str = "tenant-a", subject: str = "user:coord") -> dict[str, str]:
        # As the gateway sends it by default: also good for asking credentials on the caller's behalf.
        return identity_headers(
            self.keys_dir,
            "catalog",
            roles=frozenset({role}),
            tenant_id=tenant,
            subject=subject,
            delegates=("credentials",),
        )

    async def framework(self, tenant: str = "tenant-a") -> dict[str, str]:
        """The demo framework: its items by human coding scheme (e.g. ``INS.1``)."""
        imported = await self.client.post("/v1/frameworks", json=PACKAGE, headers=self.as_(tenant=tenant))
        assert imported.status_code in (200, 201), imported.text
        tree = (
            await self.client.get(f"/v1/frameworks/{imported.json()['id']}", headers=self.as_(tenant=tenant))
        ).json()
        found: dict[str, str] = {}

        def walk(nodes: list[dict[str, Any]]) -> None:
            for node in nodes:
                found[node["human_coding_scheme"] or node["full_statement"]] = node["id"]
                walk(node["children"])

        walk(tree["tree"])
        return found

    async def offering(self, *, publish: bool = True, tenant: str = "tenant-a", **fields: Any) -> dict[str, Any]:
        body = {
            "offering_type": "workshop",
            "title": "Untitled",
            "modality": "in_person",
            "pacing": "cohort",
            "duration_minutes": 120,
            "provider": {"name": "Demo USD"},
            **fields,
        }
        created = await self.client.post("/v1/offerings", json=body, headers=self.as_(tenant=tenant))
        assert created.status_code == 201, created.text
        if not publish:
            return dict(created.json())
        published = await self.client.post(
            f"/v1/offerings/{created.json()['id']}/publish", headers=self.as_(tenant=tenant)
        )
        assert published.status_code == 200, published.text
        return dict(published.json())

    async def session(self, offering_id: str, **fields: Any) -> dict[str, Any]:
        body = {
            "starts_at": SOON.isoformat(),
            "ends_at": (SOON + dt.timedelta(hours=3)).isoformat(),
            "time_zone": "America/Chicago",
            "location": "Central Office, Room 4",
            "capacity": 2,
            **fields,
        }
        created = await self.client.post(f"/v1/offerings/{offering_id}/sessions", json=body, headers=self.as_())
        assert created.status_code == 201, created.text
        return dict(created.json())

    async def search(self, **params: Any) -> dict[str, Any]:
        got = await self.client.get("/v1/offerings", params=params, headers=self.as_("educator"))
        assert got.status_code == 200, got.text
        return dict(got.json())


@pytest.fixture(params=["memory", "database"])
async def catalog(request: pytest.FixtureRequest, make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Catalog]:
    """Each test runs with both search engines (ADR 0016): the in-memory index, kept in step by
    search versions, must answer exactly as the database's full-text index does."""
    app = await make_app("catalog", search_engine=request.param)
    async with asgi_client(app) as client:
        yield Catalog(app=app, client=client, keys_dir=keys_dir)


async def test_lifecycle_and_optimistic_concurrency(catalog: Catalog, backend: str) -> None:
    c = catalog.client
    draft = await catalog.offering(publish=False, title="Coaching Cycles 101")
    h = catalog.as_()
    read = await c.get(f"/v1/offerings/{draft['id']}", headers=h)
    etag = read.headers["etag"]
    hidden = await c.get(f"/v1/offerings/{draft['id']}", headers=catalog.as_("educator"))
    first = await c.patch(
        f"/v1/offerings/{draft['id']}", json={"summary": "Plan, observe, reflect"}, headers={**h, "if-match": etag}
    )
    stale = await c.patch(
        f"/v1/offerings/{draft['id']}", json={"summary": "lost update"}, headers={**h, "if-match": etag}
    )
    nulled = await c.patch(f"/v1/offerings/{draft['id']}", json={"title": None, "tags": None}, headers=h)
    published = await c.post(f"/v1/offerings/{draft['id']}/publish", headers={**h, "if-match": first.headers["etag"]})
    again = await c.post(f"/v1/offerings/{draft['id']}/publish", headers=h)
    retired = await c.post(f"/v1/offerings/{draft['id']}/retire", headers=h)
    retire_twice = await c.post(f"/v1/offerings/{draft['id']}/retire", headers=h)
    edit_retired = await c.patch(f"/v1/offerings/{draft['id']}", json={"summary": "x"}, headers=h)
    educator_create = await c.post("/v1/offerings", json={"title": "x"}, headers=catalog.as_("educator"))
    other_tenant = await c.get(f"/v1/offerings/{draft['id']}", headers=catalog.as_(tenant="tenant-b"))

    assert draft["status"] == "draft"
    assert draft["revision"] == 1
    assert hidden.status_code == 404, "educators see published offerings only"
    assert first.status_code == 200
    assert first.json()["summary"] == "Plan, observe, reflect"
    assert first.headers["etag"] != etag
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == first.headers["etag"]
    assert nulled.status_code == 422
    assert {e["pointer"] for e in nulled.json()["errors"]} == {"/body/title", "/body/tags"}
    assert published.json()["status"] == "published"
    assert published.json()["published_at"]
    assert again.status_code == 409
    assert again.json()["allowed_actions"] == ["retire"]
    assert retired.json()["status"] == "retired"
    assert retire_twice.status_code == 409
    assert retire_twice.json()["allowed_actions"] == []
    assert edit_retired.status_code == 409
    assert educator_create.status_code == 403
    assert other_tenant.status_code == 404


async def test_unknown_competencies_and_prerequisites_are_refused_whole(catalog: Catalog, backend: str) -> None:
    items = await catalog.framework()
    body = {
        "offering_type": "academy",
        "title": "Data Academy",
        "modality": "blended",
        "pacing": "cohort",
        "duration_minutes": 600,
        "provider": {"name": "Demo USD"},
        "competency_ids": [items["INS.1"], "00000000-0000-4000-8000-00000000dead"],
        "prerequisites": {"offering_ids": ["00000000-0000-4000-8000-00000000beef"]},
    }
    refused = await catalog.client.post("/v1/offerings", json=body, headers=catalog.as_())
    listed = await catalog.client.get("/v1/offerings", params={"status": "draft"}, headers=catalog.as_())
    foreign = await catalog.client.post(
        "/v1/offerings",
        json={**body, "competency_ids": [items["INS.1"]], "prerequisites": {}},
        headers=catalog.as_(tenant="tenant-b"),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/body/competency_ids/1"
    assert listed.json()["total"] == 0, "nothing was stored"
    assert foreign.status_code == 422, "another tenant's competency is unknown here"


async def test_search_filters_facets_sorts_and_paging(catalog: Catalog, backend: str) -> None:
    items = await catalog.framework()
    fa = await catalog.offering(
        title="Formative Assessment in Practice",
        summary="Checks for understanding every day",
        tags=["assessment", "feedback"],
        competency_ids=[items["INS.1"]],
        level="introductory",
        duration_minutes=90,
        audience={"roles": ["Teacher"], "grade_bands": ["6-8"]},
    )
    coaching = await catalog.offering(
        offering_type="coaching_cycle",
        title="Instructional Coaching Cycle",
        description="Weekly coaching conversations that use formative assessment data.",
        modality="online_synchronous",
        duration_minutes=360,
        level="advanced",
        provider={"kind": "external", "name": "Learning Partners", "number": "PRV-77"},
        audience={"roles": ["coach"]},
    )
    course = await catalog.offering(
        offering_type="online_course",
        title="Classroom Culture",
        modality="online_asynchronous",
        pacing="self_paced",
        duration_minutes=240,
        level="introductory",
        tags=["belonging"],
    )
    await catalog.offering(publish=False, title="Formative assessment draft")
    await catalog.offering(title="Formative assessment elsewhere", tenant="tenant-b")
    await catalog.session(fa["id"], capacity=1)
    full = await catalog.session(
        coaching["id"],
        capacity=1,
        starts_at=(SOON + dt.timedelta(days=1)).isoformat(),
        ends_at=(SOON + dt.timedelta(days=1, hours=2)).isoformat(),
    )
    await catalog.client.post(
        f"/v1/sessions/{full['id']}/registrations", headers=catalog.as_("educator", subject="user:e1")
    )

    text = await catalog.search(q="formative assessments")
    prefix = await catalog.search(q="format")
    text_shortest = await catalog.search(q="formative", sort="shortest")
    text_newest = await catalog.search(q="formative", sort="newest", limit=1)
    by_competency = await catalog.search(competency=items["INS.1"])
    typed = await catalog.search(offering_type=["coaching_cycle", "online_course"], sort="shortest")
    short = await catalog.search(max_minutes=240, sort="shortest")
    audience = await catalog.search(role="teacher", grade_band="6-8")
    provider = await catalog.search(provider="prv-77")
    seats = await catalog.search(has_open_seats="true")
    soonest = await catalog.search(sort="soonest")
    window = await catalog.search(session_from=(SOON + dt.timedelta(hours=12)).isoformat())
    page1 = await catalog.search(limit=2, sort="newest")
    page2 = await catalog.search(limit=2, sort="newest", cursor=page1["next_cursor"])
    foreign_cursor = await catalog.client.get(
        "/v1/offerings",
        params={"limit": 2, "sort": "shortest", "cursor": page1["next_cursor"]},
        headers=catalog.as_("educator"),
    )
    everything = await catalog.search()

    ids = lambda page: [o["id"] for o in page["items"]]  # noqa: E731
    assert ids(text) == [fa["id"], coaching["id"]], "title match ranks above a body match; drafts and tenant-b never"
    assert text["items"][0]["relevance"] > text["items"][1]["relevance"]
    assert set(ids(prefix)) == {fa["id"], coaching["id"]}
    assert ids(text_shortest) == [fa["id"], coaching["id"]], "90 minutes before 360"
    assert ids(text_newest) == [coaching["id"]], "created last"
    assert text_newest["total"] == 2
    assert text_newest["facets"]["offering_type"] == {"coaching_cycle": 1, "workshop": 1}
    assert ids(by_competency) == [fa["id"]]
    assert by_competency["items"][0]["competencies"][0]["human_coding_scheme"] == "INS.1"
    assert ids(typed) == [course["id"], coaching["id"]]
    assert ids(short) == [fa["id"], course["id"]]
    assert ids(audience) == [fa["id"]], "audience values match case-insensitively"
    assert ids(provider) == [coaching["id"]]
    assert ids(seats) == [fa["id"]], "the coaching session is full"
    assert ids(soonest) == [fa["id"], coaching["id"], course["id"]], "no session: last"
    assert ids(window) == [coaching["id"]]
    assert len(page1["items"]) == 2
    assert page2["next_cursor"] is None
    assert set(ids(page1) + ids(page2)) == {fa["id"], coaching["id"], course["id"]}
    assert foreign_cursor.status_code == 400
    assert everything["total"] == 3
    assert everything["facets"]["offering_type"] == {"coaching_cycle": 1, "online_course": 1, "workshop": 1}
    assert everything["facets"]["level"] == {"advanced": 1, "introductory": 2}
    assert everything["facets"]["provider_kind"] == {"district": 2, "external": 1}
    assert text["facets"]["modality"] == {"in_person": 1, "online_synchronous": 1}
    by_domain = await catalog.search(competency=items["INS"])
    assert ids(by_domain) == [fa["id"]], "an item's descendants count: INS.1 is under INS"
    assert (await catalog.search(competency=items["COG"]))["total"] == 0


async def test_public_catalog_is_off_until_the_tenant_switches_it_on(catalog: Catalog, backend: str) -> None:
    published = await catalog.offering(title="Open to all")
    await catalog.offering(publish=False, title="Not yet")
    c = catalog.client
    before = await c.get("/v1/offerings-public/tenant-a")
    educator_switch = await c.put(
        "/v1/offerings-settings", json={"public_catalog": True}, headers=catalog.as_("educator")
    )
    switched = await c.put("/v1/offerings-settings", json={"public_catalog": True}, headers=catalog.as_())
    after = await c.get("/v1/offerings-public/tenant-a")
    other = await c.get("/v1/offerings-public/tenant-b")
    assert before.status_code == 404
    assert educator_switch.status_code == 403
    assert switched.json()["public_catalog"] is True
    assert [o["id"] for o in after.json()["items"]] == [published["id"]]
    assert other.status_code == 404


async def test_registration_waitlist_cancellation_and_attendance(catalog: Catalog, backend: str) -> None:
    offering = await catalog.offering(title="Academy")
    scheduled = await catalog.session(offering["id"], capacity=1)
    c = catalog.client
    url = f"/v1/sessions/{scheduled['id']}/registrations"
    first = await c.post(url, headers=catalog.as_("educator", subject="user:e1"))
    repeat = await c.post(url, headers=catalog.as_("educator", subject="user:e1"))
    second = await c.post(url, headers=catalog.as_("educator", subject="user:e2"))
    third = await c.post(url, headers=catalog.as_("educator", subject="user:e3"))
    for_other = await c.post(url, json={"educator_id": "user:e9"}, headers=catalog.as_("educator", subject="user:e4"))
    cancel_others = await c.delete(f"{url}/{first.json()['id']}", headers=catalog.as_("educator", subject="user:e2"))
    cancelled = await c.delete(f"{url}/{first.json()['id']}", headers=catalog.as_("educator", subject="user:e1"))
    seats = (await c.get(f"/v1/sessions/{scheduled['id']}", headers=catalog.as_())).json()
    third_now = [r for r in (await c.get(url, headers=catalog.as_())).json() if r["educator_id"] == "user:e3"]

    assert (first.status_code, first.json()["status"]) == (201, "registered")
    assert (repeat.status_code, repeat.json()["id"]) == (200, first.json()["id"])
    assert (second.json()["status"], second.json()["waitlist_position"]) == ("waitlisted", 1)
    assert third.json()["waitlist_position"] == 2
    assert for_other.status_code == 403
    assert cancel_others.status_code == 403
    assert cancelled.json()["cancelled"]["status"] == "cancelled"
    assert cancelled.json()["promoted"]["educator_id"] == "user:e2"
    assert cancelled.json()["promoted"]["promoted_from_waitlist"] is True
    assert (seats["seats_taken"], seats["waitlisted"]) == (1, 1)
    assert third_now[0]["waitlist_position"] == 1

    early = await c.put(
        f"/v1/sessions/{scheduled['id']}/attendance",
        json={"entries": [{"educator_id": "user:e2", "minutes": 60}]},
        headers=catalog.as_(),
    )
    assert early.status_code == 409, "no attendance before the session starts"
    # Time passes: the session took place yesterday (same local hours).
    held = SOON - dt.timedelta(days=11)
    async with catalog_state(catalog.app).sessionmaker() as session, session.begin():
        row = await session.get(OfferingSession, scheduled["id"])
        assert row is not None
        row.starts_at, row.ends_at = held, held + dt.timedelta(hours=3)
    late_cancel = await c.delete(f"{url}/{second.json()['id']}", headers=catalog.as_("educator", subject="user:e2"))
    wrong_day = await c.put(
        f"/v1/sessions/{scheduled['id']}/attendance",
        json={"entries": [{"educator_id": "user:e2", "minutes": 60, "attended_on": "1900-01-01"}]},
        headers=catalog.as_(),
    )
    assert late_cancel.status_code == 409, "a started session frees no seats"
    assert wrong_day.status_code == 422
    assert wrong_day.json()["errors"][0]["pointer"] == "/body/entries/0/attended_on"

    too_long = await c.put(
        f"/v1/sessions/{scheduled['id']}/attendance",
        json={"entries": [{"educator_id": "user:e2", "minutes": 180}, {"educator_id": "user:e3", "minutes": 999}]},
        headers=catalog.as_(),
    )
    recorded = await c.put(
        f"/v1/sessions/{scheduled['id']}/attendance",
        json={"entries": [{"educator_id": "user:e2", "minutes": 170}]},
        headers=catalog.as_(),
    )
    async with catalog_state(catalog.app).sessionmaker() as session:
        events = list(await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "session.attended")))
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["pointer"] == "/body/entries/1/minutes"
    assert recorded.status_code == 200
    assert len(events) == 1, "the refused batch wrote nothing"
    assert events[0].payload == {
        "attendance_id": recorded.json()[0]["id"],
        "educator_id": "user:e2",
        "offering_id": offering["id"],
        "session_id": scheduled["id"],
        "minutes": 170,
        "date": held.astimezone(ZoneInfo("America/Chicago")).date().isoformat(),
        "recorded_at": events[0].payload["recorded_at"],
        "offering_title": "Academy",
        "provider_name": "Demo USD",
        "provider_number": None,
        "credits": None,
    }
    assert events[0].tenant_id == "tenant-a"


async def test_sessions_are_validated(catalog: Catalog, backend: str) -> None:
    offering = await catalog.offering(title="Workshop")
    c = catalog.client
    bad = await c.post(
        f"/v1/offerings/{offering['id']}/sessions",
        json={
            "starts_at": "2027-01-12T10:00:00",
            "ends_at": "2027-01-12T09:00:00Z",
            "time_zone": "America/Chicago",
            "capacity": 10,
        },
        headers=catalog.as_(),
    )
    zone = await c.post(
        f"/v1/offerings/{offering['id']}/sessions",
        json={
            "starts_at": "2027-01-12T10:00:00Z",
            "ends_at": "2027-01-12T11:00:00Z",
            "time_zone": "Mars/Base",
            "capacity": 1,
            "location": "x",
        },
        headers=catalog.as_(),
    )
    past = await catalog.session(offering["id"], starts_at="2020-01-01T10:00:00Z", ends_at="2020-01-01T11:00:00Z")
    late = await c.post(f"/v1/sessions/{past['id']}/registrations", headers=catalog.as_("educator"))
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/body/starts_at", "/body/ends_at", "/body/location"}
    assert zone.status_code == 422
    assert zone.json()["errors"][0]["pointer"] == "/body/time_zone"
    assert late.status_code == 409


async def test_competency_statements_are_searchable_and_follow_a_reimport(catalog: Catalog, backend: str) -> None:
    items = await catalog.framework()
    aligned = await catalog.offering(title="Untitled", competency_ids=[items["INS.1"]])
    before = await catalog.search(q="zebrafish")
    changed = json.loads(json.dumps(PACKAGE))
    for item in changed["CFItems"]:
        if item.get("humanCodingScheme") == "INS.1":
            item["fullStatement"] += " Zebrafish included."
    reimported = await catalog.client.post("/v1/frameworks", json=changed, headers=catalog.as_())
    after = await catalog.search(q="zebrafish")
    assert before["total"] == 0
    assert reimported.status_code == 200
    assert [o["id"] for o in after["items"]] == [aligned["id"]]


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_app("catalog", max_request_bytes=4096)
    big = json.dumps({"CFDocument": {"title": "x" * 10_000}}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    h = {**identity_headers(keys_dir, "catalog", roles=frozenset({"coordinator"})), "content-type": "application/json"}
    async with asgi_client(app) as client:
        declared = await client.post("/v1/frameworks", content=big, headers=h)
        streamed = await client.post("/v1/frameworks", content=chunks(), headers=h)
        small = await client.post("/v1/frameworks", json={"CFDocument": {}}, headers=h)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["max_bytes"] == 4096
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert small.status_code == 422, "under the limit the request is read and judged as usual"


async def test_hostile_input_gets_a_problem_never_a_500(catalog: Catalog, backend: str) -> None:
    items = await catalog.framework()
    first = await catalog.offering(title="First", competency_ids=[items["INS.1"]])
    second = await catalog.offering(title="Second", prerequisites={"offering_ids": [first["id"]]})
    c, h = catalog.client, catalog.as_()
    read = await c.get(f"/v1/offerings/{first['id']}", headers=h)
    weak = await c.patch(
        f"/v1/offerings/{first['id']}", json={"summary": "x"}, headers={**h, "if-match": "W/" + read.headers["etag"]}
    )
    cycle = await c.patch(
        f"/v1/offerings/{first['id']}", json={"prerequisites": {"offering_ids": [second["id"]]}}, headers=h
    )
    nulls = await c.patch(f"/v1/offerings/{first['id']}", json={"currency": None, "cost_cents": None}, headers=h)
    far = await c.post(
        f"/v1/offerings/{first['id']}/sessions",
        json={
            "starts_at": "9999-12-31T20:00:00-05:00",
            "ends_at": "9999-12-31T21:00:00-05:00",
            "time_zone": "UTC",
            "location": "x",
            "capacity": 1,
        },
        headers=h,
    )
    far_search = await c.get("/v1/offerings", params={"session_from": "9999-12-31T23:00:00-05:00"}, headers=h)
    naive_window = await c.post(
        "/v1/recommendations",
        json={"targets": [{"id": items["INS.1"]}], "preferences": {"available_from": "2027-01-01T00:00:00"}},
        headers=h,
    )
    assert weak.status_code == 412, "If-Match compares strongly"
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["pointer"] == "/body/prerequisites/offering_ids/0"
    assert nulls.status_code == 422
    assert {e["pointer"] for e in nulls.json()["errors"]} == {"/body/currency", "/body/cost_cents"}
    assert far.status_code == 422
    assert far_search.status_code == 422
    assert naive_window.status_code == 422


async def test_a_drafts_sessions_stay_hidden_and_a_session_can_be_called_off(catalog: Catalog, backend: str) -> None:
    draft = await catalog.offering(publish=False, title="Not yet public")
    scheduled = await catalog.session(draft["id"])
    c = catalog.client
    hidden = await c.get(f"/v1/sessions/{scheduled['id']}", headers=catalog.as_("educator"))
    await c.post(f"/v1/offerings/{draft['id']}/publish", headers=catalog.as_())
    cancelled = await c.post(f"/v1/sessions/{scheduled['id']}/cancel", headers=catalog.as_())
    twice = await c.post(f"/v1/sessions/{scheduled['id']}/cancel", headers=catalog.as_())
    register = await c.post(f"/v1/sessions/{scheduled['id']}/registrations", headers=catalog.as_("educator"))
    assert hidden.status_code == 404
    assert cancelled.json()["status"] == "cancelled"
    assert twice.status_code == 409
    assert register.status_code == 409


async def test_search_edge_cases_answer_the_same_on_both_backends(catalog: Catalog, backend: str) -> None:
    teaching = await catalog.offering(title="Teaching with data")
    ecole = await catalog.offering(
        title="Reading circles", provider={"kind": "external", "name": "École Normale", "number": "EN-1"}
    )
    later = await catalog.offering(title="Later workshop")
    opens = (SOON - dt.timedelta(days=1)).isoformat()
    await catalog.session(later["id"], registration_opens_at=opens)  # opens in 9 days
    await catalog.offering(title="x" * 5 + " " + "y" * 200)  # a 200-letter run is not a word
    ids = lambda page: [o["id"] for o in page["items"]]  # noqa: E731
    assert ids(await catalog.search(q="teachi")) == [teaching["id"]], "a typed prefix of a stemmed word"
    assert ids(await catalog.search(q="teach")) == [teaching["id"]]
    assert (await catalog.search(q="the"))["total"] == 0, "a query of no words finds nothing, not everything"
    assert (await catalog.search(q="数学"))["total"] == 0
    assert (await catalog.search(q="y" * 100))["total"] == 0
    assert ids(await catalog.search(provider="école normale")) == [ecole["id"]], "case-folded beyond ASCII"
    assert ids(await catalog.search(provider="en-1")) == [ecole["id"]]
    assert (await catalog.search(has_open_seats="true"))["total"] == 0, "registration has not opened yet"
    import base64
    import json as json_module

    first = await catalog.search(limit=1, sort="newest")
    _offset, digest = json_module.loads(base64.urlsafe_b64decode(first["next_cursor"]))
    for forged in (2**63, True, -1):
        cursor = base64.urlsafe_b64encode(json_module.dumps([forged, digest]).encode()).decode()
        got = await catalog.client.get(
            "/v1/offerings", params={"limit": 1, "sort": "newest", "cursor": cursor}, headers=catalog.as_("educator")
        )
        assert got.status_code == 400, forged


async def test_relevance_is_title_words_then_newest_and_ignores_other_tenants(catalog: Catalog, backend: str) -> None:
    body_only = await catalog.offering(title="Morning routines", summary="Data talks for grade teams")
    one_word = await catalog.offering(title="Team data walk", summary="Learning walks and talks")
    both_words = await catalog.offering(title="Data talks that change practice")
    newer_both = await catalog.offering(title="Talks about data")
    # Another tenant's many matches must not move this tenant's ranking (FTS5's bm25 would).
    for n in range(6):
        await catalog.offering(title=f"Data data talks {n}", tenant="tenant-b")
    ranked = await catalog.search(q="data talk")
    assert [o["id"] for o in ranked["items"]] == [newer_both["id"], both_words["id"], one_word["id"], body_only["id"]]
    assert [o["relevance"] for o in ranked["items"]] == [2, 2, 1, 0]


async def test_words_the_postgresql_parser_would_split_are_found_whole(catalog: Catalog, backend: str) -> None:
    # to_tsvector('simple', '2e8f') gives '2e8' and 'f'; FTS5 keeps '2e8f': the index holds the word as stored.
    code = await catalog.offering(title="Room 2e8f orientation", tags=["1e5x"])
    await catalog.offering(title="Room 2e8 and f wing")
    assert [o["id"] for o in (await catalog.search(q="2e8f"))["items"]] == [code["id"]]
    assert [o["id"] for o in (await catalog.search(q="1e5x orient"))["items"]] == [code["id"]]
    assert (await catalog.search(q="2e8 f"))["total"] == 1, "the other room, whose words these are"


async def test_search_follows_edits_and_status_changes(catalog: Catalog, backend: str) -> None:
    """Searches read each offering's search row, not the offering: every change must reach it."""
    offering = await catalog.offering(title="Restorative Circles", level="intermediate", duration_minutes=90)
    before = await catalog.search(q="restorative", modality="in_person", max_minutes=100)
    edited = await catalog.client.patch(
        f"/v1/offerings/{offering['id']}",
        json={"title": "Peace Circles", "modality": "blended", "level": None, "duration_minutes": 300},
        headers=catalog.as_(),
    )
    assert edited.status_code == 200, edited.text
    old_words = await catalog.search(q="restorative")
    new_words = await catalog.search(q="peace", modality="blended", min_minutes=300)
    facets = (await catalog.search())["facets"]
    retired = await catalog.client.post(f"/v1/offerings/{offering['id']}/retire", headers=catalog.as_())
    assert retired.status_code == 200, retired.text
    after_retire = await catalog.search(q="peace")

    assert [o["id"] for o in before["items"]] == [offering["id"]]
    assert old_words["total"] == 0, "the old title's words are gone from the index"
    assert [o["id"] for o in new_words["items"]] == [offering["id"]]
    assert facets["modality"] == {"blended": 1}
    assert facets["level"] == {}, "no level: counted under no level value"
    assert after_retire["total"] == 0, "a retired offering leaves the public search"


def test_facet_keys_keep_the_codes_stored_rows_were_given() -> None:
    """Search rows store packed facet keys: a value's code may never change (values are only
    appended), or stored rows would count under another value."""
    import importlib.util

    from services.catalog.search import filters as search

    path = Path(__file__).parents[3] / "migrations/catalog/versions/0007_offering_search_rows.py"
    spec = importlib.util.spec_from_file_location("catalog_0007", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for name, stored in migration.FACET_VALUES.items():
        assert list(search.FACET_VALUES[name][: len(stored)]) == stored, f"{name}: codes moved"
    every = search.facet_keys_allowed({})
    assert len(every) == len(set(every)) == 9 * 4 * 2 * 4 * 2
    for key in every:
        assert search.facet_key(search.facet_values(key)) == key
    workshops = search.facet_keys_allowed({"offering_type": ["workshop"], "level": ["advanced"]})
    assert {search.facet_values(k)["offering_type"] for k in workshops} == {"workshop"}
    assert {search.facet_values(k)["level"] for k in workshops} == {"advanced"}
    assert len(workshops) == 4 * 2 * 2
