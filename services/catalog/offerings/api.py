"""HTTP routes of offerings: the catalog, its search and public face, and recommendations."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import offerings, recommend, scheduling, search
from services.catalog.deps import IdPath, Reader, SearchIndexDep, SessionDep, Writer
from services.catalog.models import Offering
from services.catalog.schemas import (
    Audience,
    CatalogPreferencesRead,
    CatalogPreferencesWrite,
    CompetencyRef,
    OfferingCreate,
    OfferingHit,
    OfferingPage,
    OfferingRead,
    OfferingUpdate,
    Prerequisites,
    Provider,
    Recommendation,
    RecommendationList,
    RecommendationRequest,
    SessionSummary,
)
from shared.auth import Forbidden
from shared.db import utcnow
from shared.params import IsoDateTime
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant

if TYPE_CHECKING:
    from services.catalog.search_index import SearchIndex

router = APIRouter()
public_router = APIRouter()  # no token: only what api.PUBLIC_ROUTES lists


# --- offerings --------------------------------------------------------------------------------

IfMatch = Annotated[str | None, Header(description="the ETag you read; a changed offering answers 412")]
ReadT = TypeVar("ReadT", bound=OfferingRead)
ListParam = Annotated[list[str] | None, Query(max_length=20)]


async def _offering_reads(session: AsyncSession, rows: list[Offering]) -> list[OfferingRead]:
    return await _shown(OfferingRead, session, rows, {})


async def _offering_hits(session: AsyncSession, rows: list[Offering], relevance: dict[str, float]) -> list[OfferingHit]:
    return await _shown(OfferingHit, session, rows, {"relevance": relevance})


async def _shown(
    model: type[ReadT], session: AsyncSession, rows: list[Offering], extra: dict[str, dict[str, Any]]
) -> list[ReadT]:
    """The offerings as the API shows them, as ``model`` (a search's hits carry their relevance,
    ``extra``: per field, the value of each offering that has one): each made once, not copied."""
    ids = [row.id for row in rows]
    items = await offerings.aligned_items(session, ids)
    upcoming = await offerings.next_sessions(session, ids, utcnow())
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


async def _one(session: AsyncSession, response: Response, row: Offering) -> OfferingRead:
    response.headers["ETag"] = offerings.etag(row)
    (read,) = await _offering_reads(session, [row])
    return read


@router.post("/v1/offerings", response_model=OfferingRead, status_code=201, summary="Create an offering (a draft)")
async def create_offering(body: OfferingCreate, response: Response, who: Writer, session: SessionDep) -> OfferingRead:
    row = await offerings.create_offering(session, who.tenant_id, body)
    response.headers["Location"] = f"/v1/offerings/{row.id}"
    return await _one(session, response, row)


def _audience(
    roles: list[str] | None, grade_bands: list[str] | None, subjects: list[str] | None
) -> tuple[tuple[str, str], ...]:
    pairs = [("role", v) for v in roles or []] + [("grade_band", v) for v in grade_bands or []]
    return tuple((kind, value.strip().lower()) for kind, value in pairs + [("subject", v) for v in subjects or []])


async def _search(
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
    errors: list[FieldError] = []
    if session_from is not None:
        session_from = scheduling.instant(session_from, "/query/session_from", errors)
    if session_to is not None:
        session_to = scheduling.instant(session_to, "/query/session_to", errors)
    if errors:
        raise UnprocessableContent("the session date range is not valid", errors=errors)
    competencies = await offerings.descendants(session, tenant_id, competency or [])
    if competency and not competencies:
        return OfferingPage(items=[], total=0, facets={name: {} for name in search.FACETS}, next_cursor=None)
    filters = search.Filters(
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
    page = await search.search(session, filters, sort=sort, limit=limit, cursor=cursor, index=index)
    rows = {row.id: row for row in await session.scalars(select(Offering).where(Offering.id.in_(page.ids or ["-"])))}
    return OfferingPage(
        items=await _offering_hits(session, [rows[i] for i in page.ids], page.relevance),
        total=page.total,
        facets=page.facets,
        next_cursor=page.next_cursor,
    )


_TYPES = (
    "^(workshop|academy|online_course|micro_credential|degree_program|coaching_cycle|plc|conference|self_directed)$"
)


# Free text in a query: printable, so that what the schema refuses the API refuses too.
_PLAIN = r"^[^\x00-\x1f\x7f]+$"
# Audience values are free text, several in one parameter separated by commas (a repeated
# parameter of free text cannot be told apart from other JSON types in a query string).
LabelsParam = Annotated[
    str | None, Query(min_length=1, max_length=500, pattern=_PLAIN, description="comma-separated; each must match")
]


def _labels(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()][:10]


class SearchParams:
    """The query parameters of an offering search (shared by the private and public catalog)."""

    def __init__(
        self,
        q: Annotated[
            str | None, Query(max_length=300, description="words in title, summary, description, tags, competencies")
        ] = None,
        offering_type: Annotated[list[Annotated[str, Query(pattern=_TYPES)]] | None, Query(max_length=9)] = None,
        modality: Annotated[
            list[Annotated[str, Query(pattern="^(in_person|online_synchronous|online_asynchronous|blended)$")]] | None,
            Query(max_length=4),
        ] = None,
        pacing: Annotated[
            list[Annotated[str, Query(pattern="^(self_paced|cohort)$")]] | None, Query(max_length=2)
        ] = None,
        level: Annotated[
            list[Annotated[str, Query(pattern="^(introductory|intermediate|advanced)$")]] | None, Query(max_length=3)
        ] = None,
        provider_kind: Annotated[
            list[Annotated[str, Query(pattern="^(district|external)$")]] | None, Query(max_length=2)
        ] = None,
        provider: Annotated[
            str | None, Query(min_length=1, max_length=300, pattern=_PLAIN, description="provider name or number")
        ] = None,
        competency: Annotated[
            list[Annotated[str, Query(pattern=r"^[0-9a-fA-F-]{36}$")]] | None,
            Query(max_length=20, description="framework item ids; their descendants count too"),
        ] = None,
        min_minutes: Annotated[int | None, Query(ge=0, le=100_000)] = None,
        max_minutes: Annotated[int | None, Query(ge=0, le=100_000)] = None,
        role: LabelsParam = None,
        grade_band: LabelsParam = None,
        subject: LabelsParam = None,
        has_open_seats: Annotated[
            bool, Query(description="an upcoming session with a free seat, registration open")
        ] = False,
        session_from: Annotated[IsoDateTime | None, Query(description="a session starting at or after")] = None,
        session_to: Annotated[IsoDateTime | None, Query(description="a session starting before")] = None,
        sort: Annotated[str, Query(pattern="^(relevance|soonest|shortest|newest)$")] = "relevance",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> None:
        self.values = dict(locals())
        del self.values["self"]


Search = Annotated[SearchParams, Depends()]


@router.get(
    "/v1/offerings",
    response_model=OfferingPage,
    summary="Search offerings: full text, filters, facet counts, sorts, cursor paging",
)
async def list_offerings(
    params: Search,
    who: Reader,
    session: SessionDep,
    index: SearchIndexDep,
    status: Annotated[
        list[Annotated[str, Query(pattern="^(draft|published|retired)$")]] | None,
        Query(max_length=3, description="coordinators (catalog:write) may list drafts and retired offerings"),
    ] = None,
) -> OfferingPage:
    statuses = tuple(status or ["published"])
    if set(statuses) - {"published"} and "catalog:write" not in who.scopes:
        raise Forbidden("listing draft or retired offerings needs catalog:write", required_scopes=["catalog:write"])
    return await _search(session, index, who.tenant_id, statuses, **params.values)


@router.get("/v1/offerings/{offering_id}", response_model=OfferingRead, summary="One offering (ETag)")
async def get_offering(offering_id: IdPath, response: Response, who: Reader, session: SessionDep) -> OfferingRead:
    row = await get_in_tenant(session, Offering, offering_id, who.tenant_id, noun="offering")
    if row.status != "published" and "catalog:write" not in who.scopes:
        raise NotFound(f"no offering {offering_id}")
    return await _one(session, response, row)


@router.patch("/v1/offerings/{offering_id}", response_model=OfferingRead, summary="Change an offering (If-Match)")
async def update_offering(
    offering_id: IdPath,
    body: OfferingUpdate,
    response: Response,
    who: Writer,
    session: SessionDep,
    if_match: IfMatch = None,
) -> OfferingRead:
    row = await offerings.update_offering(session, who.tenant_id, offering_id, body, if_match)
    return await _one(session, response, row)


def _lifecycle_route(action: str, summary: str) -> None:
    async def change(
        offering_id: IdPath, response: Response, who: Writer, session: SessionDep, if_match: IfMatch = None
    ) -> OfferingRead:
        row = await offerings.change_status(session, who.tenant_id, offering_id, action, if_match)
        return await _one(session, response, row)

    change.__name__ = f"{action}_offering"
    router.add_api_route(
        f"/v1/offerings/{{offering_id}}/{action}",
        change,
        methods=["POST"],
        response_model=OfferingRead,
        summary=summary,
    )


_lifecycle_route("publish", "Publish a draft offering (If-Match)")
_lifecycle_route("retire", "Retire an offering: no new sessions or registrations (If-Match)")


@router.get("/v1/offerings-settings", response_model=CatalogPreferencesRead, summary="The tenant's catalog settings")
async def get_catalog_settings(who: Reader, session: SessionDep) -> CatalogPreferencesRead:
    row = await offerings.preferences(session, who.tenant_id)
    return CatalogPreferencesRead(
        public_catalog=bool(row and row.public_catalog), updated_at=row.updated_at if row else None
    )


@router.put(
    "/v1/offerings-settings",
    response_model=CatalogPreferencesRead,
    summary="Switch the anonymous public catalog of published offerings on or off",
)
async def put_catalog_settings(
    body: CatalogPreferencesWrite, who: Writer, session: SessionDep
) -> CatalogPreferencesRead:
    row = await offerings.set_preferences(session, who.tenant_id, public_catalog=body.public_catalog)
    return CatalogPreferencesRead(public_catalog=row.public_catalog, updated_at=row.updated_at)


@public_router.get(
    "/v1/offerings-public/{tenant_id}",
    response_model=OfferingPage,
    summary="A tenant's public catalog: its published offerings, no token (when the tenant switched it on)",
)
async def public_catalog(tenant_id: IdPath, params: Search, session: SessionDep, index: SearchIndexDep) -> OfferingPage:
    row = await offerings.preferences(session, tenant_id)
    if row is None or not row.public_catalog:
        raise NotFound("this catalog is not public")
    return await _search(session, index, tenant_id, ("published",), **params.values)


# --- recommendations --------------------------------------------------------------------------


@router.post(
    "/v1/recommendations",
    response_model=RecommendationList,
    summary="Offerings ranked for goal competencies and preferences, each with its reason (ADR 0011)",
)
async def recommendations(body: RecommendationRequest, who: Reader, session: SessionDep) -> RecommendationList:
    ranked = await recommend.recommend(session, who.tenant_id, body, utcnow())
    reads = {read.id: read for read in await _offering_reads(session, [r.offering for r in ranked])}
    return RecommendationList(
        items=[
            Recommendation(
                offering=reads[r.offering.id],
                score=r.score,
                covered_competency_ids=r.covered,
                reason=r.reason,
                score_parts=r.parts,
            )
            for r in ranked
        ]
    )
