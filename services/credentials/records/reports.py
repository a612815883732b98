"""Reports for coordinators and HR: participation, review turnaround, stipends, agreement.

Educator profiles and the tenant policy they rest on are in ``profiles.py``; the completions
export in ``exports.py``. Figures are aggregated in the database where SQL does it the same way on SQLite and
PostgreSQL (counts, sums); percentiles and agreement are computed here, deterministically
(nearest-rank), from the few columns they need.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.models import (
    Award,
    CredentialDesign,
    DesignVersion,
    EducatorProfile,
    LedgerEntry,
    Pursuit,
    ReviewAssignment,
    Submission,
)
from services.credentials.schemas import (
    AgreementReport,
    CriterionAgreement,
    ParticipationReport,
    ParticipationRow,
    StipendDesignTotals,
    StipendReport,
    StipendTotals,
    TierCompletion,
    TurnaroundDesign,
    TurnaroundFigures,
    TurnaroundReport,
)
from shared.db import utcnow

UNKNOWN_SCHOOL = "unknown"
DECIDED_STATES = ("passed", "returned", "recommended")
WAITING_STATES = ("submitted", "in_review")
STIPEND_STATES = ("pending", "approved", "paid", "void")


# --- shared helpers ---------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _within(column: Any, start: dt.date | None, end: dt.date | None) -> list[ColumnElement[bool]]:
    """``column`` (a UTC instant) on or after ``start`` and on or before ``end``, whole days."""
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(column >= _day_start(start))
    if end is not None:
        conditions.append(column < _day_start(end + dt.timedelta(days=1)))
    return conditions


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def nearest_rank(ordered: list[float], percent: int) -> float | None:
    """The nearest-rank percentile of already sorted values: the smallest value with at least
    ``percent`` % of the values at or below it."""
    if not ordered:
        return None
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil, in integers
    return ordered[rank - 1]


@dataclass(frozen=True)
class _DesignInfo:
    name: str
    tiers: list[tuple[str, str]]  # (key, title) in the design's order


async def _designs(session: AsyncSession, tenant_id: str, design_ids: Iterable[str]) -> dict[str, _DesignInfo]:
    """Names and tier order from each design's newest published version (else its newest)."""
    ids = sorted(set(design_ids))
    if not ids:
        return {}
    designs = {
        d.id: d
        for d in await session.scalars(
            select(CredentialDesign).where(CredentialDesign.tenant_id == tenant_id, CredentialDesign.id.in_(ids))
        )
    }
    chosen: dict[str, DesignVersion] = {}
    for version in await session.scalars(select(DesignVersion).where(DesignVersion.design_id.in_(ids))):
        design = designs.get(version.design_id)
        if design is None:
            continue
        current = chosen.get(version.design_id)
        wanted = design.published_version
        if (
            current is None
            or version.version == wanted
            or (current.version != wanted and version.version > current.version)
        ):
            chosen[version.design_id] = version
    info: dict[str, _DesignInfo] = {}
    for design_id, design in designs.items():
        content = chosen[design_id].content if design_id in chosen else {}
        tiers = [(str(t["key"]), str(t["title"])) for t in content.get("tiers", [])]
        info[design_id] = _DesignInfo(name=design.name, tiers=tiers)
    return info


# --- participation ----------------------------------------------------------------------------


