"""The catalog answering other services: do these ids exist in the caller's tenant?

Other services keep catalog ids (a credential design's competency alignments, a pursuit's
offering) and copy only the few facts they must. Before keeping one they ask here, on the
caller's behalf: the request carries the caller's own internal token (delegated by the gateway),
so the tenant and the ``catalog:read`` scope are the caller's, not a service's. Not routed by
the gateway (``/internal/*``); see docs/decisions/0013-service-to-service-calls.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.deps import Reader
from services.catalog.models import Offering
from services.catalog.references import service
from services.catalog.schemas import CompetencyRef, ReferencedOffering, ReferenceLookup, References
from shared.state import SessionDep

router = APIRouter(tags=["service-to-service"])


def _offering(row: Offering) -> ReferencedOffering:
    return ReferencedOffering(
        id=row.id,
        status=row.status,
        offering_type=row.offering_type,
        title=row.title,
        provider_name=row.provider_name,
        provider_number=row.provider_number,
        credential_design_id=row.credential_design_id,
    )


@router.post(
    "/internal/catalog/references",
    response_model=References,
    summary="Which of these framework items and offerings exist in the caller's tenant (for other services)",
)
async def resolve_references(body: ReferenceLookup, who: Reader, session: SessionDep) -> References:
    item_ids, offering_ids = list(dict.fromkeys(body.item_ids)), list(dict.fromkeys(body.offering_ids))
    items, offerings = await service.resolve_references(
        session, who.tenant_id, item_ids=item_ids, offering_ids=offering_ids
    )
    shown = {row.id: row for row in items.items.values()}
    found_offerings = {row.id: row for row in offerings}
    return References(
        items=[CompetencyRef.model_validate(row, from_attributes=True) for row in shown.values()],
        offerings=[_offering(found_offerings[i]) for i in offering_ids if i in found_offerings],
        unknown_item_ids=items.unknown,
        unknown_offering_ids=[i for i in offering_ids if i not in found_offerings],
        item_ids_by_reference={reference: row.id for reference, row in items.items.items()},
        ambiguous_item_ids=list(items.ambiguous),
    )
