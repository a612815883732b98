"""The assessor pool: who may review a tenant's submissions, and how loaded each one is.

Coordinators keep the pool; assignment (``reviews.py``) picks the least-loaded eligible assessor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.models import Assessor, ReviewAssignment, Submission
from services.credentials.roles import is_coordinator
from services.credentials.schemas import AssessorWrite
from shared.auth import Forbidden, Principal
from shared.db import utcnow

OPEN_ASSIGNMENT = "assigned"


async def open_loads(session: AsyncSession, tenant_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(ReviewAssignment.assessor_id, func.count())
        .where(ReviewAssignment.tenant_id == tenant_id, ReviewAssignment.state == OPEN_ASSIGNMENT)
        .group_by(ReviewAssignment.assessor_id)
    )
    return {assessor: int(n) for assessor, n in rows}


async def eligible(session: AsyncSession, submission: Submission, *, exclude: set[str] | None = None) -> list[str]:
    """Eligible assessors, least loaded first (ties by id, so the choice is reproducible)."""
    pool = list(
        await session.scalars(
            select(Assessor).where(Assessor.tenant_id == submission.tenant_id, Assessor.active.is_(True))
        )
    )
    loads = await open_loads(session, submission.tenant_id)
    fit = [
        a.assessor_id
        for a in pool
        if a.assessor_id != submission.educator_id
        and a.assessor_id not in (exclude or set())
        and (not a.design_ids or submission.design_id in a.design_ids)
        and (submission.school_id is None or a.school_id != submission.school_id)
    ]
    return sorted(fit, key=lambda assessor: (loads.get(assessor, 0), assessor))


@dataclass(frozen=True)
class PoolMember:
    assessor: Assessor
    open_reviews: int


async def save_assessor(session: AsyncSession, who: Principal, assessor_id: str, body: AssessorWrite) -> PoolMember:
    """Add an assessor to the pool or change one (coordinators)."""
    if not is_coordinator(who):
        raise Forbidden("the assessor pool is managed by coordinators")
    row = await session.get(Assessor, (who.tenant_id, assessor_id))
    if row is None:
        row = Assessor(tenant_id=who.tenant_id, assessor_id=assessor_id)
        session.add(row)
    row.school_id, row.design_ids, row.active, row.updated_at = body.school_id, body.design_ids, body.active, utcnow()
    await session.flush()
    loads = await open_loads(session, who.tenant_id)
    return PoolMember(assessor=row, open_reviews=loads.get(assessor_id, 0))


async def pool(session: AsyncSession, tenant_id: str) -> list[PoolMember]:
    """The tenant's assessors with their open reviews, by id."""
    rows = await session.scalars(select(Assessor).where(Assessor.tenant_id == tenant_id).order_by(Assessor.assessor_id))
    loads = await open_loads(session, tenant_id)
    return [PoolMember(assessor=r, open_reviews=loads.get(r.assessor_id, 0)) for r in rows]