async def participation(
    session: AsyncSession,
    tenant_id: str,
    *,
    design_id: str | None,
    started_from: dt.date | None,
    started_to: dt.date | None,
) -> ParticipationReport:
    """Per school and design: who started (in the window), where their pursuits are, and how
    many of them hold each tier — the drop-off from tier to tier."""
    profile = and_(EducatorProfile.tenant_id == Pursuit.tenant_id, EducatorProfile.educator_id == Pursuit.educator_id)
    cohort = [Pursuit.tenant_id == tenant_id, *_within(Pursuit.started_at, started_from, started_to)]
    if design_id:
        cohort.append(Pursuit.design_id == design_id)

    def grouped(*columns: Any) -> Select[Any]:
        return select(*columns).select_from(Pursuit).outerjoin(EducatorProfile, profile).where(*cohort)

    states: dict[tuple[str | None, str], dict[str, int]] = defaultdict(dict)
    for school, design, state, n in await session.execute(
        grouped(EducatorProfile.school_id, Pursuit.design_id, Pursuit.state, func.count()).group_by(
            EducatorProfile.school_id, Pursuit.design_id, Pursuit.state
        )
    ):
        states[(school, design)][state] = int(n)
    started: dict[tuple[str | None, str], int] = {
        (school, design): int(n)
        for school, design, n in await session.execute(
            grouped(EducatorProfile.school_id, Pursuit.design_id, func.count(distinct(Pursuit.educator_id))).group_by(
                EducatorProfile.school_id, Pursuit.design_id
            )
        )
    }
    completed: dict[tuple[str | None, str], dict[str, int]] = defaultdict(dict)
    for school, design, tier, n in await session.execute(
        grouped(EducatorProfile.school_id, Award.design_id, Award.tier_key, func.count(distinct(Award.educator_id)))
        .join(Award, Award.pursuit_id == Pursuit.id)
        .where(Award.status == "granted")
        .group_by(EducatorProfile.school_id, Award.design_id, Award.tier_key)
    ):
        completed[(school, design)][tier] = int(n)
    names: dict[str | None, str | None] = dict(
        (
            await session.execute(
                select(EducatorProfile.school_id, func.max(EducatorProfile.school_name))
                .where(EducatorProfile.tenant_id == tenant_id, EducatorProfile.school_id.is_not(None))
                .group_by(EducatorProfile.school_id)
            )
        ).all()
    )
    info = await _designs(session, tenant_id, {design for _, design in started})

    def row(
        school: str | None, design: str, n: int, by_state: dict[str, int], done: dict[str, int]
    ) -> ParticipationRow:
        known = info.get(design, _DesignInfo(name="", tiers=[]))
        titles = dict(known.tiers)
        order = [key for key, _ in known.tiers] + sorted(set(done) - set(titles))
        return ParticipationRow(
            school_id=school,
            school_name=(names.get(school) or school) if school else UNKNOWN_SCHOOL,
            design_id=design,
            design_name=known.name,
            educators_started=n,
            pursuits_by_state=dict(sorted(by_state.items())),
            tiers=[
                TierCompletion(
                    tier_key=key,
                    tier_title=titles.get(key, key),
                    completed=done.get(key, 0),
                    completion_rate=share(done.get(key, 0), n),
                )
                for key in order
            ],
        )

    rows = [
        row(school, design, n, states[(school, design)], completed[(school, design)])
        for (school, design), n in started.items()
    ]
    rows.sort(key=lambda r: (r.school_id is None, r.school_name, r.design_name, r.design_id))
    # Every educator has at most one profile, so one school: the per-school counts add up.
    totals: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {}
    for (school, design), n in started.items():
        count, by_state, done = totals.get(design, (0, {}, {}))
        for key, value in states[(school, design)].items():
            by_state[key] = by_state.get(key, 0) + value
        for key, value in completed[(school, design)].items():
            done[key] = done.get(key, 0) + value
        totals[design] = (count + n, by_state, done)
    designs = [row(None, design, n, by_state, done) for design, (n, by_state, done) in totals.items()]
    for summary in designs:
        summary.school_name = "all"
    designs.sort(key=lambda r: (r.design_name, r.design_id))
    return ParticipationReport(started_from=started_from, started_to=started_to, rows=rows, designs=designs)


# --- review turnaround ------------------------------------------------------------------------


def _turnaround(decisions: list[tuple[dt.datetime, dt.datetime, dt.date | None]], overdue: int) -> TurnaroundFigures:
    hours = sorted(round((decided - submitted).total_seconds() / 3600, 2) for submitted, decided, _ in decisions)
    due = [(decided, due_on) for _, decided, due_on in decisions if due_on is not None]
    on_time = sum(1 for decided, due_on in due if decided.astimezone(dt.UTC).date() <= due_on)
    median, p90 = nearest_rank(hours, 50), nearest_rank(hours, 90)
    return TurnaroundFigures(
        decided=len(decisions),
        median_hours=median,
        p90_hours=p90,
        median_days=round(median / 24, 2) if median is not None else None,
        p90_days=round(p90 / 24, 2) if p90 is not None else None,
        on_time_share=share(on_time, len(due)),
        overdue=overdue,
    )


async def turnaround(
    session: AsyncSession,
    tenant_id: str,
    *,
    design_id: str | None,
    decided_from: dt.date | None,
    decided_to: dt.date | None,
    today: dt.date | None = None,
) -> TurnaroundReport:
    """From submission to decision (calendar time), for the submissions decided in the window;
    ``overdue`` counts what waits now past its due date."""
    conditions = [Submission.tenant_id == tenant_id]
    if design_id:
        conditions.append(Submission.design_id == design_id)
    decided = await session.execute(
        select(Submission.design_id, Submission.submitted_at, Submission.decided_at, Submission.due_on).where(
            *conditions,
            Submission.state.in_(DECIDED_STATES),
            Submission.submitted_at.is_not(None),
            Submission.decided_at.is_not(None),
            *_within(Submission.decided_at, decided_from, decided_to),
        )
    )
    per_design: dict[str, list[tuple[dt.datetime, dt.datetime, dt.date | None]]] = defaultdict(list)
    for design, submitted_at, decided_at, due_on in decided:
        if submitted_at is not None and decided_at is not None:
            per_design[design].append((submitted_at, decided_at, due_on))
    overdue: dict[str, int] = {
        design: int(n)
        for design, n in await session.execute(
            select(Submission.design_id, func.count())
            .where(
                *conditions,
                Submission.state.in_(WAITING_STATES),
                Submission.due_on < (today or utcnow().date()),
            )
            .group_by(Submission.design_id)
        )
    }
    everything = [d for rows in per_design.values() for d in rows]
    overall = _turnaround(everything, sum(overdue.values()))
    designs = [
        TurnaroundDesign(
            design_id=design,
            **_turnaround(per_design.get(design, []), overdue.get(design, 0)).model_dump(),
        )
        for design in sorted(set(per_design) | set(overdue))
    ]
    return TurnaroundReport(**overall.model_dump(), decided_from=decided_from, decided_to=decided_to, designs=designs)


