"""Idempotent issuing under a real race: concurrent POST /v1/badges with one Idempotency-Key.

Each request runs on its own connection in its own committed transaction (``make_committing_app``)
behind a real socket, and the racing requests enter the app together (``StartingGate``). Whatever
the database decides, one key yields one badge: the others are replays of it, retryable 409s while
it is in flight, or 422s for a different body, and never a 500 or a second badge. (SQLite queues
writers at BEGIN IMMEDIATE, so its later racers find the key and replay or get 422; PostgreSQL lets
them all issue, and the unique key turns every loser into a retryable 409.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.badges.deps import badges_state
from services.badges.models import Badge, IdempotencyKey, StatusList
from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER
from tests.support import LiveServer, StartingGate, identity_headers

RUNNERS = 8
CONFLICT = "https://practicum.dev/problems/conflict"
MISMATCH = "https://practicum.dev/problems/badges/idempotency-mismatch"


@dataclass
class Race:
    """A badges app on a real socket, a tenant of its own with one achievement to award."""

    app: FastAPI
    gate: StartingGate
    client: httpx.AsyncClient
    tenant: str
    achievement_id: str

    def body(self, email: str) -> dict[str, Any]:
        return {
            "achievement_id": self.achievement_id,
            "recipient": {"email": email, "name": "Ed Educator"},
            "results": [{"criterion": "plan", "level": "proficient"}],
        }

    async def issue(self, body: dict[str, Any], key: str) -> httpx.Response:
        return await self.client.post("/v1/badges", json=body, headers={"idempotency-key": key})

    async def run(self, bodies: list[dict[str, Any]], keys: list[str]) -> list[httpx.Response]:
        """Every body with its key, all at once."""
        self.gate.arm(len(bodies))
        return list(await asyncio.gather(*(self.issue(body, key) for body, key in zip(bodies, keys, strict=True))))

    async def badge_ids(self, recipient: str | None = None) -> list[str]:
        params = {"limit": 200} | ({"recipient": recipient} if recipient else {})
        response = await self.client.get("/v1/badges", params=params)
        assert response.status_code == 200, response.text
        return [badge["id"] for badge in response.json()["items"]]

    async def rows(self) -> tuple[list[str], dict[str, int]]:
        """What the tenant has in the database: the badges its idempotency keys point to, and the
        allocated count of each status list (a loser's list or allocation must not survive)."""
        maker: async_sessionmaker[AsyncSession] = badges_state(self.app).sessionmaker
        async with maker() as session:
            keyed = await session.scalars(
                select(IdempotencyKey.badge_id).where(IdempotencyKey.tenant_id == self.tenant)
            )
            lists = await session.execute(
                select(StatusList.id, StatusList.allocated).where(StatusList.tenant_id == self.tenant)
            )
            return list(keyed), dict(lists.all())

    async def status_lists_of(self, badge_id: str) -> set[str]:
        maker: async_sessionmaker[AsyncSession] = badges_state(self.app).sessionmaker
        async with maker() as session:
            badge = await session.get(Badge, badge_id)
            assert badge is not None
            return {list_id for list_id in (badge.revocation_list_id, badge.suspension_list_id) if list_id}


@pytest.fixture
async def race(make_committing_app: AppFactory, keys_dir: Path) -> AsyncIterator[Race]:
    tenant = str(uuid.uuid4())  # committed rows stay for the session: nothing else sees this tenant
    app = await make_committing_app("badges")
    gate = StartingGate(app)
    server = await LiveServer(app).start()
    headers = identity_headers(keys_dir, "badges", roles=frozenset({"coordinator"}), tenant_id=tenant)
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
            issuer = await client.post("/v1/issuers", json=ISSUER)
            assert issuer.status_code == 201, issuer.text
            achievement = await client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer.json()["id"]})
            assert achievement.status_code == 201, achievement.text
            yield Race(app=app, gate=gate, client=client, tenant=tenant, achievement_id=achievement.json()["id"])
    finally:
        await server.stop()


def outcome(response: httpx.Response) -> str:
    """created, replayed, retry (409 marked retryable) or mismatch (422) — anything else is a bug."""
    if response.status_code == 201:
        return "replayed" if response.headers.get("idempotent-replayed") == "true" else "created"
    problem = response.json() if response.headers.get("content-type", "").startswith("application/problem") else {}
    if response.status_code == 409 and problem.get("type") == CONFLICT and problem.get("retryable") is True:
        return "retry"
    if response.status_code == 422 and problem.get("type") == MISMATCH:
        return "mismatch"
    return f"unexpected {response.status_code}: {response.text[:500]}"


