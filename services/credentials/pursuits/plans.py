"""Learning plans: written and revised by the educator, submitted, then approved or returned
by a coordinator — each step a transition of the pursuit's state machine (``service.ACTIONS``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.models import LearningPlan, Pursuit
from services.credentials.pursuits.service import content_of, get_pursuit, transition
from services.credentials.schemas import PlanDecision, PlanWrite
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import FieldError, UnprocessableContent


async def save_plan(session: AsyncSession, who: Principal, pursuit_id: str, body: PlanWrite) -> Pursuit:
    pursuit = await get_pursuit(session, who, pursuit_id)
    await transition(session, who, pursuit, "save_plan")
    plan = await session.get(LearningPlan, pursuit.id)
    if plan is None:
        plan = LearningPlan(pursuit_id=pursuit.id, status="draft")
        session.add(plan)
    plan.topic = body.topic
    plan.smart_goal = body.smart_goal
    plan.resources = [r.model_dump(mode="json") for r in body.resources]
    plan.implementation_plan = body.implementation_plan
    plan.status = "draft"
    plan.updated_at = utcnow()
    await session.flush()
    return pursuit


async def submit_plan(session: AsyncSession, who: Principal, pursuit_id: str) -> Pursuit:
    pursuit = await get_pursuit(session, who, pursuit_id)
    plan = await session.get(LearningPlan, pursuit.id)
    settings = (await content_of(session, pursuit)).settings
    if pursuit.state == "planning" and plan is None:
        raise UnprocessableContent(
            "write the learning plan first", errors=[FieldError(pointer="/body", detail="no plan saved yet")]
        )
    if plan is not None and pursuit.state == "planning" and len(plan.resources) < settings.min_plan_resources:
        raise UnprocessableContent(
            f"the plan names {len(plan.resources)} resource(s); this design asks for at least "
            f"{settings.min_plan_resources}",
            errors=[FieldError(pointer="/plan/resources", detail=f"at least {settings.min_plan_resources}")],
        )
    await transition(session, who, pursuit, "submit_plan")
    assert plan is not None
    plan.status = "submitted"
    plan.submitted_at = utcnow()
    await session.flush()
    return pursuit


async def decide_plan(session: AsyncSession, who: Principal, pursuit_id: str, body: PlanDecision) -> Pursuit:
    pursuit = await get_pursuit(session, who, pursuit_id)
    if body.decision == "return" and not (body.comments and body.comments.strip()):
        raise UnprocessableContent(
            "say what to change when returning a plan",
            errors=[FieldError(pointer="/body/comments", detail="required when returning")],
        )
    await transition(session, who, pursuit, f"{body.decision}_plan", note=body.comments)
    plan = await session.get(LearningPlan, pursuit.id)
    assert plan is not None
    plan.status = "approved" if body.decision == "approve" else "returned"
    plan.decided_at = utcnow()
    plan.decided_by = who.subject
    plan.comments = body.comments
    await session.flush()
    return pursuit
