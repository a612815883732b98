"""The completions export for HR and licensure systems: PD minutes as CSV.

It streams: an async generator reads the ledger in keyset-paged batches (ordered by
``occurred_on, id``) in a session of its own and yields CSV text batch by batch, so memory stays
flat however many rows a district has.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credentials.models import Award, EducatorProfile, LedgerEntry

EXPORT_BATCH = 1000
EXPORT_COLUMNS = (
    "educator_id",
    "external_id",
    "state_id",
    "educator_name",
    "school",
    "activity_title",
    "provider_name",
    "provider_number",
    "date",
    "minutes",
    "hours",
    "credits",
    "credential_url",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _hours(minutes: int) -> str:
    return str((Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _credits(value: float | None) -> str:
    return "" if value is None else format(value, "g")


def _csv(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


async def completion_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: str,
    occurred_from: dt.date,
    occurred_to: dt.date,
    *,
    batch_size: int = EXPORT_BATCH,
) -> AsyncIterator[bytes]:
    """The PD-minutes entries (not void) of the window as CSV, a header and then one batch of
    rows at a time, read by keyset in a session of its own (the request's is closed by then).

    Each batch is three index lookups — the entries, then their educators' profiles and their
    awards' badge links by key — rather than one join, so the plan cannot go wrong on tables
    whose statistics are stale (a join planned for one profile row rescans them per entry)."""
    base = (
        select(
            LedgerEntry.id,
            LedgerEntry.educator_id,
            LedgerEntry.source,
            LedgerEntry.source_id,
            LedgerEntry.activity_title,
            LedgerEntry.provider_name,
            LedgerEntry.provider_number,
            LedgerEntry.occurred_on,
            LedgerEntry.amount,
            LedgerEntry.credits,
        )
        .where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.kind == "pd_minutes",
            LedgerEntry.status != "void",
            LedgerEntry.occurred_on >= occurred_from,
            LedgerEntry.occurred_on <= occurred_to,
        )
        .order_by(LedgerEntry.occurred_on, LedgerEntry.id)
        .limit(batch_size)
    )
    yield _csv([EXPORT_COLUMNS]).encode()
    after: tuple[dt.date, str] | None = None
    async with sessionmaker() as session:
        while True:
            statement = base
            if after is not None:
                # A row-value comparison: PostgreSQL and SQLite both seek the (tenant, day, id)
                # index to it, where an OR of the two cases rescans from the window's start.
                statement = statement.where(tuple_(LedgerEntry.occurred_on, LedgerEntry.id) > tuple_(*after))
            batch = (await session.execute(statement)).all()
            if not batch:
                await session.rollback()
                return
            people = {
                p.educator_id: p
                for p in (
                    await session.execute(
                        select(
                            EducatorProfile.educator_id,
                            EducatorProfile.external_id,
                            EducatorProfile.state_id,
                            EducatorProfile.display_name,
                            EducatorProfile.school_name,
                        ).where(
                            EducatorProfile.tenant_id == tenant_id,
                            EducatorProfile.educator_id.in_({r.educator_id for r in batch}),
                        )
                    )
                ).all()
            }
            award_ids = {r.source_id for r in batch if r.source == "award"}
            links: dict[str, dict[str, str] | None] = {}
            if award_ids:
                found = await session.execute(
                    select(Award.id, Award.badge_links).where(Award.tenant_id == tenant_id, Award.id.in_(award_ids))
                )
                links = dict(found.all())
            # Nothing is held between batches: end the read so a long download pins no snapshot.
            await session.rollback()
            yield _csv(_export_row(r, people.get(r.educator_id), links) for r in batch).encode()
            if len(batch) < batch_size:
                return
            after = (batch[-1].occurred_on, batch[-1].id)


def _export_row(entry: Any, person: Any | None, links: dict[str, dict[str, str] | None]) -> tuple[object, ...]:
    credential = (links.get(entry.source_id) or {}).get("credential") if entry.source == "award" else None
    return (
        entry.educator_id,
        person.external_id if person else None,
        person.state_id if person else None,
        person.display_name if person else None,
        person.school_name if person else None,
        entry.activity_title,
        entry.provider_name,
        entry.provider_number,
        entry.occurred_on.isoformat(),
        entry.amount,
        _hours(entry.amount),
        _credits(entry.credits),
        credential,
    )
