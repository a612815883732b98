"""Completions export: 100,000 PD-minutes rows streamed as CSV, with time and peak memory.

Creates its own databases — PostgreSQL ``bench_export`` (dropped and created again; never a
test database) and SQLite in a temporary directory — migrates them, bulk-inserts 100,000 ledger
entries for a few thousand educators (most with a profile, some with awards whose badges have a
credential URL), then streams ``GET /v1/exports/completions.csv`` through the real app
in-process and prints rows, seconds, rows/s and the process's memory during the export.

The app is driven by a minimal ASGI caller that counts and drops each chunk as it arrives:
httpx's ``ASGITransport`` collects the whole body before it returns, which would measure the
client rather than the export. One httpx run is printed too, for reference.

Time comes from a run without tracemalloc (it slows allocation down); the tracemalloc peak
from a second run. RSS: ``ru_maxrss`` (the process's high-water mark) and the current resident
size, before and after the export. Never part of ``make test``; run with
``.venv/bin/python bench/export_completions.py`` (``BENCH_PG_URL`` to point elsewhere, empty to
skip PostgreSQL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
EDUCATORS = 3000
PROFILED = 2700  # the others appear as "unknown" school, empty ids
AWARDS = 2000
TENANT = "bench"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_export")
INSERT_BATCH = 5000
# Autovacuum analyzes a freshly loaded table within a minute or so; BENCH_ANALYZE=0 measures the
# export before it has (no statistics: the planner guesses one row per table).
ANALYZE = os.environ.get("BENCH_ANALYZE", "1") != "0"
YEAR = dt.date(2026, 1, 1)


def refuse_test_database(url: str) -> str:
    name = (make_url(url).database or "").lower()
    if name == "test" or name.startswith("test_") or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use the database {name!r}: test and system databases are not for benchmarks")
    return name


async def recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    name = refuse_test_database(url)
    admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


def rss_mib() -> tuple[float, float]:
    """(high-water mark, current) resident set size of this process, MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return peak, current


