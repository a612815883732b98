"""Competency frameworks: a CASE package imported (created or updated by identifier) or fetched
from a URL, exported again, and read as a tree, items, neighbours and descendants."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.frameworks.case import Package
from services.catalog.models import Framework, FrameworkAssociation, FrameworkItem, Offering, OfferingAlignment
from services.catalog.search import indexing
from services.catalog.settings import CatalogSettings
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.safefetch import FetchRefused, fetch
from shared.tenancy import get_in_tenant, in_tenant


@dataclass(frozen=True)
class ImportResult:
    framework: Framework
    created: bool
    items: int
    associations: int


async def import_package(session: AsyncSession, tenant_id: str, package: Package) -> ImportResult:
    """Create or update the tenant's framework for this CFDocument; items keep their ids.

    Re-importing the same package changes nothing; an item missing from a newer package is
    removed with its associations (CASE publishes whole packages, not patches).
    """
    now = utcnow()
    document = package.document
    framework = await session.scalar(
        in_tenant(select(Framework), Framework, tenant_id).where(Framework.identifier == package.identifier)
    )
    created = framework is None
    if framework is None:
        framework = Framework(id=str(uuid.uuid4()), tenant_id=tenant_id, identifier=package.identifier, imported_at=now)
        session.add(framework)
    framework.uri = str(document["uri"])
    framework.title = str(document["title"])
    framework.creator = str(document["creator"])
    framework.last_change = str(document["lastChangeDateTime"])
    framework.document = document
    framework.definitions = package.definitions
    framework.updated_at = now
    await session.flush()

    existing = {
        row.identifier: row
        for row in await session.scalars(select(FrameworkItem).where(FrameworkItem.framework_id == framework.id))
    }
    ids = {identifier: row.id for identifier, row in existing.items()}
    for identifier in package.items:
        ids.setdefault(identifier, str(uuid.uuid4()))
    gone = [row.id for identifier, row in existing.items() if identifier not in package.items]
    # Offerings aligned to this framework carry its statements in their search words.
    aligned = list(
        await session.scalars(
            select(OfferingAlignment.offering_id).distinct().where(OfferingAlignment.item_id.in_(list(ids.values())))
        )
    )
    if gone:
        await session.execute(delete(FrameworkItem).where(FrameworkItem.id.in_(gone)))
    for identifier, item in package.items.items():
        row = existing.get(identifier)
        if row is None:
            row = FrameworkItem(
                id=ids[identifier], tenant_id=tenant_id, framework_id=framework.id, identifier=identifier
            )
            session.add(row)
        parent = package.parent.get(identifier)
        row.uri = str(item["uri"])
        row.human_coding_scheme = item.get("humanCodingScheme")
        row.full_statement = str(item["fullStatement"])
        row.item_type = item.get("CFItemType")
        row.last_change = str(item["lastChangeDateTime"])
        row.parent_id = ids[parent] if parent else None
        row.position = package.position.get(identifier)
        row.raw = item
    await session.execute(delete(FrameworkAssociation).where(FrameworkAssociation.framework_id == framework.id))
    for identifier, association in package.associations.items():
        session.add(
            FrameworkAssociation(
                id=str(uuid.uuid4()),
                framework_id=framework.id,
                identifier=identifier,
                association_type=str(association["associationType"]),
                origin_identifier=str(association["originNodeURI"]["identifier"]).lower(),
                destination_identifier=str(association["destinationNodeURI"]["identifier"]).lower(),
                raw=association,
            )
        )
    await session.flush()
    for offering in await session.scalars(select(Offering).where(Offering.id.in_(aligned))):
        await indexing.reindex(session, offering)
    return ImportResult(framework, created, len(package.items), len(package.associations))


async def fetch_package(url: str, settings: CatalogSettings) -> Any:
    """The JSON a district's CASE server answers at ``url`` (within the settings' limits); a refused
    or failed fetch, or a body that is not JSON, is a 422 on ``/body/url``."""
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


async def export_package(session: AsyncSession, framework: Framework) -> dict[str, Any]:
    """The framework as a CFPackage: what was imported, with the current items and associations."""
    items = await session.scalars(
        select(FrameworkItem).where(FrameworkItem.framework_id == framework.id).order_by(FrameworkItem.identifier)
    )
    associations = await session.scalars(
        select(FrameworkAssociation)
        .where(FrameworkAssociation.framework_id == framework.id)
        .order_by(FrameworkAssociation.identifier)
    )
    package: dict[str, Any] = {
        "CFDocument": framework.document,
        "CFItems": [item.raw for item in items],
        "CFAssociations": [association.raw for association in associations],
    }
    if framework.definitions is not None:
        package["CFDefinitions"] = framework.definitions
    return package


async def framework_items(session: AsyncSession, framework_id: str) -> list[FrameworkItem]:
    rows = await session.scalars(
        select(FrameworkItem)
        .where(FrameworkItem.framework_id == framework_id)
        .order_by(FrameworkItem.position.is_(None), FrameworkItem.position, FrameworkItem.human_coding_scheme)
    )
    return list(rows)


async def search_items(
    session: AsyncSession, framework_id: str, *, text: str | None, item_type: str | None, limit: int
) -> list[FrameworkItem]:
    statement = select(FrameworkItem).where(FrameworkItem.framework_id == framework_id)
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                func.lower(FrameworkItem.full_statement).like(pattern, escape="\\"),
                func.lower(func.coalesce(FrameworkItem.human_coding_scheme, "")).like(pattern, escape="\\"),
            )
        )
    if item_type:
        statement = statement.where(FrameworkItem.item_type == item_type)
    rows = await session.scalars(statement.order_by(FrameworkItem.human_coding_scheme, FrameworkItem.id).limit(limit))
    return list(rows)


async def item_associations(session: AsyncSession, framework_id: str, identifier: str) -> list[FrameworkAssociation]:
    rows = await session.scalars(
        select(FrameworkAssociation)
        .where(
            FrameworkAssociation.framework_id == framework_id,
            or_(
                FrameworkAssociation.origin_identifier == identifier,
                FrameworkAssociation.destination_identifier == identifier,
            ),
        )
        .order_by(FrameworkAssociation.association_type, FrameworkAssociation.identifier)
    )
    return list(rows)


async def get_framework(session: AsyncSession, tenant_id: str, framework_id: str) -> Framework:
    """The tenant's framework; 404 when it is another tenant's or none."""
    return await get_in_tenant(session, Framework, framework_id, tenant_id, noun="framework")


async def list_frameworks(session: AsyncSession, tenant_id: str) -> list[Framework]:
    rows = await session.scalars(
        in_tenant(select(Framework), Framework, tenant_id).order_by(Framework.title, Framework.id)
    )
    return list(rows)


async def item_count(session: AsyncSession, framework: Framework) -> int:
    count = await session.scalar(select(func.count(FrameworkItem.id)).where(FrameworkItem.framework_id == framework.id))
    return int(count or 0)


async def get_item(session: AsyncSession, framework: Framework, item_id: str) -> FrameworkItem:
    """The framework's item; 404 when it belongs to another framework or none."""
    row = await session.get(FrameworkItem, item_id)
    if row is None or row.framework_id != framework.id:
        raise NotFound(f"no item {item_id} in this framework")
    return row


