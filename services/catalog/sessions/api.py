"""HTTP routes of sessions: scheduling, registrations with the waitlist, attendance."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from services.catalog.deps import IdPath, Reader, Writer
from services.catalog.models import Attendance, OfferingSession, Registration
from services.catalog.schemas import (
    AttendanceRead,
    AttendanceWrite,
    RegistrationCancelled,
    RegistrationCreate,
    RegistrationRead,
    SessionCreate,
    SessionRead,
)
from services.catalog.sessions import attendance, service
from shared.auth import Forbidden, Principal
from shared.state import SessionDep

router = APIRouter()


async def _session_read(session: SessionDep, row: OfferingSession) -> SessionRead:
    waiting = await service.waitlisted_counts(session, [row.id])
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
async def create_session(
    offering_id: IdPath, body: SessionCreate, response: Response, who: Writer, session: SessionDep
) -> SessionRead:
    row = await service.create_session(session, who.tenant_id, offering_id, body)
    response.headers["Location"] = f"/v1/sessions/{row.id}"
    return await _session_read(session, row)


@router.get("/v1/offerings/{offering_id}/sessions", response_model=list[SessionRead], summary="An offering's sessions")
async def list_sessions(
    offering_id: IdPath,
    who: Reader,
    session: SessionDep,
    include_past: Annotated[bool, Query()] = False,
) -> list[SessionRead]:
    rows = await service.list_sessions(session, who.tenant_id, offering_id, who.scopes, include_past=include_past)
    return [await _session_read(session, row) for row in rows]


@router.get("/v1/sessions/{session_id}", response_model=SessionRead, summary="One session with its seats")
async def get_session_route(session_id: IdPath, who: Reader, session: SessionDep) -> SessionRead:
    row = await service.visible_session(session, who.tenant_id, session_id, who.scopes)
    return await _session_read(session, row)


@router.post("/v1/sessions/{session_id}/cancel", response_model=SessionRead, summary="Call a session off")
async def cancel_session(session_id: IdPath, who: Writer, session: SessionDep) -> SessionRead:
    return await _session_read(session, await service.cancel_session(session, who.tenant_id, session_id))


async def _registration_read(session: SessionDep, row: Registration) -> RegistrationRead:
    return RegistrationRead(
        id=row.id,
        session_id=row.session_id,
        educator_id=row.educator_id,
        status=row.status,
        waitlist_position=await service.waitlist_position(session, row),
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
    row, created = await service.register(session, who.tenant_id, session_id, educator)
    if created:
        response.headers["Location"] = f"/v1/sessions/{session_id}/registrations/{row.id}"
    else:
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
    rows = await service.list_registrations(session, who.tenant_id, session_id, status=status)
    return [await _registration_read(session, row) for row in rows]


@router.delete(
    "/v1/sessions/{session_id}/registrations/{registration_id}",
    response_model=RegistrationCancelled,
    summary="Cancel a registration; the first on the waitlist gets the seat",
)
async def cancel_registration(
    session_id: IdPath, registration_id: IdPath, who: Reader, session: SessionDep
) -> RegistrationCancelled:
    educator = await service.registered_educator(session, who.tenant_id, registration_id)
    if educator is not None:
        _acting_for(who, educator)
    cancelled, promoted = await service.cancel(session, who.tenant_id, session_id, registration_id)
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
    rows = await attendance.record_attendance(session, who.tenant_id, session_id, body.entries, who.subject)
    return [_attendance_read(row) for row in rows]


@router.get(
    "/v1/sessions/{session_id}/attendance", response_model=list[AttendanceRead], summary="A session's attendance"
)
async def list_attendance(session_id: IdPath, who: Writer, session: SessionDep) -> list[AttendanceRead]:
    rows = await attendance.list_attendance(session, who.tenant_id, session_id)
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
