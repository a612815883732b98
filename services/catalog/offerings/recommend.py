"""Recommendations: published offerings ranked for an educator's goal competencies, each with
the reason in words. Deterministic and explainable: the score is a sum of named parts, and the
reason states the facts those parts came from (ADR 0011)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.frameworks.service import descendants, resolve_competencies
from services.catalog.models import Offering, OfferingAlignment, OfferingSession
from services.catalog.offerings.service import instant
from services.catalog.schemas import RecommendationRequest
from shared.problems import FieldError, UnprocessableContent

# Weights of the score's parts (ADR 0011). Coverage dominates: an offering that serves more of
# the goals always outranks one that merely fits the preferences better.
COVERAGE_POINTS = 100.0
MODALITY_POINTS = 10.0
PACING_POINTS = 5.0
AVAILABILITY_POINTS = 10.0
# Shorter is better among equals, by at most this many points (a 1-hour offering gets nearly all).
BREVITY_POINTS = 5.0

_MODALITY_WORDS = {
    "in_person": "in person",
    "online_synchronous": "online, live",
    "online_asynchronous": "online asynchronous",
    "blended": "blended",
}


@dataclass(frozen=True)
class Ranked:
    offering: Offering
    score: float
    parts: dict[str, float]
    covered: list[str]
    reason: str


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return f"{hours:g} h" if hours >= 1 else f"{minutes} min"


async def _goal_coverage(
    session: AsyncSession, tenant_id: str, request: RecommendationRequest
) -> tuple[dict[str, float], dict[str, set[str]]]:
    """Goal weights by goal id, and for every item under a goal (the goal itself included) the
    goals it serves: an offering aligned to a narrower competency serves the broader goal."""
    # A goal is named by its internal id or its CASE identifier; it counts under its internal id.
    named = await resolve_competencies(session, tenant_id, [t.id for t in request.targets])
    errors = named.errors([t.id for t in request.targets], "/body/targets")
    if errors:
        raise UnprocessableContent(
            "unknown goal competencies", errors=[FieldError(pointer=f"{e.pointer}/id", detail=e.detail) for e in errors]
        )
    weights: dict[str, float] = {}
    for target in request.targets:
        goal = named.items[target.id].id
        weights[goal] = weights.get(goal, 0.0) + target.weight
    serves: dict[str, set[str]] = {}
    for goal in weights:
        for item_id in await descendants(session, tenant_id, [goal]):
            serves.setdefault(item_id, set()).add(goal)
    return weights, serves


async def recommend(
    session: AsyncSession, tenant_id: str, request: RecommendationRequest, now: dt.datetime
) -> list[Ranked]:
    weights, serves = await _goal_coverage(session, tenant_id, request)
    prefs = request.preferences
    errors: list[FieldError] = []
    window_from = (
        instant(prefs.available_from, "/body/preferences/available_from", errors) if prefs.available_from else None
    )
    window_to = instant(prefs.available_to, "/body/preferences/available_to", errors) if prefs.available_to else None
    if errors:
        raise UnprocessableContent("the date window is not valid", errors=errors)
    total_weight = sum(weights.values())
    completed = set(request.completed_offering_ids)

    aligned = await session.execute(
        select(OfferingAlignment.offering_id, OfferingAlignment.item_id)
        .join(Offering, Offering.id == OfferingAlignment.offering_id)
        .where(
            Offering.tenant_id == tenant_id,
            Offering.status == "published",
            OfferingAlignment.item_id.in_(list(serves)),
        )
    )
    covered: dict[str, set[str]] = {}
    for offering_id, item_id in aligned:
        if offering_id not in completed:
            covered.setdefault(offering_id, set()).update(serves[item_id])
    if not covered:
        return []
    rows = list(await session.scalars(select(Offering).where(Offering.id.in_(list(covered)))))
    available = await _available(session, [r.id for r in rows], now, window_from, window_to)

    ranked: list[Ranked] = []
    for row in rows:
        if prefs.max_minutes is not None and row.duration_minutes > prefs.max_minutes:
            continue  # a hard limit: the educator said how much time there is
        missing = [p for p in row.prerequisites.get("offering_ids", []) if p not in completed]
        goals = sorted(covered[row.id], key=lambda g: (-weights[g], g))
        parts = {"coverage": round(COVERAGE_POINTS * sum(weights[g] for g in goals) / total_weight, 4)}
        if prefs.modalities:
            parts["modality"] = MODALITY_POINTS if row.modality in prefs.modalities else 0.0
        if prefs.pacing:
            parts["pacing"] = PACING_POINTS if row.pacing == prefs.pacing else 0.0
        self_paced = row.pacing == "self_paced" or row.modality == "online_asynchronous"
        seats = available.get(row.id)
        parts["availability"] = AVAILABILITY_POINTS if self_paced or seats else 0.0
        parts["brevity"] = round(BREVITY_POINTS * 60 / max(row.duration_minutes, 60), 4)
        facts = [
            f"covers {len(goals)} of your {len(weights)} goal competenc{'y' if len(weights) == 1 else 'ies'}",
            _MODALITY_WORDS.get(row.modality, row.modality),
            _hours(row.duration_minutes),
        ]
        if self_paced:
            facts.append("start any time")
        elif seats:
            facts.append(f"seats open {seats.date().isoformat()}")
        else:
            facts.append("no open seats in your window")
        if missing:
            facts.append(f"first complete {len(missing)} prerequisite offering{'s' if len(missing) > 1 else ''}")
            parts["prerequisites"] = -AVAILABILITY_POINTS
        score = round(sum(parts.values()), 4)
        ranked.append(Ranked(offering=row, score=score, parts=parts, covered=goals, reason=" · ".join(facts)))
    ranked.sort(key=lambda r: (-r.score, r.offering.duration_minutes, r.offering.id))
    return ranked[: request.limit]


async def _available(
    session: AsyncSession,
    offering_ids: Sequence[str],
    now: dt.datetime,
    window_from: dt.datetime | None,
    window_to: dt.datetime | None,
) -> dict[str, dt.datetime]:
    """The first upcoming session with a free seat and open registration, per offering, inside
    the educator's date window."""
    statement = select(OfferingSession.offering_id, OfferingSession.starts_at).where(
        OfferingSession.offering_id.in_(list(offering_ids) or ["-"]),
        OfferingSession.status == "scheduled",
        OfferingSession.starts_at >= max(now, window_from or now),
        OfferingSession.seats_taken < OfferingSession.capacity,
        (OfferingSession.registration_closes_at.is_(None)) | (OfferingSession.registration_closes_at > now),
    )
    if window_to is not None:
        statement = statement.where(OfferingSession.starts_at < window_to)
    found: dict[str, dt.datetime] = {}
    for offering_id, starts_at in await session.execute(statement.order_by(OfferingSession.starts_at)):
        found.setdefault(offering_id, starts_at)
    return found
