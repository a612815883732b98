"""Offerings: the catalog's menu. Lifecycle draft → published → retired, optimistic concurrency
by ``revision`` (the ETag), competency alignments to the tenant's framework items, and the
search document kept in step with every change (search/indexing.py); who may see an offering;
the tenant's catalog preferences."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.errors import PreconditionFailed, WrongState
from services.catalog.frameworks.service import resolve_competencies
from services.catalog.models import (
    CatalogPreferences,
    FrameworkItem,
    Offering,
    OfferingAlignment,
    OfferingAudience,
)
from services.catalog.offerings.designs import DesignCheck
from services.catalog.schemas import OfferingCreate, OfferingUpdate
from services.catalog.search import indexing
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant

_AUDIENCE_KINDS = {"roles": "role", "grade_bands": "grade_band", "subjects": "subject"}

# Which lifecycle action may follow which status.
_TRANSITIONS = {"publish": ({"draft"}, "published"), "retire": ({"draft", "published"}, "retired")}


def may_see(status: str | None, scopes: Collection[str]) -> bool:
    """Who may see an offering in this status (and its sessions): any reader of its tenant once
    it is published; coordinators (catalog:write) drafts and retired ones too."""
    return status == "published" or "catalog:write" in scopes


async def visible_offering(
    session: AsyncSession, tenant_id: str, offering_id: str, scopes: Collection[str]
) -> Offering:
    """The tenant's offering if the caller may see it; 404 otherwise (a draft is as hidden as none)."""
    row = await get_in_tenant(session, Offering, offering_id, tenant_id, noun="offering")
    if not may_see(row.status, scopes):
        raise NotFound(f"no offering {offering_id}")
    return row


async def require_public_catalog(session: AsyncSession, tenant_id: str) -> None:
    """Anyone may search a tenant's published offerings without a token once the tenant switched
    its public catalog on; until then the catalog is not there (404)."""
    row = await preferences(session, tenant_id)
    if row is None or not row.public_catalog:
        raise NotFound("this catalog is not public")


EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def instant(value: dt.datetime, pointer: str, errors: list[FieldError]) -> dt.datetime:
    """An aware UTC instant in a range every database and time zone can hold, or an error (a
    session's times, a search's or a recommendation's date window)."""
    if value.tzinfo is None:
        errors.append(FieldError(pointer=pointer, detail="give an offset (e.g. Z or -05:00): the time is ambiguous"))
        value = value.replace(tzinfo=dt.UTC)  # only so that the other checks can still compare
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = LATEST
    if not EARLIEST <= utc < LATEST:
        errors.append(FieldError(pointer=pointer, detail="must fall between 1970 and 9000"))
        return EARLIEST
    return utc


def etag(offering: Offering) -> str:
    return f'"{offering.id}.{offering.revision}"'


def check_if_match(offering: Offering, if_match: str | None) -> None:
    """RFC 9110 §13.1.1: a change naming another revision than the current one is refused."""
    if if_match is None:
        return
    # Strong comparison (RFC 9110 §13.1.1): a weak tag never matches.
    given = [tag.strip() for tag in if_match.split(",")]
    if "*" not in given and etag(offering) not in given:
        raise PreconditionFailed(
            f"the offering changed since you read it (now revision {offering.revision}); read it again and retry",
            current_etag=etag(offering),
        )


