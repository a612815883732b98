"""Listing offerings: a search's parameters turned into filters (competencies widened to the items
below them, audience values and the session window checked), the search run, and its page of
offerings as the API shows them. The private catalog and the public one share it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.frameworks.service import descendants, resolve_competencies
from services.catalog.models import Offering
from services.catalog.offerings.reads import offering_hits
from services.catalog.offerings.service import instant
from services.catalog.schemas import OfferingPage
from services.catalog.search.filters import FACETS, Filters
from services.catalog.search.memory import SearchIndex
from services.catalog.search.service import search
from shared.problems import FieldError, UnprocessableContent


def _audience(
    roles: list[str] | None, grade_bands: list[str] | None, subjects: list[str] | None
) -> tuple[tuple[str, str], ...]:
    pairs = [("role", v) for v in roles or []] + [("grade_band", v) for v in grade_bands or []]
    return tuple((kind, value.strip().lower()) for kind, value in pairs + [("subject", v) for v in subjects or []])


async def search_offerings(
    session: AsyncSession,
    index: SearchIndex | None,
    tenant_id: str,
    statuses: tuple[str, ...],
    *,
    q: str | None,
    offering_type: list[str] | None,
    modality: list[str] | None,
    pacing: list[str] | None,
    level: list[str] | None,
    provider_kind: list[str] | None,
    provider: str | None,
    competency: list[str] | None,
    min_minutes: int | None,
    max_minutes: int | None,
    role: str | None,
    grade_band: str | None,
    subject: str | None,
    has_open_seats: bool,
    session_from: dt.datetime | None,
    session_to: dt.datetime | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> OfferingPage:
    """One page of the tenant's offerings in these statuses that match the search's parameters
    (``SearchParams`` in api.py), as the API shows them, with the total and facet counts."""
    errors: list[FieldError] = []
    if session_from is not None:
        session_from = instant(session_from, "/query/session_from", errors)
    if session_to is not None:
        session_to = instant(session_to, "/query/session_to", errors)
    if errors:
        raise UnprocessableContent("the session date range is not valid", errors=errors)
    # Internal ids or the district's CASE identifiers; a GUID imported in two of the tenant's
    # frameworks is the same competency, so either item matches.
    named = await resolve_competencies(session, tenant_id, competency or [])
    named_ids = [item.id for item in named.items.values()]
    named_ids += [item.id for items in named.ambiguous.values() for item in items]
    competencies = await descendants(session, tenant_id, list(dict.fromkeys(named_ids)))
    if competency and not competencies:
        return OfferingPage(items=[], total=0, facets={name: {} for name in FACETS}, next_cursor=None)
    filters = Filters(
        tenant_id=tenant_id,
        statuses=statuses,
        text=q,
        offering_types=tuple(offering_type or ()),
        modalities=tuple(modality or ()),
        pacings=tuple(pacing or ()),
        levels=tuple(level or ()),
        provider_kinds=tuple(provider_kind or ()),
        provider=provider,
        competency_item_ids=tuple(competencies),
        min_minutes=min_minutes,
        max_minutes=max_minutes,
        audience=_audience(_labels(role), _labels(grade_band), _labels(subject)),
        has_open_seats=has_open_seats,
        session_from=session_from,
        session_to=session_to,
    )
    page = await search(session, filters, sort=sort, limit=limit, cursor=cursor, index=index)
    rows = {row.id: row for row in await session.scalars(select(Offering).where(Offering.id.in_(page.ids or ["-"])))}
    return OfferingPage(
        items=await offering_hits(session, [rows[i] for i in page.ids], page.relevance),
        total=page.total,
        facets=page.facets,
        next_cursor=page.next_cursor,
    )


def _labels(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()][:10]
