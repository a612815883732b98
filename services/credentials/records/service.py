"""An educator's learning record: pursuits and where each tier stands, awards with their badges,
PD minutes per licensure year and for the current cycle, stipends, competencies shown, goals.

Licensure years start on the tenant's cycle date (``TenantPolicy``, July 1 by default); the
current cycle is the ``licensure_cycle_years`` licensure years that end with the current one.
The district's policy is per tenant; an educator's own licence dates are not known here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.models import (
    Award,
    CredentialDesign,
    EducatorProfile,
    LearningPlan,
    LedgerEntry,
    Pursuit,
    Submission,
    TenantPolicy,
)
from services.credentials.pursuits import service as pursuits
from services.credentials.roles import is_coordinator, sees_tenant_records
from shared.auth import Forbidden, Principal
from shared.problems import NotFound
from shared.tenancy import get_in_tenant


def licensure_year_start(day: dt.date, month: int, start_day: int) -> dt.date:
    """The start of the licensure year that ``day`` falls in."""

    def start_in(year: int) -> dt.date:
        # 29 February and the like: the last day of that month in years that lack it.
        return dt.date(year, month, min(start_day, calendar.monthrange(year, month)[1]))

    this_year = start_in(day.year)
    return this_year if day >= this_year else start_in(day.year - 1)


def may_see(who: Principal, educator_id: str) -> bool:
    """Who sees an educator's learning record: the educator, and those who read the tenant's records."""
    if who.kind == "user" and who.subject == educator_id:
        return True
    return sees_tenant_records(who)


def reads_tenant(who: Principal) -> bool:
    """Coordinators, HR and API clients (an LMS or HR system) read the whole tenant's reports,
    profiles and exports."""
    return is_coordinator(who) or "hr" in who.roles or who.kind == "client"


def reporter(who: Principal) -> Principal:
    if not reads_tenant(who):
        raise Forbidden("reports are for coordinators and HR")
    return who


async def profile(session: AsyncSession, who: Principal, educator_id: str) -> EducatorProfile:
    """An educator's profile, for the educator and those who read the tenant's."""
    if who.subject != educator_id and not reads_tenant(who):
        raise Forbidden("an educator's profile is theirs, their coordinators' and HR's")
    row = await session.get(EducatorProfile, (who.tenant_id, educator_id))
    if row is None:
        raise NotFound(f"no profile for {educator_id}")
    return row


async def ensure_design(session: AsyncSession, tenant_id: str, design_id: str) -> None:
    """A report on a design names one of the tenant's (404 otherwise)."""
    await get_in_tenant(session, CredentialDesign, design_id, tenant_id, noun="credential design")


async def learning_record(session: AsyncSession, who: Principal, educator_id: str, today: dt.date) -> dict[str, Any]:
    if not may_see(who, educator_id):
        raise NotFound(f"no learning record for {educator_id}")  # whose records exist stays private
    tenant = who.tenant_id
    policy = await session.get(TenantPolicy, tenant)
    month = policy.licensure_cycle_start_month if policy else 7
    start_day = policy.licensure_cycle_start_day if policy else 1
    years = policy.licensure_cycle_years if policy else 5

    rows = list(
        await session.scalars(
            select(Pursuit)
            .where(Pursuit.tenant_id == tenant, Pursuit.educator_id == educator_id)
            .order_by(Pursuit.started_at, Pursuit.id)
        )
    )
    submissions: dict[str, list[Submission]] = defaultdict(list)
    for s in await session.scalars(
        select(Submission).where(Submission.pursuit_id.in_([p.id for p in rows] or ["-"])).order_by(Submission.attempt)
    ):
        submissions[s.pursuit_id].append(s)
    awards = list(
        await session.scalars(
            select(Award)
            .where(Award.tenant_id == tenant, Award.educator_id == educator_id)
            .order_by(Award.granted_at, Award.id)
        )
    )
    plans = {
        p.pursuit_id: p
        for p in await session.scalars(
            select(LearningPlan).where(LearningPlan.pursuit_id.in_([p.id for p in rows] or ["-"]))
        )
    }
    names = {
        d.id: d.name
        for d in await session.scalars(
            select(CredentialDesign).where(CredentialDesign.id.in_({p.design_id for p in rows} or {"-"}))
        )
    }

    pursuit_views = []
    for pursuit in rows:
        content = await pursuits.content_of(session, pursuit)
        tiers = []
        for tier in content.tiers:
            attempts = [s for s in submissions[pursuit.id] if s.tier_key == tier.key]
            latest = attempts[-1].state if attempts else "not_started"
            tiers.append({"key": tier.key, "title": tier.title, "status": latest, "attempts": len(attempts)})
        pursuit_views.append(
            {
                "id": pursuit.id,
                "design_id": pursuit.design_id,
                "design_name": names.get(pursuit.design_id, content.name),
                "design_version": pursuit.design_version,
                "state": pursuit.state,
                "started_at": pursuit.started_at,
                "tiers": tiers,
            }
        )

    minutes_by_year: dict[dt.date, int] = defaultdict(int)
    stipends: dict[str, int] = defaultdict(int)
    for entry in await session.scalars(
        select(LedgerEntry).where(LedgerEntry.tenant_id == tenant, LedgerEntry.educator_id == educator_id)
    ):
        if entry.status == "void":
            continue
        if entry.kind == "pd_minutes":
            minutes_by_year[licensure_year_start(entry.occurred_on, month, start_day)] += entry.amount
        else:
            stipends[entry.status] += entry.amount
    current = licensure_year_start(today, month, start_day)
    cycle_start = licensure_year_start(dt.date(current.year - years + 1, current.month, current.day), month, start_day)
    cycle_end = licensure_year_start(dt.date(current.year + 1, current.month, current.day), month, start_day)
    by_year = [
        {
            "starts_on": start,
            "ends_on": licensure_year_start(dt.date(start.year + 1, start.month, start.day), month, start_day)
            - dt.timedelta(days=1),
            "minutes": minutes,
            "hours": round(minutes / 60, 2),
        }
        for start, minutes in sorted(minutes_by_year.items())
    ]
    in_cycle = sum(m for start, m in minutes_by_year.items() if cycle_start <= start < cycle_end)
    granted = [a for a in awards if a.status == "granted"]
    competencies = sorted({c for a in granted for c in a.competency_ids})
    return {
        "educator_id": educator_id,
        "pursuits": pursuit_views,
        "awards": [
            {
                "id": a.id,
                "design_id": a.design_id,
                "tier_key": a.tier_key,
                "tier_title": a.tier_title,
                "status": a.status,
                "granted_at": a.granted_at,
                "valid_until": a.valid_until,
                "pd_minutes": a.pd_minutes,
                "stipend_cents": a.stipend_cents,
                "badge_status": a.badge_status,
                "badge_links": a.badge_links,
                "replaces_award_id": a.replaces_award_id,
                "duplicate_of": a.duplicate_of,
            }
            for a in awards
        ],
        "pd_minutes": {
            "by_licensure_year": by_year,
            "current_cycle": {
                "starts_on": cycle_start,
                "ends_on": cycle_end - dt.timedelta(days=1),
                "minutes": in_cycle,
                "hours": round(in_cycle / 60, 2),
            },
            "total_minutes": sum(minutes_by_year.values()),
        },
        "stipends_cents": {status: stipends.get(status, 0) for status in ("pending", "approved", "paid")},
        "competency_ids": competencies,
        "goals": [
            {"pursuit_id": pid, "topic": plan.topic, "smart_goal": plan.smart_goal, "status": plan.status}
            for pid, plan in plans.items()
        ],
    }
