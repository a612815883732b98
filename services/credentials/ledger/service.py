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
from services.credentials.models import LedgerEntry
from shared.db import utcnow
from shared.events import EventEnvelope


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


async def on_session_attended(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``session.attended`` from the catalog → the educator's PD minutes for that session."""
    attended = SessionAttended.model_validate(envelope.payload)
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
