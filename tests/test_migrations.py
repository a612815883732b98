"""Each service's migrations: upgrade to head, models match (alembic check), down to base, up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect

from shared import migrations
from shared.db import create_engine, is_sqlite
from tests.support import SERVICES


async def tables(url: str, schema: str) -> set[str]:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda sync: set(inspect(sync).get_table_names(schema=None if is_sqlite(url) else schema))
            )
    finally:
        await engine.dispose()
    return names


@pytest.mark.parametrize("service", SERVICES)
async def test_upgrade_check_downgrade_roundtrip(
    service: str, backend: str, database_urls: dict[str, str], tmp_path: Path
) -> None:
    # SQLite: a fresh file per service; PostgreSQL: the test database's real schemas.
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}" if backend == "sqlite" else database_urls[service]
    await asyncio.to_thread(migrations.upgrade, service, url)
    assert {"alembic_version", "outbox_events", "inbox_events"} <= await tables(url, service)
    engine = create_engine(url, schema=service)
    try:
        assert await migrations.current_revisions(engine, service) == migrations.head_revisions(service)
    finally:
        await engine.dispose()
    if backend == "postgresql":
        # `alembic check`: the models and the migrations describe the same schema.
        await asyncio.to_thread(migrations.check, service, url)

    await asyncio.to_thread(migrations.downgrade, service, url)
    assert await tables(url, service) <= {"alembic_version"}
    await asyncio.to_thread(migrations.upgrade, service, url)
    assert {"outbox_events", "inbox_events"} <= await tables(url, service)


def test_every_service_has_one_environment_and_a_single_head() -> None:
    ini = (migrations.ALEMBIC_INI).read_text()
    for service in SERVICES:
        assert f"[{service}]" in ini
        assert len(migrations.head_revisions(service)) == 1
