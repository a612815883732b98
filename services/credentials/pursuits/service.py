"""Pursuits: one explicit state machine (the learning plan's steps are in ``plans.py``).

``ACTIONS`` is the whole of it — for each action, the states it may start from, the state it
leads to, and who may take it. Anything else answers 409 naming the current state and what the
caller could do instead. Every transition is written to ``PursuitEvent`` in the same
transaction, so the history never disagrees with the state.

States: ``planning`` (writing the learning plan, or revising a returned one) → ``plan_review``
→ ``active`` (working on tiers; designs without a plan start here) → ``completed``;
``withdrawn`` from any open state.

One open pursuit per educator and design: a second start answers 409 naming the open one
(checked first; a partial unique index settles starts that race). A design whose every tier
the educator already holds (a standing award each) takes no new pursuit from them either; after
a revocation it does, and the tier may be earned again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.client import CatalogClient
from services.credentials import references
from services.credentials.designs.service import published_version
from services.credentials.errors import AlreadyAwarded, AlreadyPursuing, WrongState
from services.credentials.models import Award, CredentialDesign, LearningPlan, Pursuit, PursuitEvent
from services.credentials.roles import is_coordinator, own_records_only
from services.credentials.schemas import DesignContent, PursuitCreate
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

Who = Literal["educator", "coordinator", "either"]


@dataclass(frozen=True)
class Action:
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    who: Who


ACTIONS: dict[str, Action] = {
    "save_plan": Action(frozenset({"planning"}), None, "educator"),
    "submit_plan": Action(frozenset({"planning"}), "plan_review", "educator"),
    "approve_plan": Action(frozenset({"plan_review"}), "active", "coordinator"),
    "return_plan": Action(frozenset({"plan_review"}), "planning", "coordinator"),
    "withdraw": Action(frozenset({"planning", "plan_review", "active"}), "withdrawn", "either"),
}
OPEN_STATES = frozenset({"planning", "plan_review", "active"})


def _may(who: Principal, pursuit: Pursuit, role: Who) -> bool:
    own = who.kind == "user" and who.subject == pursuit.educator_id
    if role == "educator":
        return own or is_coordinator(who)  # coordinators may act for an educator (e.g. on paper)
    if role == "coordinator":
        # Separation of duties: nobody approves their own plan.
        return is_coordinator(who) and not own
    return own or is_coordinator(who)


def allowed_actions(who: Principal, pursuit: Pursuit) -> list[str]:
    return [
        name for name, action in ACTIONS.items() if pursuit.state in action.sources and _may(who, pursuit, action.who)
    ]


async def transition(
    session: AsyncSession, who: Principal, pursuit: Pursuit, name: str, note: str | None = None
) -> None:
    action = ACTIONS[name]
    if pursuit.state not in action.sources or not _may(who, pursuit, action.who):
        allowed = allowed_actions(who, pursuit)
        if pursuit.state in action.sources:
            raise Forbidden(f"{name} is for the {action.who}, not for you", allowed_actions=allowed)
        raise WrongState(
            f"the pursuit is {pursuit.state}: {name} is not possible"
            + (f"; possible: {', '.join(allowed)}" if allowed else ""),
            current_state=pursuit.state,
            allowed_actions=allowed,
        )
    now = utcnow()
    before = pursuit.state
    if action.target is not None:
        pursuit.state = action.target
        if action.target not in OPEN_STATES:
            pursuit.ended_at = now
    pursuit.revision += 1
    pursuit.updated_at = now
    session.add(
        PursuitEvent(
            id=str(uuid.uuid4()),
            pursuit_id=pursuit.id,
            at=now,
            actor=who.subject,
            action=name,
            from_state=before,
            to_state=pursuit.state,
            note=note,
        )
    )
    await session.flush()


def visible(who: Principal, pursuit: Pursuit) -> bool:
    """Educators see their own pursuits; coordinators, HR and API clients see the tenant's."""
    if who.kind == "user" and who.subject == pursuit.educator_id:
        return True
    return is_coordinator(who) or ("records:read" in who.scopes and bool(who.roles & {"hr"}))


