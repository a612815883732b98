"""Bulk workers side by side, on real committed transactions (``make_committing_app``): several
workers claim at once and no row is issued twice; a worker that outlived its lease while another
took its rows loses at the unique idempotency key and finds the other's badges on its retry.

Each test works in a tenant of its own: what it commits stays in the session's databases.
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
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.badges.bulk import runner as bulk_run
from services.badges.bulk.worker import BulkWorker
from services.badges.deps import badges_state
from services.badges.models import Badge, BulkRow, IdempotencyKey
from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER
from tests.support import asgi_client, identity_headers


@dataclass
class Tenant:
    app: FastAPI
    client: httpx.AsyncClient
    tenant: str
    achievement_id: str

    async def submit(self, count: int) -> str:
        rows = [
            {
                "external_id": f"row-{n}",
                "achievement_id": self.achievement_id,
                "recipient": {"email": f"educator{n}@demo.test"},
                "results": [{"criterion": "plan", "level": "proficient"}],
            }
            for n in range(1, count + 1)
        ]
        response = await self.client.post("/v1/badges/bulk", json=rows)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def worker(self, name: str) -> BulkWorker:
        worker = bulk_run.worker_for(self.app)
        worker.name = name
        return worker

    async def outcome(self, job_id: str) -> tuple[dict[int, str | None], int, int]:
        """Each row's badge, and how many badges and bulk idempotency keys the tenant has."""
        async with badges_state(self.app).sessionmaker() as session:
            rows = dict(
                (
                    await session.execute(select(BulkRow.row_number, BulkRow.badge_id).where(BulkRow.job_id == job_id))
                ).all()
            )
            badges = await session.scalar(select(func.count()).select_from(Badge).where(Badge.tenant_id == self.tenant))
            keys = await session.scalar(
                select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.tenant_id == self.tenant)
            )
            return rows, int(badges or 0), int(keys or 0)


@pytest.fixture
async def tenant(make_committing_app: AppFactory, keys_dir: Path) -> AsyncIterator[Tenant]:
    name = str(uuid.uuid4())
    app = await make_committing_app("badges", bulk_batch_size=15, bulk_lease_s=60)
    headers = identity_headers(keys_dir, "badges", roles=frozenset({"coordinator"}), tenant_id=name)
    async with asgi_client(app) as client:
        client.headers.update(headers)
        issuer = await client.post("/v1/issuers", json=ISSUER)
        assert issuer.status_code == 201, issuer.text
        achievement = await client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer.json()["id"]})
        assert achievement.status_code == 201, achievement.text
        yield Tenant(app=app, client=client, tenant=name, achievement_id=achievement.json()["id"])


async def test_workers_claiming_at_once_issue_each_row_once(tenant: Tenant, backend: str) -> None:
    job_id = await tenant.submit(120)
    claims: dict[str, list[str]] = {}

    async def work(worker: BulkWorker) -> None:
        mine = claims.setdefault(worker.name, [])
        idle = 0
        while idle < 2:
            claimed = await worker.claim()
            assert len(claimed) <= 15, "a claim takes one batch, never more"
            mine += [row.id for row in claimed if row.job_id == job_id]
            if claimed:
                idle = 0
                await worker.issue(claimed)
            else:
                idle += 1
                await asyncio.sleep(0.01)

    await asyncio.gather(*(work(tenant.worker(f"w{n}")) for n in range(3)))

    every_claim = [row for rows in claims.values() for row in rows]
    assert len(every_claim) == len(set(every_claim)) == 120, "no row claimed twice"
    if backend == "postgresql":  # SQLite's busy lock is not fair: a worker may get nothing
        assert all(claims.values()), f"every worker took part: {[len(rows) for rows in claims.values()]}"
    rows, badges, keys = await tenant.outcome(job_id)
    assert sorted(rows) == list(range(1, 121))
    assert None not in rows.values()
    assert len(set(rows.values())) == 120
    assert (badges, keys) == (120, 120)


async def test_a_worker_that_outlived_its_lease_writes_nothing_twice(tenant: Tenant, backend: str) -> None:
    job_id = await tenant.submit(20)
    slow, fast = tenant.worker("slow"), tenant.worker("fast")
    slow.settings = fast.settings = badges_state(tenant.app).settings.model_copy(update={"bulk_lease_s": 0.2})

    claimed = await slow.claim()
    assert len(claimed) == 15
    groups = await slow._prepare(claimed)
    await slow._sign(groups)  # signed, not written: then the slow worker stalls
    assert all(row.badge is not None for row in claimed)
    await asyncio.sleep(0.3)  # its lease runs out; the fast worker takes the rows and does them all
    while await fast.run_once():
        pass
    rows, badges, _ = await tenant.outcome(job_id)
    assert (len([b for b in rows.values() if b]), badges) == (20, 20)

    with pytest.raises(IntegrityError):  # the slow worker wakes up: its keys are taken
        await slow._write(claimed, groups)
    await slow.issue(claimed)  # what the worker does next: everything decided again
    assert all(row.replayed and row.badge is None for row in claimed)
    after, badges_after, keys = await tenant.outcome(job_id)
    assert after == rows, "the rows keep the badges the fast worker wrote"
    assert (badges_after, keys) == (20, 20)


async def test_a_row_claimed_again_and_again_without_an_outcome_is_abandoned(tenant: Tenant, backend: str) -> None:
    job_id = await tenant.submit(3)
    settings: Any = badges_state(tenant.app).settings.model_copy(update={"bulk_lease_s": 0.05, "bulk_max_attempts": 2})
    dying = tenant.worker("dying")
    dying.settings = settings
    for _ in range(2):  # claimed, then the worker "dies" each time: the lease runs out
        assert len(await dying.claim()) == 3
        await asyncio.sleep(0.1)
    survivor = tenant.worker("survivor")
    survivor.settings = settings
    assert await survivor.run_once() == 0
    job = await tenant.client.get(f"/v1/jobs/{job_id}")
    assert (job.json()["status"], job.json()["failed"]) == ("done", 3)
    assert {e["type"] for e in job.json()["errors"]["items"]} == {
        "https://practicum.dev/problems/badges/bulk-row-abandoned"
    }
