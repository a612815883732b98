"""The gateway's own routes about the services behind it: liveness, aggregated readiness and the
combined OpenAPI document.

Everything else that reaches the gateway is proxied (proxy/proxy.py) before these routes are
consulted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from services.gateway.deps import State
from services.gateway.proxy import service
from services.gateway.proxy.openapi import SECURITY_SCHEMES
from services.gateway.schemas import GatewayReadiness, Liveness
from shared.docs import declare_security
from shared.problems import PROBLEM_JSON, ProblemDocument, ServiceUnavailable, document_problems

router = APIRouter()


@router.get("/healthz", response_model=Liveness, tags=["health"], summary="Liveness: the gateway process runs")
async def healthz() -> Liveness:
    return Liveness(service="gateway")


@router.get(
    "/readyz",
    response_model=GatewayReadiness,
    tags=["health"],
    summary="Ready only when the gateway and every service are ready; lists each with its latency",
    responses={503: {"model": ProblemDocument, "content": {PROBLEM_JSON: {}}, "description": "Something is not ready"}},
)
async def readyz(state: State) -> GatewayReadiness:
    report = await service.readiness(clients=state.service_clients, own_check=state.database_check)
    if report.status != "ready":
        down = [s.name for s in report.services if s.status != "ready"]
        raise ServiceUnavailable(f"not ready: {', '.join(down)}", services=[s.model_dump() for s in report.services])
    return report


def gateway_openapi(request: Request, state: State) -> dict[str, Any]:
    app = request.app
    schema = get_openapi(title=app.title, version=app.version, routes=list(state.documented_routes))
    declare_security(schema, public=state.public_routes, schemes=SECURITY_SCHEMES)
    return document_problems(schema)


@router.get("/openapi.json", include_in_schema=False)
async def openapi_json(request: Request, state: State) -> JSONResponse:
    document = await state.openapi_cache.get(
        gateway_doc=gateway_openapi(request, state), clients=state.service_clients, routes=state.routes
    )
    return JSONResponse(document)
