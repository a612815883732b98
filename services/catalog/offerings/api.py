"""HTTP routes of offerings: the catalog, its search and public face, and recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.catalog.deps import CredentialsDep, IdPath, Reader, SearchIndexDep, Writer
from services.catalog.models import Offering
from services.catalog.offerings import designs, listing, reads, recommend, service
from services.catalog.schemas import (
    CatalogPreferencesRead,
    CatalogPreferencesWrite,
    OfferingCreate,
    OfferingPage,
    OfferingRead,
    OfferingUpdate,
    Recommendation,
    RecommendationList,
    RecommendationRequest,
)
from shared.auth import Forbidden
from shared.db import utcnow
from shared.params import IsoDateTime
from shared.state import SessionDep

router = APIRouter()
public_router = APIRouter()  # no token: only what api.PUBLIC_ROUTES lists


# --- offerings --------------------------------------------------------------------------------

IfMatch = Annotated[str | None, Header(description="the ETag you read; a changed offering answers 412")]


async def _one(session: SessionDep, response: Response, row: Offering) -> OfferingRead:
    response.headers["ETag"] = service.etag(row)
    (read,) = await reads.offering_reads(session, [row])
    return read


@router.post("/v1/offerings", response_model=OfferingRead, status_code=201, summary="Create an offering (a draft)")
async def create_offering(
    body: OfferingCreate, response: Response, who: Writer, session: SessionDep, credentials: CredentialsDep
) -> OfferingRead:
    row = await service.create_offering(
        session, who.tenant_id, body, check_design=designs.credentials_check(credentials, who)
    )
    response.headers["Location"] = f"/v1/offerings/{row.id}"
    return await _one(session, response, row)


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
            Query(
                max_length=20,
                description="framework items, each by internal id or CASE identifier (CFItem GUID); "
                "their descendants count too",
            ),
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
    if not all(service.may_see(s, who.scopes) for s in statuses):
        raise Forbidden("listing draft or retired offerings needs catalog:write", required_scopes=["catalog:write"])
    return await listing.search_offerings(session, index, who.tenant_id, statuses, **params.values)


@router.get("/v1/offerings/{offering_id}", response_model=OfferingRead, summary="One offering (ETag)")
async def get_offering(offering_id: IdPath, response: Response, who: Reader, session: SessionDep) -> OfferingRead:
    row = await service.visible_offering(session, who.tenant_id, offering_id, who.scopes)
    return await _one(session, response, row)


@router.patch("/v1/offerings/{offering_id}", response_model=OfferingRead, summary="Change an offering (If-Match)")
async def update_offering(
    offering_id: IdPath,
    body: OfferingUpdate,
    response: Response,
    who: Writer,
    session: SessionDep,
    credentials: CredentialsDep,
    if_match: IfMatch = None,
) -> OfferingRead:
    row = await service.update_offering(
        session, who.tenant_id, offering_id, body, if_match, check_design=designs.credentials_check(credentials, who)
    )
    return await _one(session, response, row)


def _lifecycle_route(action: str, summary: str) -> None:
    async def change(
        offering_id: IdPath, response: Response, who: Writer, session: SessionDep, if_match: IfMatch = None
    ) -> OfferingRead:
        row = await service.change_status(session, who.tenant_id, offering_id, action, if_match)
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
    row = await service.preferences(session, who.tenant_id)
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
    row = await service.set_preferences(session, who.tenant_id, public_catalog=body.public_catalog)
    return CatalogPreferencesRead(public_catalog=row.public_catalog, updated_at=row.updated_at)


@public_router.get(
    "/v1/offerings-public/{tenant_id}",
    response_model=OfferingPage,
    summary="A tenant's public catalog: its published offerings, no token (when the tenant switched it on)",
)
async def public_catalog(tenant_id: IdPath, params: Search, session: SessionDep, index: SearchIndexDep) -> OfferingPage:
    await service.require_public_catalog(session, tenant_id)
    return await listing.search_offerings(session, index, tenant_id, ("published",), **params.values)


# --- recommendations --------------------------------------------------------------------------


@router.post(
    "/v1/recommendations",
    response_model=RecommendationList,
    summary="Offerings ranked for goal competencies and preferences, each with its reason (ADR 0011)",
)
async def recommendations(body: RecommendationRequest, who: Reader, session: SessionDep) -> RecommendationList:
    ranked = await recommend.recommend(session, who.tenant_id, body, utcnow())
    shown = {read.id: read for read in await reads.offering_reads(session, [r.offering for r in ranked])}
    return RecommendationList(
        items=[
            Recommendation(
                offering=shown[r.offering.id],
                score=r.score,
                covered_competency_ids=r.covered,
                reason=r.reason,
                score_parts=r.parts,
            )
            for r in ranked
        ]
    )
