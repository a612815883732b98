"""HTTP routes of pursuits and their learning plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from services.credentials.deps import CatalogDep, IdPath, Reader, Writer
from services.credentials.pursuits import plans, service
from services.credentials.schemas import PlanDecision, PlanRead, PlanWrite, PursuitCreate, PursuitEventRead, PursuitRead
from shared.auth import Principal
from shared.state import SessionDep

router = APIRouter()


def _pursuit_read(who: Principal, view: service.PursuitView) -> PursuitRead:
    pursuit, plan = view.pursuit, view.plan
    return PursuitRead(
        id=pursuit.id,
        educator_id=pursuit.educator_id,
        design_id=pursuit.design_id,
        design_version=pursuit.design_version,
        design_name=view.design_name,
        offering_id=pursuit.offering_id,
        offering_title=pursuit.offering_title,
        provider_name=pursuit.provider_name,
        provider_number=pursuit.provider_number,
        recipient_email=pursuit.recipient_email,
        recipient_id=pursuit.recipient_id,
        state=pursuit.state,
        allowed_actions=service.allowed_actions(who, pursuit),
        plan=PlanRead(
            topic=plan.topic,
            smart_goal=plan.smart_goal,
            resources=plan.resources,
            implementation_plan=plan.implementation_plan,
            status=plan.status,
            submitted_at=plan.submitted_at,
            decided_at=plan.decided_at,
            comments=plan.comments,
        )
        if plan
        else None,
        history=[
            PursuitEventRead(
                at=e.at, actor=e.actor, action=e.action, from_state=e.from_state, to_state=e.to_state, note=e.note
            )
            for e in view.history
        ],
        started_at=pursuit.started_at,
        updated_at=pursuit.updated_at,
        ended_at=pursuit.ended_at,
        duplicate_of=pursuit.duplicate_of,
    )


@router.post("/v1/pursuits", response_model=PursuitRead, status_code=201, summary="Start pursuing a design")
async def start_pursuit(
    body: PursuitCreate, response: Response, who: Writer, session: SessionDep, catalog: CatalogDep
) -> PursuitRead:
    pursuit, _design = await service.start(session, who, body, catalog=catalog)
    response.headers["Location"] = f"/v1/pursuits/{pursuit.id}"
    return _pursuit_read(who, await service.view(session, pursuit))


@router.get("/v1/pursuits", response_model=list[PursuitRead], summary="Pursuits: your own, or the tenant's")
async def list_pursuits(
    who: Reader,
    session: SessionDep,
    design_id: Annotated[str | None, Query(max_length=36)] = None,
    state: Annotated[str | None, Query(pattern="^(planning|plan_review|active|completed|withdrawn)$")] = None,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PursuitRead]:
    rows = await service.list_pursuits(
        session, who, design_id=design_id, state=state, educator_id=educator_id, limit=limit
    )
    return [_pursuit_read(who, await service.view(session, row)) for row in rows]


@router.get("/v1/pursuits/{pursuit_id}", response_model=PursuitRead, summary="A pursuit with its plan and history")
async def get_pursuit(pursuit_id: IdPath, who: Reader, session: SessionDep) -> PursuitRead:
    pursuit = await service.get_pursuit(session, who, pursuit_id)
    return _pursuit_read(who, await service.view(session, pursuit))


@router.put("/v1/pursuits/{pursuit_id}/plan", response_model=PursuitRead, summary="Write or revise the learning plan")
async def save_plan(pursuit_id: IdPath, body: PlanWrite, who: Writer, session: SessionDep) -> PursuitRead:
    pursuit = await plans.save_plan(session, who, pursuit_id, body)
    return _pursuit_read(who, await service.view(session, pursuit))


@router.post(
    "/v1/pursuits/{pursuit_id}/plan/submit", response_model=PursuitRead, summary="Submit the plan for approval"
)
async def submit_plan(pursuit_id: IdPath, who: Writer, session: SessionDep) -> PursuitRead:
    pursuit = await plans.submit_plan(session, who, pursuit_id)
    return _pursuit_read(who, await service.view(session, pursuit))


@router.post(
    "/v1/pursuits/{pursuit_id}/plan/decision",
    response_model=PursuitRead,
    summary="Approve the plan, or return it with comments (coordinators; never one's own)",
)
async def decide_plan(pursuit_id: IdPath, body: PlanDecision, who: Writer, session: SessionDep) -> PursuitRead:
    pursuit = await plans.decide_plan(session, who, pursuit_id, body)
    return _pursuit_read(who, await service.view(session, pursuit))


@router.post("/v1/pursuits/{pursuit_id}/withdraw", response_model=PursuitRead, summary="Stop pursuing")
async def withdraw(
    pursuit_id: IdPath,
    who: Writer,
    session: SessionDep,
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> PursuitRead:
    pursuit = await service.withdraw(session, who, pursuit_id, note)
    return _pursuit_read(who, await service.view(session, pursuit))
