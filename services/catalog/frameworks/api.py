"""HTTP routes of the catalog service: parse, authorise, call ``service``, return a schema."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import case, offerings_api, pathways_api, references_api, service, sessions_api
from services.catalog.deps import IdPath, Reader, SessionDep, Writer
from services.catalog.models import (
    Framework,
    FrameworkItem,
    OutboxEvent,
)
from services.catalog.schemas import (
    AssociationRead,
    FrameworkFetch,
    FrameworkRead,
    FrameworkSummary,
    ImportReport,
    ItemDetail,
    ItemRead,
    TreeNode,
)
from services.catalog.settings import CatalogSettings
from shared.state import get_session
from shared.auth import whoami_router
from shared.outbox_ops import outbox_ops_router
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.safefetch import FetchRefused, fetch
from shared.tenancy import get_in_tenant, in_tenant

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES): a tenant's public catalog, which
# answers 404 unless the tenant switched it on.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({("GET", "/v1/offerings-public/{tenant_id}")})

router = APIRouter()
router.include_router(outbox_ops_router(service="catalog", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("catalog"))
router.include_router(offerings_api.router)
router.include_router(sessions_api.router)
router.include_router(pathways_api.router)
router.include_router(references_api.router)
public_router = offerings_api.public_router


# --- competency frameworks (CASE) -------------------------------------------------------------


async def _summary(session: AsyncSession, framework: Framework) -> dict[str, Any]:
    count = await session.scalar(select(func.count(FrameworkItem.id)).where(FrameworkItem.framework_id == framework.id))
    return {
        "id": framework.id,
        "identifier": framework.identifier,
        "uri": framework.uri,
        "title": framework.title,
        "creator": framework.creator,
        "last_change": framework.last_change,
        "items": int(count or 0),
        "imported_at": framework.imported_at,
        "updated_at": framework.updated_at,
    }


def _item(row: FrameworkItem) -> ItemRead:
    return ItemRead(
        id=row.id,
        identifier=row.identifier,
        uri=row.uri,
        human_coding_scheme=row.human_coding_scheme,
        full_statement=row.full_statement,
        item_type=row.item_type,
        last_change=row.last_change,
        parent_id=row.parent_id,
    )


async def _package_from_url(request: Request, url: str) -> Any:
    settings: CatalogSettings = request.app.state.settings
    try:
        got = await fetch(
            url,
            allow_private=settings.case_fetch_allow_private,
            max_bytes=settings.case_fetch_max_bytes,
            timeout_s=settings.case_fetch_timeout_s,
        )
        if got.status != 200:
            raise FetchRefused(f"the server answered {got.status}")
        return json.loads(got.body)
    except (FetchRefused, ValueError) as exc:
        raise UnprocessableContent(
            f"the CASE package could not be fetched: {exc}", errors=[FieldError(pointer="/body/url", detail=str(exc))]
        ) from exc


@router.post(
    "/v1/frameworks",
    response_model=ImportReport,
    status_code=201,
    summary='Import a CASE CFPackage (the JSON, or {"url": …}); re-importing updates by identifier',
    responses={200: {"model": ImportReport, "description": "an existing framework was updated"}},
)
async def import_framework(
    request: Request,
    response: Response,
    who: Writer,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body(description="a CFPackage (CFDocument, CFItems, CFAssociations), or {url}")],
) -> ImportReport:
    if set(body) == {"url"}:
        url = FrameworkFetch.model_validate(body).url if isinstance(body.get("url"), str) else None
        if url is None:
            raise UnprocessableContent("url must be a string", errors=[FieldError(pointer="/body/url", detail="text")])
        body = await _package_from_url(request, url)
    try:
        package = case.parse(body)
    except case.PackageErrors as exc:
        raise UnprocessableContent(
            f"the CASE package is not valid ({len(exc.errors)} problem(s)); nothing was imported", errors=exc.errors
        ) from exc
    result = await service.import_package(session, who.tenant_id, package)
    if not result.created:
        response.status_code = 200
    return ImportReport(
        **await _summary(session, result.framework), created=result.created, associations=result.associations
    )


@router.get("/v1/frameworks", response_model=list[FrameworkSummary], summary="The tenant's competency frameworks")
async def list_frameworks(who: Reader, session: SessionDep) -> list[FrameworkSummary]:
    rows = await session.scalars(
        in_tenant(select(Framework), Framework, who.tenant_id).order_by(Framework.title, Framework.id)
    )
    return [FrameworkSummary(**await _summary(session, row)) for row in rows]


@router.get("/v1/frameworks/{framework_id}", response_model=FrameworkRead, summary="A framework and its item tree")
async def get_framework(framework_id: IdPath, who: Reader, session: SessionDep) -> FrameworkRead:
    framework = await get_in_tenant(session, Framework, framework_id, who.tenant_id, noun="framework")
    items = await service.framework_items(session, framework.id)
    children: dict[str | None, list[FrameworkItem]] = {}
    for row in items:
        children.setdefault(row.parent_id, []).append(row)

    def node(row: FrameworkItem) -> TreeNode:
        return TreeNode(**_item(row).model_dump(), children=[node(child) for child in children.get(row.id, [])])

    return FrameworkRead(
        **await _summary(session, framework),
        document=framework.document,
        tree=[node(row) for row in children.get(None, [])],
    )


@router.get("/v1/frameworks/{framework_id}/items", response_model=list[ItemRead], summary="Search a framework's items")
async def list_items(
    framework_id: IdPath,
    who: Reader,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="words in the statement or coding scheme")] = None,
    item_type: Annotated[str | None, Query(max_length=100, description="CFItemType, e.g. Competency")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ItemRead]:
    framework = await get_in_tenant(session, Framework, framework_id, who.tenant_id, noun="framework")
    rows = await service.search_items(session, framework.id, text=q, item_type=item_type, limit=limit)
    return [_item(row) for row in rows]


@router.get(
    "/v1/frameworks/{framework_id}/items/{item_id}", response_model=ItemDetail, summary="One item with its neighbours"
)
async def get_item(framework_id: IdPath, item_id: IdPath, who: Reader, session: SessionDep) -> ItemDetail:
    framework = await get_in_tenant(session, Framework, framework_id, who.tenant_id, noun="framework")
    row = await session.get(FrameworkItem, item_id)
    if row is None or row.framework_id != framework.id:
        raise NotFound(f"no item {item_id} in this framework")
    children = await session.scalars(
        select(FrameworkItem).where(FrameworkItem.parent_id == row.id).order_by(FrameworkItem.position)
    )
    associations = await service.item_associations(session, framework.id, row.identifier)
    return ItemDetail(
        **_item(row).model_dump(),
        children=[_item(child) for child in children],
        associations=[
            AssociationRead(
                identifier=a.identifier,
                association_type=a.association_type,
                origin_identifier=a.origin_identifier,
                destination_identifier=a.destination_identifier,
            )
            for a in associations
        ],
    )


@router.get("/v1/frameworks/{framework_id}/case", summary="Export the framework as a CASE CFPackage")
async def export_framework(framework_id: IdPath, who: Reader, session: SessionDep) -> dict[str, Any]:
    framework = await get_in_tenant(session, Framework, framework_id, who.tenant_id, noun="framework")
    return await service.export_package(session, framework)
