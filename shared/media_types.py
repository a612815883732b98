"""A body in the wrong media type is a 415 naming the one the operation takes.

FastAPI parses a body as JSON only when it is declared ``application/json`` (or ``+json``); any
other type reaches validation as bytes and comes back as a puzzling 422 ("Input should be a valid
dictionary"), and a form route given JSON sees an empty form (422, every field missing). This
dependency, added to every router by ``shared.app``, answers those with a 415 first. Routes that
read their own body (no body parameter: image uploads, ``/v1/verify``, bulk jobs, the OAuth token
endpoint) check their own types and are left alone.
"""

from __future__ import annotations

import email.message

from fastapi import Request
from fastapi.params import File, Form
from fastapi.routing import APIRoute

from shared.problems import UnsupportedMediaType

JSON = "application/json"
FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def _media_type(header: str) -> str:
    message = email.message.Message()
    message["content-type"] = header
    return message.get_content_type()  # lower-cased, parameters dropped; "text/plain" when unparsable


def _accepted(route: APIRoute) -> tuple[str, ...] | None:
    """The media types the route's body may come in; None when the route takes no declared body."""
    field = route.body_field
    if field is None:
        return None
    if isinstance(field.field_info, Form):
        # Both form encodings parse the same; a route taking a file names multipart first (a
        # file can only come that way, the text fields of the same route either way).
        if any(isinstance(param.field_info, File) for param in route.dependant.body_params):
            return (MULTIPART, FORM_URLENCODED)
        return (FORM_URLENCODED, MULTIPART)
    return (JSON,)


def _takes(accepted: tuple[str, ...], media_type: str) -> bool:
    if media_type in accepted:
        return True
    # FastAPI reads any application/*+json as JSON too.
    return JSON in accepted and media_type.startswith("application/") and media_type.endswith("+json")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


async def body_media_type(request: Request) -> None:
    """415 when a body comes in a media type the matched route's body parameter cannot take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _has_body(request):
        return
    accepted = _accepted(route)
    if accepted is None:
        return
    header = request.headers.get("content-type")
    media_type = _media_type(header) if header else None
    if media_type is not None and _takes(accepted, media_type):
        return
    wanted = " or ".join(accepted)
    got = f"not {media_type}" if media_type else "and say so in Content-Type"
    raise UnsupportedMediaType(f"send the body as {wanted}, {got}", accepted=list(accepted))