async def seed(url: str) -> None:
    """Design, pursuits, submissions and awards (with badge links), profiles, and ROWS
    PD-minutes entries (AWARDS of them from awards), with Core executemany."""
    from services.credentials.models import (
        Award,
        CredentialDesign,
        EducatorProfile,
        LedgerEntry,
        Pursuit,
        Submission,
    )
    from shared.db import create_engine

    engine = create_engine(url, schema="credentials")
    now = dt.datetime.now(dt.UTC)
    design_id = str(uuid.uuid4())
    educators = [f"user:bench-{i:05d}" for i in range(EDUCATORS)]
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(CredentialDesign.__table__),
                [
                    {
                        "id": design_id,
                        "tenant_id": TENANT,
                        "name": "Formative Assessment",
                        "published_version": 1,
                        "retired": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            await conn.execute(
                insert(EducatorProfile.__table__),
                [
                    {
                        "tenant_id": TENANT,
                        "educator_id": e,
                        "external_id": f"SIS-{i:06d}",
                        "state_id": f"ST{i:08d}",
                        "school_id": f"school-{i % 40}",
                        "school_name": f"School {i % 40} — Élémentaire",
                        "display_name": f"Educator {i}",
                        "updated_at": now,
                    }
                    for i, e in enumerate(educators[:PROFILED])
                ],
            )
            pursuits, submissions, awards = [], [], []
            for i in range(AWARDS):
                pid, sid, aid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
                base = {"tenant_id": TENANT, "educator_id": educators[i], "design_id": design_id}
                pursuits.append(
                    {**base, "id": pid, "design_version": 1, "state": "active", "revision": 1}
                    | {"started_at": now, "updated_at": now}
                )
                submissions.append(
                    {**base, "id": sid, "pursuit_id": pid, "tier_key": "learning", "attempt": 1, "state": "passed"}
                    | {"evidence_public": False, "created_at": now, "submitted_at": now, "decided_at": now}
                )
                awards.append(
                    {**base, "id": aid, "submission_id": sid, "pursuit_id": pid, "design_version": 1}
                    | {"tier_key": "learning", "tier_title": "Evidence of learning", "competency_ids": []}
                    | {"results": [], "evidence": [], "pd_minutes": 300, "stipend_cents": 7500, "status": "granted"}
                    | {"granted_at": now, "badge_status": "issued", "badge_id": aid}
                    | {"badge_links": {"credential": f"https://pd.bench.example/ob/credentials/{aid}"}}
                )
            await conn.execute(insert(Pursuit.__table__), pursuits)
            await conn.execute(insert(Submission.__table__), submissions)
            await conn.execute(insert(Award.__table__), awards)

            def entry(n: int) -> dict[str, Any]:
                award = awards[n] if n < AWARDS else None
                return {
                    "id": str(uuid.uuid4()),
                    "tenant_id": TENANT,
                    "educator_id": educators[n % EDUCATORS],
                    "kind": "pd_minutes",
                    "amount": 30 + (n * 7) % 450,
                    "status": "recorded",
                    "source": "award" if award else "attendance",
                    "source_id": award["id"] if award else str(uuid.uuid4()),
                    "source_recorded_at": now,
                    "offering_id": None,
                    "activity_title": "Formative Assessment — Evidence of learning"
                    if award
                    else f"Workshop {n % 500}: exit tickets, grade {n % 12 + 1}",
                    "provider_name": None if award else f"Provider {n % 30}",
                    "provider_number": None if award else f"PN-{n % 30:04d}",
                    "credits": None if award else (n % 4) * 0.5,
                    "occurred_on": YEAR + dt.timedelta(days=n % 365),
                    "created_at": now,
                    "updated_at": now,
                }

            for start in range(0, ROWS, INSERT_BATCH):
                await conn.execute(
                    insert(LedgerEntry.__table__), [entry(n) for n in range(start, min(start + INSERT_BATCH, ROWS))]
                )
    finally:
        await engine.dispose()


async def analyze(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def stream_raw(app: FastAPI, path: str, query: str, headers: dict[str, str]) -> tuple[int, int, int]:
    """GET through the app's ASGI interface, dropping each chunk: (status, bytes, rows)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    asked = False
    never = asyncio.get_running_loop().create_future()
    status, size, lines = 0, 0, 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await never  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size, lines
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            size += len(body)
            lines += body.count(b"\n")

    await app(scope, receive, send)
    never.cancel()
    return status, size, lines - 1  # without the header


async def measure(url: str, data_dir: Path) -> dict[str, Any]:
    import httpx

    from services.credentials.app import create_app
    from services.credentials.settings import CredentialsSettings
    from tests.support import identity_headers

    settings = CredentialsSettings(
        environment="test", database_url=url, data_dir=data_dir, outbox_enabled=False, retention_interval_s=0
    )
    app = create_app(settings)
    path, query = "/v1/exports/completions.csv", "from=2026-01-01&to=2026-12-31"
    figures: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        headers: Callable[[], dict[str, str]] = lambda: identity_headers(  # noqa: E731
            settings.keys_dir, "credentials", roles=frozenset({"hr"}), tenant_id=TENANT, subject="user:hr"
        )
        await stream_raw(app, path, "from=2026-01-01&to=2026-01-01", headers())  # warm up: pool, imports
        before = rss_mib()
        start = time.perf_counter()
        status, size, rows = await stream_raw(app, path, query, headers())
        seconds = time.perf_counter() - start
        after = rss_mib()
        assert status == 200, status
        figures.update(rows=rows, bytes=size, seconds=seconds, rss_before=before, rss_after=after)

        tracemalloc.start()
        status, _, traced_rows = await stream_raw(app, path, query, headers())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert (status, traced_rows) == (200, rows)
        figures["traced_peak"] = peak / 2**20

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            start = time.perf_counter()
            async with client.stream("GET", f"{path}?{query}", headers=headers()) as response:
                got = sum([chunk.count(b"\n") async for chunk in response.aiter_bytes()]) - 1
            figures["httpx_seconds"] = time.perf_counter() - start
            assert got == rows
    return figures


def report(backend: str, f: dict[str, Any]) -> None:
    print(f"\n{backend}")
    print(f"  rows                     {f['rows']:>12,}   ({f['bytes'] / 2**20:.1f} MiB of CSV)")
    print(f"  seconds                  {f['seconds']:>12.2f}")
    print(f"  rows/s                   {f['rows'] / f['seconds']:>12,.0f}")
    print(f"  tracemalloc peak         {f['traced_peak']:>12.2f} MiB   (Python allocations during one export)")
    (peak0, cur0), (peak1, cur1) = f["rss_before"], f["rss_after"]
    print(f"  RSS high-water mark      {peak0:>8.1f} -> {peak1:.1f} MiB (before -> after the export)")
    print(f"  RSS now                  {cur0:>8.1f} -> {cur1:.1f} MiB")
    print(f"  via httpx ASGITransport  {f['httpx_seconds']:>12.2f} s    (it buffers the body client-side)")


def run_backend(name: str, url: str, data_dir: Path) -> None:
    from shared.migrations import upgrade

    start = time.perf_counter()
    upgrade("credentials", url)
    asyncio.run(seed(url))
    if ANALYZE and not url.startswith("sqlite"):
        asyncio.run(analyze(url))
    analyzed = " (then ANALYZE)" if ANALYZE and not url.startswith("sqlite") else ""
    print(f"{name}: migrated and seeded {ROWS:,} entries in {time.perf_counter() - start:.1f} s{analyzed}")
    report(name, asyncio.run(measure(url, data_dir)))


def main() -> None:
    """Each backend in a process of its own, so that one's memory does not show in the other's."""
    if len(sys.argv) > 1:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            if sys.argv[1] == "sqlite":
                run_backend("SQLite", f"sqlite+aiosqlite:///{root / 'credentials.sqlite3'}", root)
            else:
                asyncio.run(recreate_postgres(PG_URL))
                try:
                    run_backend("PostgreSQL", PG_URL, root)
                finally:
                    asyncio.run(recreate_postgres(PG_URL, drop_only=True))
        return
    print(f"completions export: {ROWS:,} PD-minutes rows, {EDUCATORS:,} educators ({PROFILED:,} with a profile)")
    for backend in ("sqlite", "postgresql") if PG_URL else ("sqlite",):
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, backend], check=True)


if __name__ == "__main__":
    main()
