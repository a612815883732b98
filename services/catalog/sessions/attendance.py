"""Attendance at a session: minutes per educator, recorded (or corrected) by a coordinator; each
entry tells the credentials service through a ``session.attended`` event (PD hours)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.errors import WrongState
from services.catalog.models import Attendance, Offering, OfferingSession, OutboxEvent
from services.catalog.schemas import AttendanceEntry, SessionAttended
from shared.db import utcnow
from shared.outbox import enqueue
from shared.problems import FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant


async def record_attendance(
    session: AsyncSession, tenant_id: str, session_id: str, entries: list[AttendanceEntry], recorded_by: str
) -> list[Attendance]:
    """Record (or correct) minutes per educator; each writes a ``session.attended`` event in this
    transaction. A correction sends the event again with the same ``attendance_id`` and the new
    minutes, so the receiver keeps one ledger entry per attendance, not one per event."""
    scheduled = await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    if scheduled.status != "scheduled" or scheduled.starts_at > utcnow():
        why = "was cancelled" if scheduled.status != "scheduled" else "has not started yet"
        raise WrongState(
            f"the session {why}: no attendance to record", current_status=scheduled.status, allowed_actions=[]
        )
    offering = await session.get(Offering, scheduled.offering_id)
    assert offering is not None
    local = ZoneInfo(scheduled.time_zone)
    first_day, last_day = scheduled.starts_at.astimezone(local).date(), scheduled.ends_at.astimezone(local).date()
    length = int((scheduled.ends_at - scheduled.starts_at).total_seconds() // 60)
    errors = [
        FieldError(pointer=f"/body/entries/{i}/minutes", detail=f"more than the session's {length} minutes")
        for i, entry in enumerate(entries)
        if entry.minutes > length
    ]
    errors += [
        FieldError(pointer=f"/body/entries/{i}/attended_on", detail=f"the session runs {first_day} to {last_day}")
        for i, entry in enumerate(entries)
        if entry.attended_on is not None and not first_day <= entry.attended_on <= last_day
    ]
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.educator_id in seen:
            errors.append(FieldError(pointer=f"/body/entries/{i}/educator_id", detail="listed twice"))
        seen.add(entry.educator_id)
    if errors:
        raise UnprocessableContent("the attendance is not valid; nothing was recorded", errors=errors)
    local_day = scheduled.starts_at.astimezone(ZoneInfo(scheduled.time_zone)).date()
    now = utcnow()
    recorded: list[Attendance] = []
    for entry in entries:
        row = await session.scalar(
            select(Attendance).where(Attendance.session_id == session_id, Attendance.educator_id == entry.educator_id)
        )
        if row is None:
            row = Attendance(
                id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                session_id=session_id,
                offering_id=scheduled.offering_id,
                educator_id=entry.educator_id,
            )
            session.add(row)
        row.minutes = entry.minutes
        row.attended_on = entry.attended_on or local_day
        row.recorded_at = now
        row.recorded_by = recorded_by
        await session.flush()
        await enqueue(
            session,
            OutboxEvent,
            source="catalog",
            tenant_id=tenant_id,
            payload=SessionAttended(
                attendance_id=row.id,
                educator_id=row.educator_id,
                offering_id=row.offering_id,
                session_id=row.session_id,
                minutes=row.minutes,
                date=row.attended_on,
                recorded_at=row.recorded_at,
                offering_title=offering.title,
                provider_name=offering.provider_name,
                provider_number=offering.provider_number,
                credits=offering.credits,
            ),
        )
        recorded.append(row)
    return recorded


async def list_attendance(session: AsyncSession, tenant_id: str, session_id: str) -> list[Attendance]:
    await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    rows = await session.scalars(
        select(Attendance).where(Attendance.session_id == session_id).order_by(Attendance.educator_id)
    )
    return list(rows)
