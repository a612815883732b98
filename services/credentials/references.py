"""The catalog ids this service keeps, checked with the catalog before they are kept.

A design's competency alignments are catalog framework items; a pursuit may name the catalog
offering it started from. The catalog is their source of truth: before an id is stored the
catalog is asked — as the caller, with the caller's own internal token, so another district's
ids are unknown exactly like ids that never existed — and an unknown id is a 422 pointing at
it. When the catalog cannot answer, nothing is kept: a 503 names the catalog, and the same
request can simply be sent again (docs/decisions/0013-service-to-service-calls.md).

Only a request that names catalog ids asks the catalog; designs without alignments and pursuits
without an offering never depend on it, and no read ever does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.catalog.client import CatalogClient
from services.catalog.schemas import CATALOG_ID_PATTERN, ReferencedOffering, References
from services.credentials.errors import CatalogUnavailable
from shared.auth import Principal
from shared.client import checked_with
from shared.problems import FieldError, UnprocessableContent

# Seconds a client is asked to wait before sending the same request again.
RETRY_AFTER_S = 5
_CATALOG_ID = re.compile(CATALOG_ID_PATTERN)


def _could_be_catalog_id(value: str) -> bool:
    # Anything not shaped like a catalog id is unknown without asking (and never reaches the
    # catalog's own validation, whose 422 would be this service's bug, not the caller's).
    return _CATALOG_ID.fullmatch(value) is not None


async def _ask(
    catalog: CatalogClient, who: Principal, *, item_ids: Sequence[str] = (), offering_ids: Sequence[str] = (), what: str
) -> References:
    # The caller may write credentials but not read the catalog: naming catalog ids takes both.
    with checked_with(
        callee="the catalog",
        service="catalog",
        what=what,
        forbidden=f"{what} are catalog ids, and the catalog refused",
        unavailable=CatalogUnavailable,
        retry_after_s=RETRY_AFTER_S,
    ):
        return await catalog.references(who, item_ids=item_ids, offering_ids=offering_ids)


async def check_alignments(
    catalog: CatalogClient, who: Principal, competency_ids: Sequence[str], *, pointer: str = "/body/competency_ids"
) -> list[str]:
    """The internal ids of the framework items of the caller's district that these competencies
    name — each by internal id or by the district's CASE identifier (CFItem GUID) — in order,
    each once: what a design keeps. An unknown one is a 422 naming it."""
    if not competency_ids:
        return []
    # CASE identifiers are GUIDs in any letter case; the catalog keeps them (and its ids) lower.
    asked = {i: i.lower() for i in competency_ids}
    askable = [r for r in dict.fromkeys(asked.values()) if _could_be_catalog_id(r)]
    resolved: dict[str, str] = {}
    ambiguous: set[str] = set()
    if askable:
        found = await _ask(catalog, who, item_ids=askable, what="the competency alignments")
        resolved, ambiguous = found.item_ids_by_reference, set(found.ambiguous_item_ids)
    errors = [
        FieldError(
            pointer=f"{pointer}/{n}",
            detail=(
                f"the CASE identifier {item_id} names items in more than one of this district's frameworks; "
                "use the catalog's internal id of the one meant"
                if asked[item_id] in ambiguous
                else f"no competency (framework item) {item_id} in this district's catalog"
            ),
        )
        for n, item_id in enumerate(competency_ids)
        if asked[item_id] not in resolved
    ]
    if errors:
        raise UnprocessableContent(f"{len(errors)} competency id(s) are not in the catalog", errors=errors)
    kept: dict[str, str] = {}
    for n, item_id in enumerate(competency_ids):
        internal = resolved[asked[item_id]]
        if internal in kept:
            errors.append(
                FieldError(
                    pointer=f"{pointer}/{n}",
                    detail=f"this competency is already listed (as {kept[internal]}: the same framework item)",
                )
            )
        kept.setdefault(internal, item_id)
    if errors:
        raise UnprocessableContent("a competency is listed twice", errors=errors)
    return list(kept)


async def offering_for_pursuit(
    catalog: CatalogClient, who: Principal, offering_id: str, design_id: str, *, pointer: str = "/body/offering_id"
) -> ReferencedOffering:
    """The published offering of the caller's district a pursuit of ``design_id`` starts from."""
    offering = None
    if _could_be_catalog_id(offering_id):
        found = await _ask(catalog, who, offering_ids=[offering_id], what="the offering")
        offering = next((o for o in found.offerings if o.id == offering_id), None)
    if offering is None:
        detail = f"no offering {offering_id} in this district's catalog"
    elif offering.status != "published":
        detail = f"the offering is {offering.status}: pursuits start from published offerings"
    elif offering.credential_design_id is None:
        # An offering that leads to no credential cannot be where a credential's pursuit starts:
        # its completions would be counted for a design it never offered.
        detail = "the offering names no credential design: a pursuit starts from an offering that leads to its design"
    elif offering.credential_design_id != design_id:
        detail = f"the offering leads to another credential design ({offering.credential_design_id})"
    else:
        return offering
    raise UnprocessableContent(detail, errors=[FieldError(pointer=pointer, detail=detail)])
