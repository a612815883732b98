"""Offerings as the API shows them: each with its aligned competencies and its next session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import FrameworkItem, Offering, OfferingAlignment, OfferingSession
from services.catalog.schemas import (
    Audience,
    CompetencyRef,
    OfferingHit,
    OfferingRead,
    Prerequisites,
    Provider,
    SessionSummary,
)
from shared.db import utcnow

ReadT = TypeVar("ReadT", bound=OfferingRead)


async def offering_reads(session: AsyncSession, rows: list[Offering]) -> list[OfferingRead]:
    return await shown(OfferingRead, session, rows, {})


async def offering_hits(session: AsyncSession, rows: list[Offering], relevance: dict[str, float]) -> list[OfferingHit]:
    return await shown(OfferingHit, session, rows, {"relevance": relevance})


async def shown(
    model: type[ReadT], session: AsyncSession, rows: list[Offering], extra: dict[str, dict[str, Any]]
) -> list[ReadT]:
    """The offerings as the API shows them, as ``model`` (a search's hits carry their relevance,
    ``extra``: per field, the value of each offering that has one): each made once, not copied."""
    ids = [row.id for row in rows]
    items = await aligned_items(session, ids)
    upcoming = await next_sessions(session, ids, utcnow())
    return [
        model(
            id=row.id,
            status=row.status,
            revision=row.revision,
            offering_type=row.offering_type,
            title=row.title,
            summary=row.summary,
            description=row.description,
            modality=row.modality,
            pacing=row.pacing,
            group_format=row.group_format,
            duration_minutes=row.duration_minutes,
            credits=row.credits,
            level=row.level,
            audience=Audience.model_validate(row.audience),
            competencies=[CompetencyRef.model_validate(i, from_attributes=True) for i in items[row.id]],
            prerequisites=Prerequisites.model_validate(row.prerequisites),
            provider=Provider(kind=row.provider_kind, name=row.provider_name, number=row.provider_number),
            cost_cents=row.cost_cents,
            stipend_cents=row.stipend_cents,
            currency=row.currency,
            tags=row.tags,
            credential_design_id=row.credential_design_id,
            next_session=SessionSummary(**upcoming[row.id]) if row.id in upcoming else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
            **{name: values.get(row.id) for name, values in extra.items()},
        )
        for row in rows
    ]


async def aligned_items(session: AsyncSession, offering_ids: Sequence[str]) -> dict[str, list[FrameworkItem]]:
    rows = await session.execute(
        select(OfferingAlignment.offering_id, FrameworkItem)
        .join(FrameworkItem, FrameworkItem.id == OfferingAlignment.item_id)
        .where(OfferingAlignment.offering_id.in_(list(offering_ids) or ["-"]))
        .order_by(FrameworkItem.human_coding_scheme, FrameworkItem.id)
    )
    found: dict[str, list[FrameworkItem]] = {oid: [] for oid in offering_ids}
    for offering_id, item in rows:
        found[offering_id].append(item)
    return found


async def next_sessions(session: AsyncSession, offering_ids: Sequence[str], now: dt.datetime) -> dict[str, Any]:
    """Each offering's soonest upcoming scheduled session (id, start, open seats)."""
    rows = await session.execute(
        select(
            OfferingSession.offering_id,
            OfferingSession.id,
            OfferingSession.starts_at,
            OfferingSession.capacity - OfferingSession.seats_taken,
        )
        .where(
            OfferingSession.offering_id.in_(list(offering_ids) or ["-"]),
            OfferingSession.status == "scheduled",
            OfferingSession.starts_at >= now,
        )
        .order_by(OfferingSession.offering_id, OfferingSession.starts_at, OfferingSession.id)
    )
    found: dict[str, Any] = {}
    for offering_id, session_id, starts_at, seats_open in rows:
        found.setdefault(offering_id, {"id": session_id, "starts_at": starts_at, "seats_open": int(seats_open)})
    return found
