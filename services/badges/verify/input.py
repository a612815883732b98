"""What ``POST /v1/verify`` was given: a JSON body, or a baked badge image to unbake.

One operation takes both, chosen by ``Content-Type``: ``application/json`` (a credential, a JWS/JWT
or a hosted URL, as ``VerifyRequest``) or ``multipart/form-data`` with a ``file`` field (a baked
PNG or SVG) and an optional ``recipient`` field. The upload is read with a size limit before any
parsing (413 past it); what it carries is verified exactly as the same credential sent as JSON,
with one more check, ``baked``, saying where it was found.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.badges.errors import UnsupportedImage, UnsupportedMediaType
from services.badges.openbadges import baking
from services.badges.schemas import Check, VerifyReport, VerifyRequest
from shared.problems import BadRequest, FieldError, PayloadTooLarge, UnprocessableContent

JSON = "application/json"
MULTIPART = "multipart/form-data"
_FORM_OVERHEAD = 16 * 1024  # boundaries, part headers and the recipient field around the file
_RECIPIENT_MAX = 500

# The operation's request body, documented by hand since the route parses it itself.
OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": VerifyRequest.model_json_schema()},
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a baked badge: PNG or SVG"},
                        "recipient": {
                            "type": "string",
                            "maxLength": _RECIPIENT_MAX,
                            "description": "email, DID or URL to match",
                        },
                    },
                }
            },
        },
    }
}


async def read(request: Request, *, upload_max_bytes: int) -> tuple[VerifyRequest, baking.Baked | None]:
    """The request to verify and, for an image upload, what was unbaked from it."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == MULTIPART:
        data, recipient = await _upload(request, upload_max_bytes)
        baked = _unbake(data)
        return _from_baked(baked, recipient), baked
    if media and media != JSON and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"send a credential as {JSON} or a baked badge image as {MULTIPART}, not {media}",
            accepted=[JSON, MULTIPART],
        )
    try:
        return VerifyRequest.model_validate_json(await request.body()), None
    except ValidationError as exc:
        # The same 422 FastAPI gives for a body it validates itself: pointers under /body.
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def _too_large(size: int | str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the upload is {size} bytes; a baked badge image may be {limit}", max_bytes=limit)


async def _upload(request: Request, limit: int) -> tuple[bytes, str | None]:
    body_limit = limit + _FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise _too_large(declared, limit)  # refused before a byte of it is read

    async def capped() -> AsyncGenerator[bytes, None]:
        total = 0
        async for piece in request.stream():
            total += len(piece)
            if total > body_limit:
                raise _too_large(f"more than {body_limit}", limit)
            yield piece

    try:
        form = await MultiPartParser(request.headers, capped(), max_files=1, max_fields=4).parse()
    except MultiPartException as exc:
        raise BadRequest(f"the multipart/form-data body cannot be read: {exc.message}") from exc
    try:
        unknown = sorted(set(form.keys()) - {"file", "recipient"})
        if unknown:
            raise UnprocessableContent(
                f"unknown form fields: {', '.join(unknown)}; send 'file' and optionally 'recipient'",
                errors=[FieldError(pointer=f"/body/{name}", detail="not a field of this form") for name in unknown],
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise UnprocessableContent(
                "attach the baked badge image as the form field 'file'",
                errors=[FieldError(pointer="/body/file", detail="required: a PNG or SVG file")],
            )
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(f"more than {limit}", limit)
        recipient = form.get("recipient")
        if recipient is not None and (not isinstance(recipient, str) or len(recipient) > _RECIPIENT_MAX):
            raise UnprocessableContent(
                "recipient must be text of at most 500 characters",
                errors=[FieldError(pointer="/body/recipient", detail="text, at most 500 characters")],
            )
        return data, recipient or None
    finally:
        await form.close()


def _unbake(data: bytes) -> baking.Baked:
    try:
        return baking.unbake(data)
    except baking.NotAnImage as exc:
        accepted = ["image/png", "image/svg+xml"]
        raise UnsupportedImage(f"{exc}; upload a baked badge as PNG or SVG", accepted=accepted) from exc
    except baking.BakeError as exc:
        raise UnprocessableContent(str(exc), errors=[FieldError(pointer="/body/file", detail=str(exc))]) from exc


def _from_baked(baked: baking.Baked, recipient: str | None) -> VerifyRequest:
    text = baked.text
    try:
        if text.startswith("{"):
            return VerifyRequest(credential=json.loads(text), recipient=recipient)
        if text.startswith(("https://", "http://")):
            return VerifyRequest(url=text, recipient=recipient)  # a hosted OB 2.0 assertion
        return VerifyRequest(credential=text, recipient=recipient)  # a compact JWS / VC-JWT
    except (ValueError, RecursionError) as exc:  # not JSON, not an object, a URL too long
        detail = f"the {baked.where} does not hold a credential, a JWS or a URL"
        raise UnprocessableContent(detail, errors=[FieldError(pointer="/body/file", detail=detail)]) from exc


_NAMES = {"ob3": "Open Badges 3.0", "ob2": "Open Badges 2.0"}


def annotate(report: VerifyReport, baked: baking.Baked) -> VerifyReport:
    """The report with a first check, ``baked``: where the credential was, and whether what it is
    matches the version its keyword or element declares (never both versions in one file)."""
    found = report.format.split("-", 1)[0]
    agrees = found == baked.version or found not in _NAMES  # an unreadable credential fails elsewhere
    if agrees:
        message = f"one credential, unbaked from the {baked.where}"
    else:
        message = f"the {baked.where} is for {_NAMES[baked.version]}, but it holds an {_NAMES[found]} credential"
    check = Check(name="baked", passed=agrees, message=message)
    return report.model_copy(update={"checks": [check, *report.checks], "verified": report.verified and agrees})
