"""Sessions of offerings, and registrations with capacity and a waitlist (attendance: attendance.py).

The last seat goes to exactly one request: a seat is taken only by a conditional
``UPDATE sessions SET seats_taken = seats_taken + 1 WHERE id = … AND seats_taken < capacity``.
PostgreSQL serializes concurrent updates of the row and re-checks the condition after the wait;
SQLite serializes writers (BEGIN IMMEDIATE). Whoever's update changes no row is waitlisted.
Cancelling a seat frees it and, in the same transaction, promotes the oldest waitlisted
registration through the same conditional update.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.errors import RegistrationClosed, WrongState
from services.catalog.models import Offering, OfferingSession, Registration
from services.catalog.offerings.service import instant, may_see, visible_offering
from services.catalog.schemas import SessionCreate
from services.catalog.search import indexing
from shared.db import changed_rows, utcnow
from shared.problems import Conflict, FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant


def zone(name: str, pointer: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnprocessableContent(
            f"unknown time zone {name!r}",
            errors=[FieldError(pointer=pointer, detail="an IANA name such as America/Chicago")],
        ) from exc


async def create_session(
    session: AsyncSession, tenant_id: str, offering_id: str, body: SessionCreate
) -> OfferingSession:
    offering = await get_in_tenant(session, Offering, offering_id, tenant_id, noun="offering")
    if offering.status == "retired":
        raise WrongState("a retired offering gets no new sessions", current_status=offering.status, allowed_actions=[])
    zone(body.time_zone, "/body/time_zone")
    errors: list[FieldError] = []
    starts = instant(body.starts_at, "/body/starts_at", errors)
    ends = instant(body.ends_at, "/body/ends_at", errors)
    opens = (
        instant(body.registration_opens_at, "/body/registration_opens_at", errors)
        if body.registration_opens_at
        else None
    )
    closes = (
        instant(body.registration_closes_at, "/body/registration_closes_at", errors)
        if body.registration_closes_at
        else None
    )
    if ends <= starts:
        errors.append(FieldError(pointer="/body/ends_at", detail="must be after starts_at"))
    if opens and closes and closes <= opens:
        errors.append(FieldError(pointer="/body/registration_closes_at", detail="must be after registration_opens_at"))
    if closes and closes > ends:
        errors.append(FieldError(pointer="/body/registration_closes_at", detail="must not be after the session ends"))
    if opens and opens >= (closes or starts):
        errors.append(FieldError(pointer="/body/registration_opens_at", detail="must be before registration closes"))
    if not body.location and not body.online_url:
        errors.append(FieldError(pointer="/body/location", detail="give a location, an online_url, or both"))
    if errors:
        raise UnprocessableContent("the session is not valid", errors=errors)
    now = utcnow()
    row = OfferingSession(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        offering_id=offering.id,
        title=body.title,
        starts_at=starts,
        ends_at=ends,
        time_zone=body.time_zone,
        location=body.location,
        online_url=body.online_url,
        capacity=body.capacity,
        seats_taken=0,
        registration_opens_at=opens,
        registration_closes_at=closes,
        status="scheduled",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    indexing.touch(session, tenant_id, offering.id)  # searches filter and sort on sessions
    return row


async def list_sessions(
    session: AsyncSession, tenant_id: str, offering_id: str, scopes: Collection[str], *, include_past: bool
) -> list[OfferingSession]:
    """An offering's sessions (upcoming ones, or all), if the caller may see the offering."""
    offering = await visible_offering(session, tenant_id, offering_id, scopes)
    statement = select(OfferingSession).where(OfferingSession.offering_id == offering.id)
    if not include_past:
        statement = statement.where(OfferingSession.ends_at >= utcnow())
    return list(await session.scalars(statement.order_by(OfferingSession.starts_at, OfferingSession.id)))


async def visible_session(
    session: AsyncSession, tenant_id: str, session_id: str, scopes: Collection[str]
) -> OfferingSession:
    """The tenant's session if the caller may see its offering; 404 otherwise."""
    row = await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    offering = await session.get(Offering, row.offering_id)
    if not may_see(offering.status if offering is not None else None, scopes):
        raise NotFound(f"no session {session_id}")  # a draft's sessions are as hidden as the draft
    return row


async def cancel_session(session: AsyncSession, tenant_id: str, session_id: str) -> OfferingSession:
    """Call a session off: no more registrations; those made stay, for the record and to notify."""
    scheduled = await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    if scheduled.status != "scheduled" or scheduled.ends_at <= utcnow():
        state = scheduled.status if scheduled.status != "scheduled" else "over"
        raise WrongState(f"the session is {state}: it cannot be cancelled", current_status=state, allowed_actions=[])
    scheduled.status = "cancelled"
    scheduled.updated_at = utcnow()
    await session.flush()
    indexing.touch(session, tenant_id, scheduled.offering_id)
    return scheduled


async def waitlisted_counts(session: AsyncSession, session_ids: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Registration.session_id, func.count())
        .where(Registration.session_id.in_(session_ids or ["-"]), Registration.status == "waitlisted")
        .group_by(Registration.session_id)
    )
    return {sid: int(n) for sid, n in rows}


