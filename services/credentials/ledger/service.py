"""The PD-minutes and stipend ledger.

Entries arrive from two places: ``session.attended`` events of the catalog (minutes) and, with
awards, passed tiers (minutes and a stipend). Each source writes one entry per kind, keyed by
the source's id, so a redelivered or corrected event updates that entry instead of adding one;
an older version arriving after a newer one changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.schemas import SessionAttended
from services.credentials.errors import WrongState
from services.credentials.models import LedgerEntry
from services.credentials.roles import own_records_only, sees_tenant_records
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.events import EventEnvelope
from shared.paging import after_cursor, encode_cursor
from shared.tenancy import get_in_tenant, in_tenant

# A stipend moves on one step at a time: pending → approved → paid.
STIPEND_NEXT = {"pending": "approved", "approved": "paid"}


async def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    educator_id: str,
    kind: str,
    amount: int,
    status: str,
    source: str,
    source_id: str,
    source_recorded_at: dt.datetime,
    activity_title: str,
    occurred_on: dt.date,
    offering_id: str | None = None,
    provider_name: str | None = None,
    provider_number: str | None = None,
    credits: float | None = None,
) -> LedgerEntry:
    """Create or update the entry of this source and kind (newest source version wins)."""
    query = select(LedgerEntry).where(
        LedgerEntry.tenant_id == tenant_id,
        LedgerEntry.source == source,
        LedgerEntry.source_id == source_id,
        LedgerEntry.kind == kind,
    )
    entry = await session.scalar(query)
    now = utcnow()
    if entry is None:
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            kind=kind,
            source=source,
            source_id=source_id,
            created_at=now,
            source_recorded_at=source_recorded_at,
        )
        try:
            async with session.begin_nested():
                session.add(entry)
                _fill(entry, educator_id, amount, status, activity_title, occurred_on, offering_id, provider_name)
                entry.provider_number, entry.credits, entry.updated_at = provider_number, credits, now
                await session.flush()
            return entry
        except IntegrityError:
            # The same source delivered twice at once: the other delivery made the entry.
            found = await session.scalar(query)
            assert found is not None
            entry = found
    if source_recorded_at < entry.source_recorded_at:
        return entry  # an older correction, delivered late
    _fill(entry, educator_id, amount, status, activity_title, occurred_on, offering_id, provider_name)
    entry.provider_number, entry.credits = provider_number, credits
    entry.source_recorded_at = source_recorded_at
    entry.updated_at = now
    await session.flush()
    return entry


def _fill(
    entry: LedgerEntry,
    educator_id: str,
    amount: int,
    status: str,
    activity_title: str,
    occurred_on: dt.date,
    offering_id: str | None,
    provider_name: str | None,
) -> None:
    entry.educator_id = educator_id
    entry.amount = amount
    entry.status = status
    entry.activity_title = activity_title
    entry.occurred_on = occurred_on
    entry.offering_id = offering_id
    entry.provider_name = provider_name


async def on_session_attended(session: AsyncSession, attended: SessionAttended, envelope: EventEnvelope) -> None:
    """``session.attended`` from the catalog → the educator's PD minutes for that session."""
    if envelope.tenant_id is None:
        raise ValueError("session.attended without a tenant")
    await record(
        session,
        tenant_id=envelope.tenant_id,
        educator_id=attended.educator_id,
        kind="pd_minutes",
        amount=attended.minutes,
        status="recorded",
        source="attendance",
        source_id=attended.attendance_id,
        source_recorded_at=attended.recorded_at,
        activity_title=attended.offering_title,
        occurred_on=attended.date,
        offering_id=attended.offering_id,
        provider_name=attended.provider_name,
        provider_number=attended.provider_number,
        credits=attended.credits,
    )


async def list_entries(
    session: AsyncSession,
    who: Principal,
    *,
    educator_id: str | None,
    kind: str | None,
    occurred_from: dt.date | None,
    occurred_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[LedgerEntry], str | None]:
    """A page of the caller's own entries, or the tenant's for those who read its records,
    newest first; with the cursor of the next page when there is one."""
    statement = in_tenant(select(LedgerEntry), LedgerEntry, who.tenant_id)
    if (only := own_records_only(who)) is not None:
        statement = statement.where(LedgerEntry.educator_id == only)
    if educator_id:
        statement = statement.where(LedgerEntry.educator_id == educator_id)
    if kind:
        statement = statement.where(LedgerEntry.kind == kind)
    if occurred_from:
        statement = statement.where(LedgerEntry.occurred_on >= occurred_from)
    if occurred_to:
        statement = statement.where(LedgerEntry.occurred_on <= occurred_to)
    statement = after_cursor(statement, cursor, LedgerEntry.created_at, LedgerEntry.id)
    rows = list(
        await session.scalars(statement.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None


async def change_stipend(session: AsyncSession, who: Principal, entry_id: str, status: str) -> LedgerEntry:
    """Move a stipend on one step (coordinators and HR)."""
    # HR pays stipends without managing designs (no credentials:write): the role decides here.
    if not sees_tenant_records(who):
        raise Forbidden("stipends are approved and paid by coordinators and HR")
    entry = await get_in_tenant(session, LedgerEntry, entry_id, who.tenant_id, noun="ledger entry")
    if entry.kind != "stipend" or STIPEND_NEXT.get(entry.status) != status:
        allowed = [STIPEND_NEXT[entry.status]] if entry.kind == "stipend" and entry.status in STIPEND_NEXT else []
        raise WrongState(
            f"the entry is a {entry.kind} that is {entry.status}: it cannot become {status}",
            current_state=entry.status,
            allowed_actions=allowed,
        )
    entry.status, entry.updated_at = status, utcnow()
    await session.flush()
    return entry
