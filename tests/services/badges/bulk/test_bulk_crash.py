"""Killing the badges service mid-job and starting it again: no duplicates, no missing rows.

The service runs as a real process (uvicorn, as ``make run`` starts it) on the session's
database — on PostgreSQL with two worker processes of its own, on SQLite with the worker in the
service process. When the job is part done, the service's process group is stopped (SIGSTOP)
at a moment when a batch is claimed but not written (checked in the database), and the service
is killed with SIGKILL; its worker processes must die with it. A new service then finishes the
job once the dead workers' leases run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.badges.models import Badge, BulkRow, IdempotencyKey
from services.badges.settings import BadgesSettings
from shared.db import READ_ONLY, create_engine
from shared.devrun import uvicorn_command
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER
from tests.support import free_port, identity_headers

REPO = Path(__file__).resolve().parents[4]
ROWS = 300
BAD = {7, 77, 150, 222, 299}  # not an email: refused at submission
UNKNOWN = {30, 130, 230}  # no such achievement: fails in the worker
NOT_A_LEVEL = {60, 260}  # not a level of the rubric: fails in the worker


class Caller(httpx.Auth):
    """A coordinator of the tenant, with a fresh internal token on every request (they are short-lived)."""

    def __init__(self, keys_dir: Path, tenant: str) -> None:
        self.keys_dir, self.tenant = keys_dir, tenant

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers.update(
            identity_headers(self.keys_dir, "badges", roles=frozenset({"coordinator"}), tenant_id=self.tenant)
        )
        yield request


class Service:
    """The badges service as a process group of its own (the service and its workers)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "BADGES_PORT": str(self.port)}
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Service:
        settings = BadgesSettings(port=self.port, data_dir=Path(self.env["BADGES_DATA_DIR"]))
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *uvicorn_command("badges", settings),
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(300):
                if self.process.returncode is not None:
                    raise AssertionError(f"the service exited: {self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.1)
        raise AssertionError(f"the service did not start: {self.log.read_text()[-3000:]}")

    @property
    def group(self) -> int:
        assert self.process is not None
        return self.process.pid  # leader of its own session and process group

    def group_alive(self) -> bool:
        try:
            os.killpg(self.group, 0)
        except ProcessLookupError:
            return False
        return True

    async def stop(self) -> None:
        if self.process is not None and self.group_alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
            await self.process.wait()


@contextlib.asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncEngine]:
    # Reads only (SQLite: a deferred transaction), so a stopped service holding the write lock
    # does not keep the test waiting.
    engine = create_engine(url, schema="badges").execution_options(**READ_ONLY)
    try:
        yield engine
    finally:
        await engine.dispose()


async def leased(engine: AsyncEngine, job_id: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).where(
            BulkRow.job_id == job_id, BulkRow.status == "pending", BulkRow.locked_by.is_not(None)
        )
        return int(await conn.scalar(query.select_from(BulkRow)) or 0)


