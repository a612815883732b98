"""HTTP routes of sessions: scheduling, registrations with the waitlist, attendance."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import scheduling
from services.catalog.deps import IdPath, Reader, SessionDep, Writer
from services.catalog.models import (
    Attendance,
    Offering,
    OfferingSession,
    Registration,
)
from services.catalog.schemas import (
    AttendanceRead,
    AttendanceWrite,
    RegistrationCancelled,
    RegistrationCreate,
    RegistrationRead,
    SessionCreate,
    SessionRead,
)
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.problems import NotFound
from shared.tenancy import get_in_tenant

router = APIRouter()


# --- sessions, registrations, attendance ------------------------------------------------------


async def _session_read(session: AsyncSession, row: OfferingSession) -> SessionRead:
    waiting = await scheduling.waitlisted_counts(session, [row.id])
    return SessionRead(
        id=row.id,
        offering_id=row.offering_id,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        local_starts_at=row.starts_at.astimezone(ZoneInfo(row.time_zone)).isoformat(),
        time_zone=row.time_zone,
        location=row.location,
        online_url=row.online_url,
        capacity=row.capacity,
        seats_taken=row.seats_taken,
        seats_open=max(row.capacity - row.seats_taken, 0),
        waitlisted=waiting.get(row.id, 0),
        registration_opens_at=row.registration_opens_at,
        registration_closes_at=row.registration_closes_at,
        status=row.status,
    )


@router.post(
    "/v1/offerings/{offering_id}/sessions", response_model=SessionRead, status_code=201, summary="Schedule a session"
)
async def create_session(offering_id: IdPath, body: SessionCreate, who: Writer, session: SessionDep) -> SessionRead:
    row = await scheduling.create_session(session, who.tenant_id, offering_id, body)
    return await _session_read(session, row)


@router.get("/v1/offerings/{offering_id}/sessions", response_model=list[SessionRead], summary="An offering's sessions")
async def list_sessions(
    offering_id: IdPath,
    who: Reader,
    session: SessionDep,
    include_past: Annotated[bool, Query()] = False,
) -> list[SessionRead]:
    offering = await get_in_tenant(session, Offering, offering_id, who.tenant_id, noun="offering")
    if offering.status != "published" and "catalog:write" not in who.scopes:
        raise NotFound(f"no offering {offering_id}")
    statement = select(OfferingSession).where(OfferingSession.offering_id == offering.id)
    if not include_past:
        statement = statement.where(OfferingSession.ends_at >= utcnow())
    rows = list(await session.scalars(statement.order_by(OfferingSession.starts_at, OfferingSession.id)))
    return [await _session_read(session, row) for row in rows]


@router.get("/v1/sessions/{session_id}", response_model=SessionRead, summary="One session with its seats")
async def get_session_route(session_id: IdPath, who: Reader, session: SessionDep) -> SessionRead:
    row = await get_in_tenant(session, OfferingSession, session_id, who.tenant_id, noun="session")
    offering = await session.get(Offering, row.offering_id)
    if (offering is None or offering.status != "published") and "catalog:write" not in who.scopes:
        raise NotFound(f"no session {session_id}")  # a draft's sessions are as hidden as the draft
    return await _session_read(session, row)


@router.post("/v1/sessions/{session_id}/cancel", response_model=SessionRead, summary="Call a session off")
async def cancel_session(session_id: IdPath, who: Writer, session: SessionDep) -> SessionRead:
    return await _session_read(session, await scheduling.cancel_session(session, who.tenant_id, session_id))


async def _registration_read(session: AsyncSession, row: Registration) -> RegistrationRead:
    return RegistrationRead(
        id=row.id,
        session_id=row.session_id,
        educator_id=row.educator_id,
        status=row.status,
        waitlist_position=await scheduling.waitlist_position(session, row),
        requested_at=row.requested_at,
        registered_at=row.registered_at,
        cancelled_at=row.cancelled_at,
        promoted_from_waitlist=row.promoted_from_waitlist,
    )


def _acting_for(who: Principal, educator_id: str | None) -> str:
    """Educators register themselves; registering someone else needs catalog:write."""
    target = educator_id or who.subject
    if target != who.subject and "catalog:write" not in who.scopes:
        raise Forbidden("registering someone else needs catalog:write", required_scopes=["catalog:write"])
    return target


@router.post(
    "/v1/sessions/{session_id}/registrations",
    response_model=RegistrationRead,
    status_code=201,
    summary="Register (or join the waitlist when the session is full); repeating it changes nothing",
    responses={200: {"model": RegistrationRead, "description": "already registered or waitlisted"}},
)
async def register(
    session_id: IdPath, response: Response, who: Reader, session: SessionDep, body: RegistrationCreate | None = None
) -> RegistrationRead:
    educator = _acting_for(who, body.educator_id if body else None)
    row, created = await scheduling.register(session, who.tenant_id, session_id, educator)
    if not created:
        response.status_code = 200
    return await _registration_read(session, row)


@router.get(
    "/v1/sessions/{session_id}/registrations",
    response_model=list[RegistrationRead],
    summary="A session's registrations and waitlist (coordinators)",
)
async def list_registrations(
    session_id: IdPath,
    who: Writer,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(registered|waitlisted|cancelled)$")] = None,
) -> list[RegistrationRead]:
    await get_in_tenant(session, OfferingSession, session_id, who.tenant_id, noun="session")
    statement = select(Registration).where(Registration.session_id == session_id)
    if status:
        statement = statement.where(Registration.status == status)
    rows = list(await session.scalars(statement.order_by(Registration.requested_at, Registration.id)))
    return [await _registration_read(session, row) for row in rows]


@router.delete(
    "/v1/sessions/{session_id}/registrations/{registration_id}",
    response_model=RegistrationCancelled,
    summary="Cancel a registration; the first on the waitlist gets the seat",
)
async def cancel_registration(
    session_id: IdPath, registration_id: IdPath, who: Reader, session: SessionDep
) -> RegistrationCancelled:
    row = await session.get(Registration, registration_id)
    if row is not None and row.tenant_id == who.tenant_id:
        _acting_for(who, row.educator_id)
    cancelled, promoted = await scheduling.cancel(session, who.tenant_id, session_id, registration_id)
    return RegistrationCancelled(
        cancelled=await _registration_read(session, cancelled),
        promoted=await _registration_read(session, promoted) if promoted else None,
    )


@router.put(
    "/v1/sessions/{session_id}/attendance",
    response_model=list[AttendanceRead],
    summary="Record attendance minutes per educator (emits session.attended for PD hours)",
)
async def record_attendance(
    session_id: IdPath, body: AttendanceWrite, who: Writer, session: SessionDep
) -> list[AttendanceRead]:
    rows = await scheduling.record_attendance(session, who.tenant_id, session_id, body.entries, who.subject)
    return [_attendance_read(row) for row in rows]


@router.get(
    "/v1/sessions/{session_id}/attendance", response_model=list[AttendanceRead], summary="A session's attendance"
)
async def list_attendance(session_id: IdPath, who: Writer, session: SessionDep) -> list[AttendanceRead]:
    await get_in_tenant(session, OfferingSession, session_id, who.tenant_id, noun="session")
    rows = await session.scalars(
        select(Attendance).where(Attendance.session_id == session_id).order_by(Attendance.educator_id)
    )
    return [_attendance_read(row) for row in rows]


def _attendance_read(row: Attendance) -> AttendanceRead:
    return AttendanceRead(
        id=row.id,
        session_id=row.session_id,
        offering_id=row.offering_id,
        educator_id=row.educator_id,
        minutes=row.minutes,
        attended_on=row.attended_on,
        recorded_at=row.recorded_at,
    )
