"""HTTP routes of competency frameworks (CASE): import, export, the tree, items and neighbours."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.catalog.deps import IdPath, Reader, SettingsDep, Writer
from services.catalog.frameworks import case, service
from services.catalog.models import Framework, FrameworkItem
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
from shared.problems import FieldError, UnprocessableContent
from shared.state import SessionDep

router = APIRouter()


async def _summary(session: SessionDep, framework: Framework) -> dict[str, Any]:
    return {
        "id": framework.id,
        "identifier": framework.identifier,
        "uri": framework.uri,
        "title": framework.title,
        "creator": framework.creator,
        "last_change": framework.last_change,
        "items": await service.item_count(session, framework),
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


@router.post(
    "/v1/frameworks",
    response_model=ImportReport,
    status_code=201,
    summary='Import a CASE CFPackage (the JSON, or {"url": …}); re-importing updates by identifier',
    responses={200: {"model": ImportReport, "description": "an existing framework was updated"}},
)
async def import_framework(
    response: Response,
    who: Writer,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[dict[str, Any], Body(description="a CFPackage (CFDocument, CFItems, CFAssociations), or {url}")],
) -> ImportReport:
    if set(body) == {"url"}:
        url = FrameworkFetch.model_validate(body).url if isinstance(body.get("url"), str) else None
        if url is None:
            raise UnprocessableContent("url must be a string", errors=[FieldError(pointer="/body/url", detail="text")])
        body = await service.fetch_package(url, settings)
    try:
        package = case.parse(body)
    except case.PackageErrors as exc:
        raise UnprocessableContent(
            f"the CASE package is not valid ({len(exc.errors)} problem(s)); nothing was imported", errors=exc.errors
        ) from exc
    result = await service.import_package(session, who.tenant_id, package)
    if result.created:
        response.headers["Location"] = f"/v1/frameworks/{result.framework.id}"
    else:
        response.status_code = 200
    return ImportReport(
        **await _summary(session, result.framework), created=result.created, associations=result.associations
    )


@router.get("/v1/frameworks", response_model=list[FrameworkSummary], summary="The tenant's competency frameworks")
async def list_frameworks(who: Reader, session: SessionDep) -> list[FrameworkSummary]:
    rows = await service.list_frameworks(session, who.tenant_id)
    return [FrameworkSummary(**await _summary(session, row)) for row in rows]


@router.get("/v1/frameworks/{framework_id}", response_model=FrameworkRead, summary="A framework and its item tree")
async def get_framework(framework_id: IdPath, who: Reader, session: SessionDep) -> FrameworkRead:
    framework = await service.get_framework(session, who.tenant_id, framework_id)
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
    framework = await service.get_framework(session, who.tenant_id, framework_id)
    rows = await service.search_items(session, framework.id, text=q, item_type=item_type, limit=limit)
    return [_item(row) for row in rows]


@router.get(
    "/v1/frameworks/{framework_id}/items/{item_id}", response_model=ItemDetail, summary="One item with its neighbours"
)
async def get_item(framework_id: IdPath, item_id: IdPath, who: Reader, session: SessionDep) -> ItemDetail:
    framework = await service.get_framework(session, who.tenant_id, framework_id)
    row = await service.get_item(session, framework, item_id)
    children = await service.item_children(session, row)
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
    framework = await service.get_framework(session, who.tenant_id, framework_id)
    return await service.export_package(session, framework)