async def item_children(session: AsyncSession, item: FrameworkItem) -> list[FrameworkItem]:
    rows = await session.scalars(
        select(FrameworkItem).where(FrameworkItem.parent_id == item.id).order_by(FrameworkItem.position)
    )
    return list(rows)


async def descendants(session: AsyncSession, tenant_id: str, item_ids: Sequence[str]) -> list[str]:
    """The items and every item below them in their frameworks' trees (isChildOf)."""
    if not item_ids:
        return []
    frameworks = set(
        await session.scalars(
            select(FrameworkItem.framework_id).where(
                FrameworkItem.tenant_id == tenant_id, FrameworkItem.id.in_(list(item_ids))
            )
        )
    )
    children: dict[str | None, list[str]] = {}
    for item_id, parent_id in await session.execute(
        select(FrameworkItem.id, FrameworkItem.parent_id).where(FrameworkItem.framework_id.in_(frameworks or {"-"}))
    ):
        children.setdefault(parent_id, []).append(item_id)
    found: list[str] = []
    stack = list(item_ids)
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(children.get(current, []))
    return found


@dataclass(frozen=True)
class Competencies:
    """What the references a client gave for competencies name: each one that names exactly
    one of the tenant's framework items, the ones that name none, and the CASE identifiers that
    name an item in more than one of the tenant's frameworks (the same CFItem imported twice)."""

    items: dict[str, FrameworkItem]
    unknown: list[str]
    ambiguous: dict[str, list[FrameworkItem]]

    def errors(self, references: Sequence[str], pointer: str) -> list[FieldError]:
        """A 422's field errors for the unknown and ambiguous references, at ``pointer/<index>``."""
        errors: list[FieldError] = []
        for i, reference in enumerate(references):
            if reference in self.ambiguous:
                ids = ", ".join(sorted(row.id for row in self.ambiguous[reference]))
                errors.append(
                    FieldError(
                        pointer=f"{pointer}/{i}",
                        detail=f"the CASE identifier {reference} names items in more than one of this tenant's "
                        f"frameworks; use the internal id of the one meant ({ids})",
                    )
                )
            elif reference not in self.items:
                errors.append(
                    FieldError(
                        pointer=f"{pointer}/{i}", detail=f"no competency {reference} in this tenant's frameworks"
                    )
                )
        return errors


async def resolve_competencies(session: AsyncSession, tenant_id: str, references: Sequence[str]) -> Competencies:
    """The tenant's framework items named by these references, each either an item's internal
    id or its CASE identifier (the CFItem GUID of the district's package, any letter case).

    Only the tenant's own items are looked at: the same CASE package imported by two districts
    gives the same GUIDs to both, and each district's GUID names its own item. The internal id
    wins if a reference were both (they are distinct random UUIDs, so it never is in practice).
    Both forms are UUIDs kept in lower case, so a reference matches in any letter case."""
    unique = list(dict.fromkeys(references))
    if not unique:
        return Competencies(items={}, unknown=[], ambiguous={})
    lowered = list({reference.lower() for reference in unique})
    rows = list(
        await session.scalars(
            select(FrameworkItem)
            .where(
                FrameworkItem.tenant_id == tenant_id,
                or_(FrameworkItem.id.in_(lowered), FrameworkItem.identifier.in_(lowered)),
            )
            .order_by(FrameworkItem.id)
        )
    )
    by_id = {row.id: row for row in rows}
    by_identifier: dict[str, list[FrameworkItem]] = {}
    for row in rows:
        by_identifier.setdefault(row.identifier, []).append(row)
    items: dict[str, FrameworkItem] = {}
    unknown: list[str] = []
    ambiguous: dict[str, list[FrameworkItem]] = {}
    for reference in unique:
        key = reference.lower()
        named = [by_id[key]] if key in by_id else by_identifier.get(key, [])
        if len(named) == 1:
            items[reference] = named[0]
        elif named:
            ambiguous[reference] = named
        else:
            unknown.append(reference)
    return Competencies(items=items, unknown=unknown, ambiguous=ambiguous)
