"""Each service's migrations: upgrade to head, models match (alembic check), down to base, up again."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from shared import migrations
from shared.db import UTCDateTime, create_engine, is_sqlite
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


async def test_credentials_duplicates_from_before_the_one_award_rule_are_kept_and_reported(
    backend: str, database_urls: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """0008 adds the one-open-pursuit and one-standing-award indexes to a database that already
    breaks them: the later duplicates are marked (``duplicate_of``), logged with their ids and
    their ledger entries, and nothing is deleted or voided; new duplicates are refused."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}" if backend == "sqlite" else database_urls["credentials"]
    if backend == "postgresql":
        await asyncio.to_thread(migrations.downgrade, "credentials", url, "0007")  # the session's database
    await asyncio.to_thread(migrations.upgrade, "credentials", url, "0007")
    tenant, t0 = str(uuid.uuid4()), dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    meta = MetaData(schema="credentials")
    when = {"created_at": t0, "updated_at": t0}
    designs = Table(
        "credential_designs", meta, *_columns("id tenant_id name"), Column("retired", Boolean), *_times(when)
    )
    pursuits = Table(
        "pursuits",
        meta,
        *_columns("id tenant_id educator_id design_id state"),
        Column("design_version", Integer),
        Column("revision", Integer),
        *_times({"started_at": t0, "updated_at": t0}),
    )
    submissions = Table(
        "submissions",
        meta,
        *_columns("id tenant_id pursuit_id educator_id design_id tier_key state"),
        Column("attempt", Integer),
        Column("evidence_public", Boolean),
        *_times({"created_at": t0}),
    )
    awards = Table(
        "awards",
        meta,
        *_columns(
            "id tenant_id submission_id pursuit_id educator_id design_id tier_key tier_title status badge_status"
        ),
        *(Column(c, JSON) for c in ("competency_ids", "results", "evidence")),
        *(Column(c, Integer) for c in ("design_version", "pd_minutes", "stipend_cents")),
        *_times({"granted_at": t0}),
    )
    ledger = Table(
        "ledger_entries",
        meta,
        *_columns("id tenant_id educator_id kind status source source_id activity_title"),
        Column("amount", Integer),
        Column("occurred_on", Date),
        *_times({"source_recorded_at": t0, **when}),
    )

    def ids(prefix: str, n: int) -> list[str]:
        return [f"{prefix}{i}-{tenant[:8]}" for i in range(n)]

    design, (p_active, p_planning, p_done, p_other) = ids("d", 1)[0], ids("p", 4)
    a_first, a_second, a_revoked = ids("a", 3)
    common = {"tenant_id": tenant, "educator_id": "user:e1", "design_id": design}
    hour = dt.timedelta(hours=1)
    pursuit_rows = [
        (p_active, "user:e1", "active", t0),
        (p_planning, "user:e1", "planning", t0 + hour),  # the second open one: a duplicate
        (p_done, "user:e1", "completed", t0 - hour),
        (p_other, "user:e2", "active", t0 + hour),
    ]
    award_rows = [
        (a_first, p_done, "granted", t0),
        (a_second, p_active, "granted", t0 + hour),  # tier 1 again while the first stands
        (a_revoked, p_active, "revoked", t0 - hour),
    ]
    engine = create_engine(url, schema="credentials")
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(designs).values(id=design, tenant_id=tenant, name="D", retired=False, **when))
            for pid, educator, state, started in pursuit_rows:
                await conn.execute(
                    insert(pursuits).values(
                        **{**common, "educator_id": educator},
                        id=pid,
                        state=state,
                        design_version=1,
                        revision=1,
                        started_at=started,
                        updated_at=started,
                    )
                )
            for n, (aid, pid, status, granted) in enumerate(award_rows):
                await conn.execute(
                    insert(submissions).values(
                        **common,
                        id=f"s-{aid}",
                        pursuit_id=pid,
                        tier_key="learning",
                        state="passed",
                        attempt=n + 1,
                        evidence_public=False,
                        created_at=granted,
                    )
                )
                await conn.execute(
                    insert(awards).values(
                        **common,
                        id=aid,
                        submission_id=f"s-{aid}",
                        pursuit_id=pid,
                        tier_key="learning",
                        tier_title="Tier 1",
                        status=status,
                        badge_status="no_recipient",
                        competency_ids=[],
                        results=[],
                        evidence=[],
                        design_version=1,
                        pd_minutes=300,
                        stipend_cents=7500,
                        granted_at=granted,
                    )
                )
                for kind, amount, entry_status in (("pd_minutes", 300, "recorded"), ("stipend", 7500, "paid")):
                    await conn.execute(
                        insert(ledger).values(
                            id=f"l-{kind}-{aid}",
                            tenant_id=tenant,
                            educator_id="user:e1",
                            kind=kind,
                            status=entry_status,
                            source="award",
                            source_id=aid,
                            activity_title="D — Tier 1",
                            amount=amount,
                            occurred_on=granted.date(),
                            source_recorded_at=granted,
                            **when,
                        )
                    )

        with caplog.at_level(logging.WARNING, logger="migrations.credentials"):
            await asyncio.to_thread(migrations.upgrade, "credentials", url)
        reported = [r.getMessage() for r in caplog.records if r.name == "migrations.credentials"]

        async with engine.connect() as conn:
            marked = dict(
                (
                    await conn.execute(
                        text(f"SELECT id, duplicate_of FROM {_t(url, 'pursuits')} WHERE tenant_id = :t"), {"t": tenant}
                    )
                ).all()
            )
            award_marks = dict(
                (
                    await conn.execute(
                        text(f"SELECT id, duplicate_of FROM {_t(url, 'awards')} WHERE tenant_id = :t"), {"t": tenant}
                    )
                ).all()
            )
            entries = sorted(
                (
                    await conn.execute(
                        text(f"SELECT source_id, kind, status FROM {_t(url, 'ledger_entries')} WHERE tenant_id = :t"),
                        {"t": tenant},
                    )
                ).all()
            )
        assert marked == {p_active: None, p_planning: p_active, p_done: None, p_other: None}
        assert award_marks == {a_first: None, a_second: a_first, a_revoked: None}
        # Money records stay as they were: nothing deleted, nothing voided.
        assert entries == sorted(
            (aid, kind, status)
            for aid, _p, _s, _g in award_rows
            for kind, status in (("pd_minutes", "recorded"), ("stipend", "paid"))
        )
        group = f"tenant_id={tenant}, educator_id=user:e1, design_id={design}"
        assert reported == [
            f"duplicate open pursuit {p_planning} kept and marked duplicate_of={p_active} ({group}); settle it by hand",
            f"duplicate standing award {a_second} kept and marked duplicate_of={a_first} ({group}, tier_key=learning);"
            " settle it by hand",
            f"ledger entry l-pd_minutes-{a_second} (pd_minutes 300, recorded) belongs to duplicate award {a_second}"
            f" of award {a_first}: kept as it is",
            f"ledger entry l-stipend-{a_second} (stipend 7500, paid) belongs to duplicate award {a_second}"
            f" of award {a_first}: kept as it is",
        ]

        # From now on the indexes refuse new duplicates.
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    insert(pursuits).values(
                        **common,
                        id=ids("q", 1)[0],
                        state="active",
                        design_version=1,
                        revision=1,
                        started_at=t0,
                        updated_at=t0,
                    )
                )
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(update(awards).where(awards.c.id == a_revoked).values(status="granted"))
    finally:
        async with engine.begin() as conn:
            for table in (ledger, awards, submissions, pursuits, designs):
                await conn.execute(delete(table).where(table.c.tenant_id == tenant))
        await engine.dispose()


def _columns(names: str) -> list[Column[Any]]:
    return [Column(name, String) for name in names.split()]


def _times(names: dict[str, dt.datetime]) -> list[Column[Any]]:
    return [Column(name, UTCDateTime()) for name in names]


def _t(url: str, table: str) -> str:
    return table if is_sqlite(url) else f"credentials.{table}"