async def _locked(session: AsyncSession, tenant_id: str, offering_id: str) -> Offering:
    """The offering, locked until this transaction ends (PostgreSQL; SQLite writers are serial):
    two changes naming the same ETag cannot both pass the If-Match check."""
    offering = await session.scalar(
        select(Offering)
        .where(Offering.id == offering_id, Offering.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if offering is None:
        raise NotFound(f"no offering {offering_id}")
    return offering


async def _items(session: AsyncSession, tenant_id: str, ids: Sequence[str], pointer: str) -> list[FrameworkItem]:
    """The tenant's framework items named by these internal ids or CASE identifiers, each once;
    unknown (or ambiguous) ones are a 422 naming each."""
    found = await resolve_competencies(session, tenant_id, ids)
    errors = found.errors(ids, pointer)
    if errors:
        raise UnprocessableContent("unknown competencies", errors=errors)
    return list({found.items[i].id: found.items[i] for i in ids}.values())


async def _check_prerequisites(
    session: AsyncSession, tenant_id: str, offering_id: str, prerequisites: dict[str, Any]
) -> None:
    offering_ids = list(prerequisites.get("offering_ids", []))
    known = set(
        await session.scalars(
            select(Offering.id).where(Offering.tenant_id == tenant_id, Offering.id.in_(offering_ids or ["-"]))
        )
    )
    errors = [
        FieldError(
            pointer=f"/body/prerequisites/offering_ids/{i}",
            detail="an offering cannot require itself" if oid == offering_id else f"no offering {oid} in this tenant",
        )
        for i, oid in enumerate(offering_ids)
        if oid == offering_id or oid not in known
    ]
    if errors:
        raise UnprocessableContent("unknown prerequisites", errors=errors)
    cycle = await _requires(session, tenant_id, offering_ids, offering_id)
    if cycle is not None:
        raise UnprocessableContent(
            "prerequisites would go round in a circle",
            errors=[
                FieldError(pointer=f"/body/prerequisites/offering_ids/{cycle}", detail="it requires this offering")
            ],
        )
    items = await _items(
        session, tenant_id, prerequisites.get("competency_ids", []), "/body/prerequisites/competency_ids"
    )
    # Kept as internal ids, whichever form the client sent.
    prerequisites["competency_ids"] = [item.id for item in items]


async def _requires(session: AsyncSession, tenant_id: str, start: list[str], target: str) -> int | None:
    """The index in ``start`` of a prerequisite that (through its own) requires ``target``."""
    for index, first in enumerate(start):
        seen: set[str] = set()
        frontier = [first]
        while frontier:
            rows = await session.execute(
                select(Offering.id, Offering.prerequisites).where(
                    Offering.tenant_id == tenant_id, Offering.id.in_(frontier)
                )
            )
            seen.update(frontier)
            frontier = []
            for _id, prerequisites in rows:
                for required in prerequisites.get("offering_ids", []):
                    if required == target:
                        return index
                    if required not in seen:
                        frontier.append(required)
    return None


async def _set_alignments(session: AsyncSession, offering: Offering, items: list[FrameworkItem]) -> None:
    await session.execute(delete(OfferingAlignment).where(OfferingAlignment.offering_id == offering.id))
    session.add_all([OfferingAlignment(id=str(uuid.uuid4()), offering_id=offering.id, item_id=i.id) for i in items])


async def _set_audience(session: AsyncSession, offering: Offering) -> None:
    await session.execute(delete(OfferingAudience).where(OfferingAudience.offering_id == offering.id))
    rows = {
        (kind, value.strip().lower())
        for field_name, kind in _AUDIENCE_KINDS.items()
        for value in offering.audience.get(field_name, [])
    }
    # The provider's name and number, case-folded, for the provider filter.
    rows |= {
        ("provider", value.strip().casefold()[:100])
        for value in (offering.provider_name, offering.provider_number)
        if value
    }
    session.add_all(
        [OfferingAudience(id=str(uuid.uuid4()), offering_id=offering.id, kind=k, value=v) for k, v in sorted(rows)]
    )


async def _check_design(check: DesignCheck | None, offering_type: str, design_id: str | None) -> None:
    """A micro-credential offering's design exists and is published (asked of the credentials
    service through ``check``); other offerings' designs are not checked (issue 16, point 4)."""
    if check is not None and offering_type == "micro_credential" and design_id is not None:
        await check(design_id)


async def create_offering(
    session: AsyncSession, tenant_id: str, body: OfferingCreate, *, check_design: DesignCheck | None = None
) -> Offering:
    """``check_design``: the credentials service's word on a micro-credential's design, asked
    after the catalog's own checks and before anything is written."""
    now = utcnow()
    offering_id = str(uuid.uuid4())
    items = await _items(session, tenant_id, body.competency_ids, "/body/competency_ids")
    prerequisites = body.prerequisites.model_dump()
    await _check_prerequisites(session, tenant_id, offering_id, prerequisites)
    await _check_design(check_design, body.offering_type, body.credential_design_id)
    offering = Offering(
        id=offering_id,
        tenant_id=tenant_id,
        status="draft",
        revision=1,
        offering_type=body.offering_type,
        title=body.title,
        summary=body.summary,
        description=body.description,
        modality=body.modality,
        pacing=body.pacing,
        group_format=body.group_format,
        duration_minutes=body.duration_minutes,
        credits=body.credits,
        level=body.level,
        audience=body.audience.model_dump(),
        prerequisites=prerequisites,
        provider_kind=body.provider.kind,
        provider_name=body.provider.name,
        provider_number=body.provider.number,
        cost_cents=body.cost_cents,
        stipend_cents=body.stipend_cents,
        currency=body.currency,
        tags=list(dict.fromkeys(body.tags)),
        credential_design_id=body.credential_design_id,
        created_at=now,
        updated_at=now,
    )
    session.add(offering)
    await session.flush()
    await _set_alignments(session, offering, items)
    await _set_audience(session, offering)
    await indexing.reindex(session, offering)
    return offering


_REQUIRED = (
    "offering_type",
    "title",
    "modality",
    "pacing",
    "group_format",
    "duration_minutes",
    "provider",
    "cost_cents",
    "stipend_cents",
    "currency",
)
_LISTS = ("audience", "prerequisites", "competency_ids", "tags")


async def update_offering(
    session: AsyncSession,
    tenant_id: str,
    offering_id: str,
    body: OfferingUpdate,
    if_match: str | None,
    *,
    check_design: DesignCheck | None = None,
) -> Offering:
    """``check_design`` runs when the change makes the offering name a design as a micro-credential
    (a new design, or a new type), before anything is written."""
    offering = await _locked(session, tenant_id, offering_id)
    check_if_match(offering, if_match)
    if offering.status == "retired":
        raise WrongState("a retired offering cannot be edited", current_status=offering.status, allowed_actions=[])
    given = body.model_fields_set
    nulled = [name for name in (*_REQUIRED, *_LISTS) if name in given and getattr(body, name) is None]
    if nulled:
        raise UnprocessableContent(
            "required fields cannot be removed",
            errors=[FieldError(pointer=f"/body/{name}", detail="may not be null") for name in nulled],
        )
    if {"offering_type", "credential_design_id"} & given:
        await _check_design(
            check_design,
            body.offering_type if "offering_type" in given and body.offering_type else offering.offering_type,
            body.credential_design_id if "credential_design_id" in given else offering.credential_design_id,
        )
    if "competency_ids" in given and body.competency_ids is not None:
        await _set_alignments(
            session, offering, await _items(session, tenant_id, body.competency_ids, "/body/competency_ids")
        )
    if "prerequisites" in given and body.prerequisites is not None:
        prerequisites = body.prerequisites.model_dump()
        await _check_prerequisites(session, tenant_id, offering.id, prerequisites)
        offering.prerequisites = prerequisites
    if "audience" in given and body.audience is not None:
        offering.audience = body.audience.model_dump()
    if "provider" in given and body.provider is not None:
        offering.provider_kind = body.provider.kind
        offering.provider_name = body.provider.name
        offering.provider_number = body.provider.number
    if "tags" in given and body.tags is not None:
        offering.tags = list(dict.fromkeys(body.tags))
    for name in (
        "offering_type",
        "title",
        "summary",
        "description",
        "modality",
        "pacing",
        "group_format",
        "duration_minutes",
        "credits",
        "level",
        "cost_cents",
        "stipend_cents",
        "currency",
        "credential_design_id",
    ):
        if name in given:
            setattr(offering, name, getattr(body, name))
    await _set_audience(session, offering)  # audience values and the provider's keys
    offering.revision += 1
    offering.updated_at = utcnow()
    await indexing.reindex(session, offering)
    return offering


async def change_status(
    session: AsyncSession, tenant_id: str, offering_id: str, action: str, if_match: str | None
) -> Offering:
    offering = await _locked(session, tenant_id, offering_id)
    check_if_match(offering, if_match)
    sources, target = _TRANSITIONS[action]
    if offering.status not in sources:
        allowed = [name for name, (src, _) in _TRANSITIONS.items() if offering.status in src]
        raise WrongState(
            f"the offering is {offering.status}: {action} is not possible",
            current_status=offering.status,
            allowed_actions=allowed,
        )
    offering.status = target
    offering.revision += 1
    offering.updated_at = utcnow()
    if target == "published" and offering.published_at is None:
        offering.published_at = offering.updated_at
    await session.flush()
    await indexing.write_index(session, offering)  # searches filter on the status
    return offering


async def preferences(session: AsyncSession, tenant_id: str) -> CatalogPreferences | None:
    return await session.get(CatalogPreferences, tenant_id)


async def set_preferences(session: AsyncSession, tenant_id: str, *, public_catalog: bool) -> CatalogPreferences:
    row = await session.get(CatalogPreferences, tenant_id)
    if row is None:
        row = CatalogPreferences(tenant_id=tenant_id, public_catalog=public_catalog, updated_at=utcnow())
        session.add(row)
    row.public_catalog = public_catalog
    row.updated_at = utcnow()
    await session.flush()
    return row