@pytest.mark.parametrize("lists_open", [False, True], ids=["first-badge", "lists-open"])
async def test_one_key_sent_at_once_yields_one_badge(race: Race, backend: str, lists_open: bool) -> None:
    """First badge of an issuer: the racers make its status list once, under the issuer's lock;
    with lists open, they share them and queue on their allocation counters."""
    earlier: list[str] = []
    if lists_open:
        first = await race.issue(race.body("earlier@demo.test"), f"award-{uuid.uuid4()}")
        assert outcome(first) == "created", first.text
        earlier = [first.json()["id"]]
    key = f"award-{uuid.uuid4()}"
    body = race.body("educator@demo.test")
    responses = await race.run([body] * RUNNERS, [key] * RUNNERS)

    outcomes = [outcome(r) for r in responses]
    assert set(outcomes) <= {"created", "replayed", "retry"}, outcomes
    assert outcomes.count("created") == 1, outcomes
    original = responses[outcomes.index("created")].json()
    replayed = [r.json() for r, o in zip(responses, outcomes, strict=True) if o == "replayed"]
    assert [b["id"] for b in replayed] == [original["id"]] * len(replayed), "a replay is the original badge"
    assert all(b["credential"] == original["credential"] for b in replayed), "…with the credential signed once"

    assert sorted(await race.badge_ids()) == sorted([original["id"], *earlier])
    keyed, lists = await race.rows()
    assert sorted(keyed) == sorted([original["id"], *earlier])
    assert set(lists) == await race.status_lists_of(original["id"]), "the losers' status lists were rolled back"
    allocated = 1 + len(earlier)
    assert set(lists.values()) == {allocated}, f"{allocated} index(es) allocated per list, not one per racer: {lists}"

    retry = await race.issue(body, key)
    assert outcome(retry) == "replayed", retry.text
    assert retry.json()["id"] == original["id"]
    assert retry.json()["credential"] == original["credential"]


async def test_one_key_with_two_bodies_at_once_binds_the_key_to_one_of_them(race: Race, backend: str) -> None:
    key = f"award-{uuid.uuid4()}"
    emails = ["first@demo.test", "second@demo.test"]
    bodies = [race.body(emails[i % 2]) for i in range(RUNNERS)]
    responses = await race.run(bodies, [key] * RUNNERS)

    outcomes = [outcome(r) for r in responses]
    assert outcomes.count("created") == 1, outcomes
    winner = outcomes.index("created") % 2
    original = responses[outcomes.index("created")].json()
    for i, (response, result) in enumerate(zip(responses, outcomes, strict=True)):
        if i % 2 == winner:
            assert result in {"created", "replayed", "retry"}, (i, outcomes)
            if result == "replayed":
                assert response.json()["id"] == original["id"]
        else:
            # The other body never gets a badge: refused once the key is taken, 409 while in flight.
            assert result in {"mismatch", "retry"}, (i, outcomes)

    assert await race.badge_ids() == [original["id"]]
    assert await race.badge_ids(recipient=emails[winner]) == [original["id"]], "the badge is the winner's body"
    assert await race.badge_ids(recipient=emails[1 - winner]) == []

    same = await race.issue(race.body(emails[winner]), key)
    assert outcome(same) == "replayed", same.text
    assert same.json()["id"] == original["id"]
    other = await race.issue(race.body(emails[1 - winner]), key)
    assert outcome(other) == "mismatch", other.text
    assert [e["pointer"] for e in other.json()["errors"]] == ["/header/idempotency-key"]


async def test_distinct_keys_sent_at_once_each_yield_a_badge(race: Race, backend: str) -> None:
    """The control: the same race with a key per request issues every badge, so the single badge
    above is idempotency at work, not racers failing."""
    keys = [f"award-{uuid.uuid4()}" for _ in range(RUNNERS)]
    responses = await race.run([race.body("educator@demo.test")] * RUNNERS, keys)

    outcomes = [outcome(r) for r in responses]
    assert outcomes == ["created"] * RUNNERS, outcomes
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == RUNNERS
    assert set(await race.badge_ids()) == ids
    keyed, lists = await race.rows()
    assert sorted(keyed) == sorted(ids)
    # An issuer's first badges, issued at once, share one list (one list per badge would tell
    # whoever checks a list which badge is being checked).
    assert list(lists.values()) == [RUNNERS], lists
