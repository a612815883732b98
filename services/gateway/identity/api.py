"""OAuth 2.0 endpoints of the gateway (the token endpoint, JWKS and server metadata) and
``GET /v1/me``, who a token names.

Errors here follow RFC 6749 §5.2 (``{"error": ..., "error_description": ...}``, plain JSON), not
RFC 9457: OAuth clients parse them that way.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.gateway.audit import service as audit_log
from services.gateway.deps import HasherDep, TokensDep, bearer_claims, per_address
from services.gateway.identity import service
from services.gateway.schemas import JWKSet, Me, OAuthError, TokenResponse
from shared.auth import SCOPES
from shared.problems import PROBLEM_JSON, ProblemDocument
from shared.state import SessionDep

router = APIRouter(tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FORM_BYTES = 8192


def oauth_error(error: str, description: str, *, status: int = 400, basic: bool = False) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="practicum"' if basic else 'Bearer realm="practicum"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


_FORM = {
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    "scope": {"type": "string", "description": "space-separated subset of the client's scopes"},
                    "client_id": {"type": "string", "description": "client_secret_post only"},
                    "client_secret": {"type": "string", "description": "client_secret_post only"},
                },
            }
        }
    },
    "required": True,
}


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="OAuth 2.0 token endpoint (client credentials; client_secret_basic or client_secret_post)",
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthError, "description": "Client authentication failed"},
        429: {
            "model": ProblemDocument,
            "content": {PROBLEM_JSON: {}},
            "description": "Too many token requests from this address (Retry-After)",
        },
    },
    openapi_extra={"requestBody": _FORM, "x-practicum-oauth": True},
    dependencies=[Depends(per_address("token requests"))],
)
async def token(request: Request, session: SessionDep, tokens: TokensDep, hasher: HasherDep) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > _MAX_FORM_BYTES:
        return oauth_error("invalid_request", "the request body is too large")
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return oauth_error("invalid_request", "the body is not valid form data")
    if any(len(values) > 1 for values in form.values()):
        return oauth_error("invalid_request", "a parameter was given more than once")
    params = {key: values[0] for key, values in form.items()}

    grant_type = params.get("grant_type")
    if not grant_type:
        return oauth_error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return oauth_error("unsupported_grant_type", f"grant_type {grant_type!r} is not supported here")

    header = request.headers.get("authorization")
    basic = _basic_credentials(header) if header else None
    if header and basic is None:
        return oauth_error("invalid_client", "the Authorization header is not valid HTTP Basic", status=401, basic=True)
    posted = (params.get("client_id"), params.get("client_secret"))
    if basic and (posted[0] or posted[1]):
        return oauth_error("invalid_request", "use one client authentication method, not two")
    client_id, secret = basic or posted
    if not client_id or not secret:
        return oauth_error("invalid_client", "client authentication is required", status=401, basic=True)

    client = await service.authenticate_client(session, hasher, client_id=client_id, secret=secret)
    if client is None:
        await audit_log.record(
            session,
            action="token.issue",
            outcome="denied",
            actor=f"client:{client_id[:64]}",
            detail={"reason": "invalid_client"},
        )
        return oauth_error(
            "invalid_client", "unknown client, wrong secret, or disabled client", status=401, basic=basic is not None
        )
    granted = service.within(params.get("scope"), client.scopes)
    if granted is None:
        await audit_log.record(
            session,
            action="token.issue",
            outcome="denied",
            actor=f"client:{client.client_id}",
            tenant_id=client.tenant_id,
            detail={"reason": "invalid_scope"},
        )
        return oauth_error("invalid_scope", "the requested scope exceeds what this client may hold")
    access_token = tokens.issue(
        subject=f"client:{client.client_id}",
        tenant_id=client.tenant_id,
        kind="client",
        scopes=granted,
        client_id=client.client_id,
    )
    await audit_log.record(
        session,
        action="token.issue",
        outcome="success",
        actor=f"client:{client.client_id}",
        tenant_id=client.tenant_id,
        detail={"scope": sorted(granted)},
    )
    body = TokenResponse(access_token=access_token, expires_in=tokens.access_ttl_s, scope=" ".join(sorted(granted)))
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


@router.get("/.well-known/jwks.json", response_model=JWKSet, summary="Public keys that verify Practicum tokens")
async def jwks(tokens: TokensDep) -> JWKSet:
    return JWKSet.model_validate(tokens.jwks())


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="RFC 8414 authorization server metadata",
    response_model=dict[str, Any],
)
async def metadata(tokens: TokensDep) -> dict[str, Any]:
    issuer: str = tokens.issuer
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": [],
    }


@router.get(
    "/v1/me",
    response_model=Me,
    tags=["identity"],
    summary="Who am I: the caller a bearer token names, its tenant, roles and scopes (any valid token)",
    responses={401: {"model": ProblemDocument, "description": "No token, or one that is not valid (any more)"}},
)
async def me(request: Request, session: SessionDep) -> Me:
    return await service.me(session, bearer_claims(request))