async def list_pursuits(
    session: AsyncSession,
    who: Principal,
    *,
    design_id: str | None,
    state: str | None,
    educator_id: str | None,
    limit: int,
) -> list[Pursuit]:
    """The caller's own pursuits, or the tenant's for those who read its records, newest first."""
    statement = in_tenant(select(Pursuit), Pursuit, who.tenant_id)
    if (only := own_records_only(who)) is not None:
        statement = statement.where(Pursuit.educator_id == only)
    if design_id:
        statement = statement.where(Pursuit.design_id == design_id)
    if state:
        statement = statement.where(Pursuit.state == state)
    if educator_id:
        statement = statement.where(Pursuit.educator_id == educator_id)
    return list(await session.scalars(statement.order_by(Pursuit.started_at.desc(), Pursuit.id).limit(limit)))


async def get_pursuit(session: AsyncSession, who: Principal, pursuit_id: str) -> Pursuit:
    pursuit = await get_in_tenant(session, Pursuit, pursuit_id, who.tenant_id, noun="pursuit")
    if not visible(who, pursuit):
        raise NotFound(f"no pursuit {pursuit_id}")  # like a missing one: whose it is stays private
    return pursuit


async def open_pursuit(session: AsyncSession, tenant_id: str, educator_id: str, design_id: str) -> Pursuit | None:
    """The educator's open pursuit of the design, if any (at most one, by the index)."""
    return await session.scalar(
        select(Pursuit)
        .where(
            Pursuit.tenant_id == tenant_id,
            Pursuit.educator_id == educator_id,
            Pursuit.design_id == design_id,
            Pursuit.state.in_(OPEN_STATES),
            Pursuit.duplicate_of.is_(None),
        )
        .order_by(Pursuit.started_at, Pursuit.id)
        .limit(1)
    )


async def standing_awards(session: AsyncSession, tenant_id: str, educator_id: str, design_id: str) -> dict[str, Award]:
    """The educator's standing (not revoked) awards of the design, by tier key."""
    rows = await session.scalars(
        select(Award)
        .where(
            Award.tenant_id == tenant_id,
            Award.educator_id == educator_id,
            Award.design_id == design_id,
            Award.status != "revoked",
        )
        .order_by(Award.granted_at, Award.id)
    )
    held: dict[str, Award] = {}
    for award in rows:
        held.setdefault(award.tier_key, award)  # a marked duplicate (migration 0008) comes later
    return held


def _already_pursuing(pursuit: Pursuit) -> AlreadyPursuing:
    return AlreadyPursuing(
        f"you already pursue this design: pursuit {pursuit.id} is {pursuit.state}; continue with it",
        pursuit_id=pursuit.id,
        current_state=pursuit.state,
    )


def recipient_email(who: Principal, educator: str, body: PursuitCreate) -> str | None:
    """Whom the tier badges name.

    An educator signed in for themselves: the address the district's directory holds for them,
    from the gateway's token — a badge names the person who did the work, not an address typed
    in. An API client, or a coordinator starting a pursuit for an educator, cannot speak for
    that person's sign-in and gives it in ``recipient_email`` (or a ``recipient_id``)."""
    if not (who.kind == "user" and who.subject == educator and who.email):
        return body.recipient_email
    if body.recipient_email and body.recipient_email.casefold() != who.email.casefold():
        raise UnprocessableContent(
            "the badges of your pursuit name the address you signed in with",
            errors=[FieldError(pointer="/body/recipient_email", detail=f"leave it out, or give {who.email}")],
        )
    return who.email


