"""Liveness and readiness: ``/healthz`` says the process runs, ``/readyz`` that it can serve.

Ready means the database answers within the configured timeout and its schema is at the
revision the code expects. Otherwise 503 problem naming the reason, so an orchestrator (and the
gateway's aggregated ``/readyz``) can tell a down database from a missing migration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import READ_ONLY
from shared.migrations import current_revisions, head_revisions
from shared.problems import PROBLEM_JSON, ProblemDocument, ServiceUnavailable


class Liveness(BaseModel):
    status: str = "ok"
    service: str


class Readiness(BaseModel):
    status: str
    service: str
    checks: dict[str, str]


ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]


def database_check(*, engine: AsyncEngine, service: str, schema: str, timeout_s: float) -> ReadinessCheck:
    """Checks DB reachability, then that the migrations recorded there are the code's heads."""

    async def check() -> dict[str, str]:
        try:
            async with asyncio.timeout(timeout_s):
                async with engine.connect() as conn:
                    await conn.execution_options(**READ_ONLY)
                    await conn.execute(text("SELECT 1"))
                current = await current_revisions(engine, schema)
        except TimeoutError:
            return {"database": f"unreachable: no answer within {timeout_s:g}s"}
        except Exception as exc:  # noqa: BLE001 - any driver error means "not ready", never a 500
            return {"database": f"unreachable: {type(exc).__name__}"}
        heads = head_revisions(service)
        if current is None:
            migrations = f"not migrated: expected {', '.join(sorted(heads))}; run `make migrate`"
        elif current != heads:
            migrations = (
                f"outdated: database at {', '.join(sorted(current)) or 'base'}, "
                f"code expects {', '.join(sorted(heads))}; run `make migrate`"
            )
        else:
            migrations = "ok"
        return {"database": "ok", "migrations": migrations}

    return check


def health_router(*, service: str, check: ReadinessCheck) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Liveness, summary="Liveness: the process is running")
    async def healthz() -> Liveness:
        return Liveness(service=service)

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Readiness: database reachable and migrations at head",
        responses={503: {"model": ProblemDocument, "content": {PROBLEM_JSON: {}}, "description": "Not ready"}},
    )
    async def readyz() -> Readiness:
        checks = await check()
        failing = {name: state for name, state in checks.items() if state != "ok"}
        if failing:
            reasons = "; ".join(f"{name} {state}" for name, state in failing.items())
            raise ServiceUnavailable(f"{service} is not ready: {reasons}", service=service, checks=checks)
        return Readiness(status="ready", service=service, checks=checks)

    return router