async def job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_killing_the_service_mid_job_loses_nothing_and_doubles_nothing(
    backend: str, database_urls: dict[str, str], data_dir: Path, keys_dir: Path, tmp_path: Path
) -> None:
    tenant = str(uuid.uuid4())  # committed rows stay in the session's database: nothing else sees this tenant
    caller = Caller(keys_dir, tenant)
    identity_headers(keys_dir, "badges")  # the gateway's key exists before the service looks for it
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "BADGES_ENVIRONMENT": "test",
        "BADGES_DATABASE_URL": database_urls["badges"],
        "BADGES_DATA_DIR": str(data_dir),
        "BADGES_GATEWAY_KEYS_DIR": str(keys_dir),
        "BADGES_OUTBOX_ENABLED": "false",
        "BADGES_DEV_SEED": "false",
        "BADGES_LOG_LEVEL": "WARNING",
        "BADGES_BULK_BATCH_SIZE": "20",
        "BADGES_BULK_LEASE_S": "2",
        "BADGES_BULK_POLL_INTERVAL_S": "0.1",
        "BADGES_BULK_WORKER_PROCESSES": "2" if backend == "postgresql" else "0",
    }
    log = tmp_path / "badges.log"
    first = await Service(env, log).start()
    second: Service | None = None
    try:
        async with httpx.AsyncClient(base_url=first.url, auth=caller, timeout=30) as client:
            issuer = await client.post("/v1/issuers", json=ISSUER)
            assert issuer.status_code == 201, issuer.text
            achievement = await client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer.json()["id"]})
            assert achievement.status_code == 201, achievement.text
            rows = []
            for n in range(1, ROWS + 1):
                rows.append(
                    {
                        "external_id": f"academy-{n}",
                        "achievement_id": "3f2e1d0c-9b8a-4766-8554-433221100fed"
                        if n in UNKNOWN
                        else achievement.json()["id"],
                        "recipient": {"email": f"educator{n}" if n in BAD else f"educator{n}@demo.test"},
                        "results": [{"criterion": "plan", "level": "mastery" if n in NOT_A_LEVEL else "proficient"}],
                    }
                )
            submitted = await client.post("/v1/badges/bulk", json=rows)
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]

        async with database(database_urls["badges"]) as engine:
            # Part done, and a batch claimed but not written at the moment of the kill.
            async with httpx.AsyncClient(base_url=first.url, auth=caller, timeout=30) as client:
                for _ in range(600):
                    progress = await job(client, job_id)
                    if progress["done"] >= 60:
                        break
                    await asyncio.sleep(0.05)
            assert progress["pending"] > 0, "the job ended before the kill: make it longer"
            for _ in range(100):
                os.killpg(first.group, signal.SIGSTOP)
                held = await leased(engine, job_id)
                if held:
                    break
                os.killpg(first.group, signal.SIGCONT)
                await asyncio.sleep(0.02)
            assert held, "no batch was in flight at any of the moments tried"
            assert first.process is not None
            first.process.kill()  # SIGKILL to the service: its workers die with it
            await first.process.wait()
            # What is left of the group runs on, as after a real crash (the workers must be gone;
            # multiprocessing's resource tracker leaves when its pipe from the service closes).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(first.group, signal.SIGCONT)
            for _ in range(100):
                if not first.group_alive():
                    break
                await asyncio.sleep(0.05)
            assert not first.group_alive(), "a worker process outlived the service"

            async with engine.connect() as conn:
                before = await conn.scalar(
                    select(func.count())
                    .select_from(BulkRow)
                    .where(BulkRow.job_id == job_id, BulkRow.status == "issued")
                )
            assert 0 < int(before or 0) < ROWS - len(BAD | UNKNOWN | NOT_A_LEVEL)

            second = await Service(env, log).start()
            async with httpx.AsyncClient(base_url=second.url, auth=caller, timeout=30) as client:
                for _ in range(1200):
                    progress = await job(client, job_id)
                    if progress["status"] == "done":
                        break
                    await asyncio.sleep(0.05)
                assert progress["status"] == "done", progress
                failed = BAD | UNKNOWN | NOT_A_LEVEL
                assert (progress["done"], progress["failed"]) == (ROWS - len(failed), len(failed))
                errors: list[dict[str, Any]] = []
                page: dict[str, Any] | None = progress["errors"]
                while page is not None:
                    errors += page["items"]
                    page = (await client.get(page["next"])).json() if page["next"] else None
                assert {e["row"] for e in errors} == failed

                # Exactly one badge per good row: none written twice, none missing, none orphaned.
                async with engine.connect() as conn:
                    issued = dict(
                        (
                            await conn.execute(
                                select(BulkRow.row_number, BulkRow.badge_id).where(
                                    BulkRow.job_id == job_id, BulkRow.status == "issued"
                                )
                            )
                        ).all()
                    )
                    badges = set(await conn.scalars(select(Badge.id).where(Badge.tenant_id == tenant)))
                    keys = await conn.scalar(
                        select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.tenant_id == tenant)
                    )
                    retried = await conn.scalar(
                        select(func.count()).select_from(BulkRow).where(BulkRow.job_id == job_id, BulkRow.attempts > 1)
                    )
                assert set(issued) == set(range(1, ROWS + 1)) - failed
                assert set(issued.values()) == badges
                assert len(badges) == keys == ROWS - len(failed)
                assert (retried or 0) >= held, "the rows the dead worker held were claimed again"

                # What was signed around the crash verifies.
                for row in (min(issued), max(issued)):
                    badge = await client.get(f"/v1/badges/{issued[row]}")
                    report = await client.post("/v1/verify", json={"credential": badge.json()["credential"]})
                    assert report.json()["verified"] is True, report.json()
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