async def start(
    session: AsyncSession, who: Principal, body: PursuitCreate, *, catalog: CatalogClient
) -> tuple[Pursuit, CredentialDesign]:
    """A new pursuit; an ``offering_id`` is checked with the catalog first (nothing is written
    if it is unknown or the catalog cannot say) and its title and provider copied."""
    educator = body.educator_id or who.subject
    if educator != who.subject and not is_coordinator(who):
        raise Forbidden("starting a pursuit for someone else is for coordinators")
    email = recipient_email(who, educator, body)
    design = await get_in_tenant(session, CredentialDesign, body.design_id, who.tenant_id, noun="credential design")
    if design.retired or design.published_version is None:
        raise UnprocessableContent(
            "this design takes no new pursuits",
            errors=[FieldError(pointer="/body/design_id", detail="retired" if design.retired else "not published yet")],
        )
    version = await published_version(session, design, design.published_version)
    assert version is not None
    content = DesignContent.model_validate(version.content)
    settings = content.settings
    if (current := await open_pursuit(session, who.tenant_id, educator, design.id)) is not None:
        raise _already_pursuing(current)
    held = await standing_awards(session, who.tenant_id, educator, design.id)
    if content.tiers and all(t.key in held for t in content.tiers):
        raise AlreadyAwarded(
            "every tier of this design is already awarded to the educator: there is nothing left to pursue",
            award_ids=[held[t.key].id for t in content.tiers],
            award_id=held[content.tiers[-1].key].id,
            tier=content.tiers[-1].key,
        )
    offering = (
        await references.offering_for_pursuit(catalog, who, body.offering_id, design.id) if body.offering_id else None
    )
    now = utcnow()
    first_state = "planning" if settings.learning_plan_required else "active"
    pursuit = Pursuit(
        id=str(uuid.uuid4()),
        tenant_id=who.tenant_id,
        educator_id=educator,
        recipient_email=email,
        recipient_id=body.recipient_id,
        design_id=design.id,
        design_version=version.version,
        offering_id=offering.id if offering else None,
        offering_title=offering.title if offering else None,
        provider_name=offering.provider_name if offering else None,
        provider_number=offering.provider_number if offering else None,
        state=first_state,
        revision=1,
        started_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(pursuit)
            await session.flush()
    except IntegrityError:
        # Another start for the same educator and design won the race (uq_pursuits_one_open).
        current = await open_pursuit(session, who.tenant_id, educator, design.id)
        if current is None:
            raise
        raise _already_pursuing(current) from None
    session.add(
        PursuitEvent(
            id=str(uuid.uuid4()),
            pursuit_id=pursuit.id,
            at=now,
            actor=who.subject,
            action="start",
            from_state=None,
            to_state=first_state,
            note=None,
        )
    )
    await session.flush()
    return pursuit, design


async def content_of(session: AsyncSession, pursuit: Pursuit) -> DesignContent:
    design = await session.get(CredentialDesign, pursuit.design_id)
    assert design is not None
    version = await published_version(session, design, pursuit.design_version)
    assert version is not None
    return DesignContent.model_validate(version.content)


async def withdraw(session: AsyncSession, who: Principal, pursuit_id: str, note: str | None) -> Pursuit:
    pursuit = await get_pursuit(session, who, pursuit_id)
    await transition(session, who, pursuit, "withdraw", note=note)
    return pursuit


async def complete(session: AsyncSession, pursuit: Pursuit) -> None:
    """Every tier up to the last one passed: the pursuit is complete (decided by the rubric, not
    by anyone's action, so it is recorded with the system as actor)."""
    if pursuit.state != "active":
        return
    now = utcnow()
    session.add(
        PursuitEvent(
            id=str(uuid.uuid4()),
            pursuit_id=pursuit.id,
            at=now,
            actor="system",
            action="complete",
            from_state=pursuit.state,
            to_state="completed",
            note=None,
        )
    )
    pursuit.state, pursuit.ended_at, pursuit.updated_at = "completed", now, now
    pursuit.revision += 1
    await session.flush()


async def history(session: AsyncSession, pursuit_id: str) -> list[PursuitEvent]:
    return list(
        await session.scalars(
            select(PursuitEvent).where(PursuitEvent.pursuit_id == pursuit_id).order_by(PursuitEvent.at, PursuitEvent.id)
        )
    )


@dataclass(frozen=True)
class PursuitView:
    """What a pursuit's answer shows beside the pursuit itself."""

    pursuit: Pursuit
    design_name: str
    plan: LearningPlan | None
    history: list[PursuitEvent]


async def view(session: AsyncSession, pursuit: Pursuit) -> PursuitView:
    design = await session.get(CredentialDesign, pursuit.design_id)
    plan = await session.get(LearningPlan, pursuit.id)
    content = await content_of(session, pursuit)
    return PursuitView(
        pursuit=pursuit,
        design_name=content.name if design else "",
        plan=plan,
        history=await history(session, pursuit.id),
    )