# --- stipends ---------------------------------------------------------------------------------


async def stipends(
    session: AsyncSession,
    tenant_id: str,
    *,
    design_id: str | None,
    occurred_from: dt.date | None,
    occurred_to: dt.date | None,
) -> StipendReport:
    """Stipend cents by status, in all and per design (of the award the stipend came with)."""
    from_award = and_(LedgerEntry.source == "award", Award.id == LedgerEntry.source_id)
    statement = (
        select(Award.design_id, LedgerEntry.status, func.sum(LedgerEntry.amount))
        .select_from(LedgerEntry)
        .outerjoin(Award, from_award)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.kind == "stipend")
        .group_by(Award.design_id, LedgerEntry.status)
    )
    if design_id:
        statement = statement.where(Award.design_id == design_id)
    if occurred_from:
        statement = statement.where(LedgerEntry.occurred_on >= occurred_from)
    if occurred_to:
        statement = statement.where(LedgerEntry.occurred_on <= occurred_to)
    totals: dict[str, int] = dict.fromkeys(STIPEND_STATES, 0)
    per_design: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STIPEND_STATES, 0))
    for design, status, cents in await session.execute(statement):
        if status not in totals:
            continue
        totals[status] += int(cents or 0)
        per_design[design][status] += int(cents or 0)
    return StipendReport(
        totals=StipendTotals(**totals),
        designs=[
            StipendDesignTotals(design_id=design, **values)
            for design, values in sorted(per_design.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ],
    )


# --- double-scoring agreement -----------------------------------------------------------------


async def agreement(session: AsyncSession, tenant_id: str, design_id: str) -> AgreementReport:
    """How often a second, blind assessor chose the same level as the primary (exact), or one at
    most one step away in the criterion's level order (adjacent, exact included)."""
    rows = await session.execute(
        select(
            Submission.id, Submission.tier_key, Pursuit.design_version, ReviewAssignment.role, ReviewAssignment.scores
        )
        .join(Pursuit, Pursuit.id == Submission.pursuit_id)
        .join(ReviewAssignment, ReviewAssignment.submission_id == Submission.id)
        .where(
            Submission.tenant_id == tenant_id,
            Submission.design_id == design_id,
            ReviewAssignment.state == "scored",
            ReviewAssignment.role.in_(("primary", "second")),
        )
    )
    reviews: dict[str, dict[str, Any]] = defaultdict(dict)
    for submission_id, tier_key, version, role, scores in rows:
        entry = reviews[submission_id]
        entry.update(tier=tier_key, version=version)
        entry[role] = {s["criterion"]: s["level"] for s in (scores or [])}
    levels: dict[tuple[int, str, str], list[str]] = {}
    order: list[tuple[str, str]] = []
    newest = -1
    for version in await session.scalars(select(DesignVersion).where(DesignVersion.design_id == design_id)):
        tiers = version.content.get("tiers", [])
        for tier in tiers:
            for criterion in tier["rubric"]["criteria"]:
                levels[(version.version, tier["key"], criterion["key"])] = [lv["key"] for lv in criterion["levels"]]
        if version.version > newest:
            newest = version.version
            order = [(t["key"], c["key"]) for t in tiers for c in t["rubric"]["criteria"]]
    counts: dict[tuple[str, str], list[int]] = {}  # (tier, criterion) -> [pairs, exact, adjacent]
    paired = 0
    for entry in reviews.values():
        if "primary" not in entry or "second" not in entry:
            continue
        paired += 1
        for criterion, first in entry["primary"].items():
            second = entry["second"].get(criterion)
            scale = levels.get((entry["version"], entry["tier"], criterion), [])
            if second is None or first not in scale or second not in scale:
                continue
            tally = counts.setdefault((entry["tier"], criterion), [0, 0, 0])
            distance = abs(scale.index(first) - scale.index(second))
            tally[0] += 1
            tally[1] += distance == 0
            tally[2] += distance <= 1
    keys = [k for k in order if k in counts] + sorted(set(counts) - set(order))
    pairs, exact, adjacent = (sum(counts[k][i] for k in keys) for i in range(3))
    return AgreementReport(
        design_id=design_id,
        submissions=paired,
        pairs=pairs,
        exact=share(exact, pairs),
        adjacent=share(adjacent, pairs),
        criteria=[
            CriterionAgreement(
                tier_key=tier,
                criterion=criterion,
                pairs=counts[(tier, criterion)][0],
                exact=share(counts[(tier, criterion)][1], counts[(tier, criterion)][0]),
                adjacent=share(counts[(tier, criterion)][2], counts[(tier, criterion)][0]),
            )
            for tier, criterion in keys
        ],
    )
