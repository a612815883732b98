"""The verifier's route (public, no token): ``POST /v1/verify`` takes a credential as JSON or a
baked badge image, and answers a report of every check."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.badges.deps import SettingsDep, VerifierDep
from services.badges.schemas import VerifyReport
from services.badges.verify import input as verify_input
from services.badges.verify.verifier import verify
from shared.state import SessionDep

router = APIRouter()

_CORS = {"Access-Control-Allow-Origin": "*"}


@router.post(
    "/v1/verify",
    response_model=VerifyReport,
    summary=(
        "Verify an OB 3.0 credential (JSON-LD or VC-JWT) or OB 2.0 assertion (JSON, JWS or URL), "
        "sent as JSON, or a baked badge image (PNG or SVG) uploaded as multipart/form-data"
    ),
    tags=["public"],
    openapi_extra=verify_input.OPENAPI,
)
async def verify_credential(
    request: Request, session: SessionDep, settings: SettingsDep, verifier: VerifierDep
) -> VerifyReport:
    body, baked = await verify_input.read(request, upload_max_bytes=settings.verify_upload_max_bytes)
    report = await verify(session, verifier, body)
    return verify_input.annotate(report, baked) if baked is not None else report


@router.options("/v1/verify", include_in_schema=False)
async def verify_preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type",
            "Access-Control-Max-Age": "600",
        },
    )