async def _take_seat(session: AsyncSession, session_id: str) -> bool:
    result = await session.execute(
        update(OfferingSession)
        .where(OfferingSession.id == session_id, OfferingSession.seats_taken < OfferingSession.capacity)
        .values(seats_taken=OfferingSession.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result)


async def _free_seat(session: AsyncSession, session_id: str) -> None:
    await session.execute(
        update(OfferingSession)
        .where(OfferingSession.id == session_id, OfferingSession.seats_taken > 0)
        .values(seats_taken=OfferingSession.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


async def register(
    session: AsyncSession, tenant_id: str, session_id: str, educator_id: str, now: dt.datetime | None = None
) -> tuple[Registration, bool]:
    """Register, or waitlist when full. Returns the registration and whether it is new; asking
    again while registered or waitlisted changes nothing (the same answer, 200)."""
    now = now or utcnow()
    scheduled = await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    existing = await session.scalar(
        select(Registration).where(Registration.session_id == session_id, Registration.educator_id == educator_id)
    )
    if existing is not None and existing.status in {"registered", "waitlisted"}:
        return existing, False
    if scheduled.status != "scheduled":
        raise RegistrationClosed("the session was cancelled")
    if scheduled.registration_opens_at and now < scheduled.registration_opens_at:
        raise RegistrationClosed(f"registration opens at {scheduled.registration_opens_at.isoformat()}")
    closes = scheduled.registration_closes_at or scheduled.starts_at
    if now >= closes:
        raise RegistrationClosed(f"registration closed at {closes.isoformat()}")
    offering = await session.get(Offering, scheduled.offering_id)
    if offering is None or offering.status != "published":
        raise RegistrationClosed("the offering is not published")

    if existing is not None:
        # Claim the cancelled row first: of several requests re-registering at once, only the
        # one whose update changes it goes on to take a seat; the others answer with it.
        claimed = await session.execute(
            update(Registration)
            .where(Registration.id == existing.id, Registration.status == "cancelled")
            .values(status="waitlisted", requested_at=now, cancelled_at=None)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(existing)
        if not changed_rows(claimed):
            return existing, False
    seated = await _take_seat(session, session_id)
    if seated:  # the seats left decide the open-seats filter
        indexing.touch(session, tenant_id, scheduled.offering_id)
    row = existing or Registration(
        id=str(uuid.uuid4()), tenant_id=tenant_id, session_id=session_id, educator_id=educator_id
    )
    row.status = "registered" if seated else "waitlisted"
    row.requested_at = now
    row.registered_at = now if seated else None
    row.cancelled_at = None
    row.promoted_from_waitlist = False
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError as exc:
            # The same educator, registering twice at once: the other request holds the row.
            raise Conflict("a registration for this educator is being made; retry to see it", retryable=True) from exc
    await session.flush()
    return row, True


async def list_registrations(
    session: AsyncSession, tenant_id: str, session_id: str, *, status: str | None
) -> list[Registration]:
    """A session's registrations (or those in one status), oldest request first."""
    await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    statement = select(Registration).where(Registration.session_id == session_id)
    if status:
        statement = statement.where(Registration.status == status)
    return list(await session.scalars(statement.order_by(Registration.requested_at, Registration.id)))


async def registered_educator(session: AsyncSession, tenant_id: str, registration_id: str) -> str | None:
    """Whose registration this is, when it is one of the tenant's (else None: ``cancel`` answers)."""
    row = await session.get(Registration, registration_id)
    return row.educator_id if row is not None and row.tenant_id == tenant_id else None


async def waitlist_position(session: AsyncSession, row: Registration) -> int | None:
    if row.status != "waitlisted":
        return None
    ahead = await session.scalar(
        select(func.count()).where(
            Registration.session_id == row.session_id,
            Registration.status == "waitlisted",
            (Registration.requested_at < row.requested_at)
            | ((Registration.requested_at == row.requested_at) & (Registration.id < row.id)),
        )
    )
    return int(ahead or 0) + 1


async def cancel(
    session: AsyncSession, tenant_id: str, session_id: str, registration_id: str
) -> tuple[Registration, Registration | None]:
    """Cancel a registration; a freed seat goes to the first on the waitlist, in this transaction."""
    scheduled = await get_in_tenant(session, OfferingSession, session_id, tenant_id, noun="session")
    row = await session.get(Registration, registration_id)
    if row is None or row.session_id != session_id or row.tenant_id != tenant_id:
        raise NotFound(f"no registration {registration_id} for this session")
    if row.status == "cancelled":
        raise WrongState("the registration is already cancelled", current_status=row.status, allowed_actions=[])
    if scheduled.starts_at <= utcnow():
        # A seat freed now would promote someone into a session already under way.
        raise WrongState(
            "the session has started; record attendance instead", current_status=row.status, allowed_actions=[]
        )
    # Conditional: of two concurrent cancellations of one seat, only one frees it.
    result = await session.execute(
        update(Registration)
        .where(Registration.id == row.id, Registration.status == row.status)
        .values(status="cancelled", cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(result):
        raise WrongState(
            "the registration changed meanwhile; read it again", current_status=row.status, allowed_actions=[]
        )
    was_seated = row.status == "registered"
    await session.refresh(row)
    promoted = None
    if was_seated:
        await _free_seat(session, session_id)
        indexing.touch(session, tenant_id, scheduled.offering_id)
        promoted = await _promote(session, session_id)
    return row, promoted


async def _promote(session: AsyncSession, session_id: str) -> Registration | None:
    while True:
        first = await session.scalar(
            select(Registration)
            .where(Registration.session_id == session_id, Registration.status == "waitlisted")
            .order_by(Registration.requested_at, Registration.id)
            .limit(1)
        )
        if first is None or not await _take_seat(session, session_id):
            return None
        result = await session.execute(
            update(Registration)
            .where(Registration.id == first.id, Registration.status == "waitlisted")
            .values(status="registered", registered_at=utcnow(), promoted_from_waitlist=True)
            .execution_options(synchronize_session=False)
        )
        if changed_rows(result):
            await session.refresh(first)
            return first
        # Someone else promoted or cancelled that one first: give the seat back, try the next.
        await _free_seat(session, session_id)
