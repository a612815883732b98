"""RFC 9457 problem details: the one error format of every Practicum response.

Domain code raises a ``Problem`` subclass; ``install_problem_handlers`` renders it as
``application/problem+json``. Validation errors become 422 with one JSON pointer per bad field,
unknown routes 404, wrong methods 405; anything unexpected is logged with the request id by the
request middleware and answered as an opaque 500 (see shared/middleware.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://practicum.dev/problems/"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    pointer: str = Field(description="RFC 6901 JSON pointer into the request: /body/..., /query/...")
    detail: str


class ProblemDocument(BaseModel):
    """The wire shape of a problem, as documented in every service's OpenAPI."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Base of every error a client may see. Subclasses fix ``status``, ``title`` and ``slug``."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    slug: ClassVar[str | None] = None

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        return TYPE_BASE + self.slug if self.slug else "about:blank"

    def headers(self) -> dict[str, str]:
        return {}

    def to_dict(self, *, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if request_id:
            body["request_id"] = request_id
        body.update(self.extensions)
        return body


class BadRequest(Problem):
    status = 400
    title = "Bad Request"
    slug = "bad-request"


class NotFound(Problem):
    status = 404
    title = "Not Found"
    slug = "not-found"


class MethodNotAllowed(Problem):
    status = 405
    title = "Method Not Allowed"
    slug = "method-not-allowed"


class Conflict(Problem):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PayloadTooLarge(Problem):
    status = 413
    title = "Payload Too Large"
    slug = "payload-too-large"


class UnsupportedMediaType(Problem):
    """415: the body is not in a media type the operation takes; ``accepted`` lists those it does."""

    status = 415
    title = "Unsupported Media Type"
    slug = "unsupported-media-type"


class UnprocessableContent(Problem):
    """422: the request was well-formed HTTP but its content is invalid; ``errors`` says where."""

    status = 422
    title = "Unprocessable Content"
    slug = "validation"

    def __init__(self, detail: str | None = None, *, errors: Sequence[FieldError], **ext: Any) -> None:
        super().__init__(detail, errors=[e.model_dump() for e in errors], **ext)


class InternalError(Problem):
    status = 500
    title = "Internal Server Error"
    slug = "internal"


class BadGateway(Problem):
    status = 502
    title = "Bad Gateway"
    slug = "bad-gateway"


class ServiceUnavailable(Problem):
    status = 503
    title = "Service Unavailable"
    slug = "unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None, **ext: Any) -> None:
        super().__init__(detail, **ext)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class GatewayTimeout(Problem):
    status = 504
    title = "Gateway Timeout"
    slug = "timeout"


class _HTTPStatusProblem(Problem):
    """A problem built from a bare status code raised by Starlette/FastAPI internals."""

    def __init__(self, status: int, detail: str | None) -> None:
        super().__init__(detail)
        self._status = status

    @property
    def type(self) -> str:
        return "about:blank"

    def to_dict(self, *, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        from http import HTTPStatus

        body = super().to_dict(instance=instance, request_id=request_id)
        body["status"] = self._status
        try:
            body["title"] = HTTPStatus(self._status).phrase
        except ValueError:
            body["title"] = "Error"
        return body


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer from a pydantic/FastAPI error location."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped)


def errors_from_validation(errors: Sequence[Any]) -> list[FieldError]:
    result: list[FieldError] = []
    for err in errors:
        loc = list(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "json_invalid":
            # The body is not JSON at all: point at the body, say where parsing stopped.
            ctx = err.get("ctx") or {}
            where = f" ({ctx['error']})" if ctx.get("error") else ""
            result.append(FieldError(pointer="/body", detail=f"request body is not valid JSON{where}"))
            continue
        result.append(FieldError(pointer=json_pointer(loc), detail=str(err.get("msg", "invalid value"))))
    return result


def problem_response(problem: Problem, request: Request | None = None, *, request_id: str | None = None) -> Response:
    instance = request.url.path if request is not None else None
    if request is not None and request_id is None:
        request_id = getattr(request.state, "request_id", None)
    body = problem.to_dict(instance=instance, request_id=request_id)
    return Response(
        content=json.dumps(body, separators=(",", ":"), default=str),
        status_code=int(body["status"]),
        media_type=PROBLEM_JSON,
        headers=problem.headers(),
    )


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = errors_from_validation(exc.errors())
    count = len(errors)
    detail = f"{count} invalid field{'s' if count != 1 else ''}: " + ", ".join(e.pointer for e in errors)
    return problem_response(UnprocessableContent(detail, errors=errors), request)


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        problem: Problem = NotFound(exc.detail if exc.detail != "Not Found" else f"no route for {request.url.path}")
    elif exc.status_code == 405:
        problem = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
    else:
        problem = _HTTPStatusProblem(exc.status_code, str(exc.detail) if exc.detail else None)
    response = problem_response(problem, request)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405 and (allowed := allowed_methods(request)):
        # Starlette names the methods of the first route that matched the path; RFC 9110 wants
        # every method the resource supports, which several routes may share.
        response.headers["Allow"] = ", ".join(allowed)
    return response


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path: each method is tried
    against the app's routes the way the router would (``BaseRoute.matches``), so routes that
    sit in included routers count too."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


class NulInText(ValueError):
    """Text bound for the database holds a NUL character (see shared.db)."""


async def _handle_database_text(request: Request, exc: Exception) -> Response:
    """PostgreSQL refuses NUL characters in text, and the SQLite engine refuses them the same way
    (shared.db): such input is the client's mistake, not a server error. Any other driver error
    is a bug: re-raised, so it is logged and answered as an opaque 500."""
    message = str(getattr(exc, "orig", exc))
    orig_name = type(getattr(exc, "orig", exc)).__name__
    if isinstance(exc, NulInText) or "0x00" in message or "CharacterNotInRepertoire" in orig_name:
        problem = UnprocessableContent(
            "text must not contain NUL characters",
            errors=[FieldError(pointer="/body", detail="a text value contains a NUL (\\u0000) character")],
        )
        return problem_response(problem, request)
    raise exc


def install_problem_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(DBAPIError, _handle_database_text)
    app.add_exception_handler(NulInText, _handle_database_text)
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)


_LOCATION = {
    "description": "The created resource's path (`/v1/...`)",
    "schema": {"type": "string", "pattern": "^/"},
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make an OpenAPI document tell the truth about errors (and about what every 201 carries).

    FastAPI documents 422 as ``application/json`` ``HTTPValidationError``; Practicum answers
    ``application/problem+json``. Every operation gets the Problem schema for 422 (when it has
    inputs), 415 (when it takes a body) and its documented 4xx/5xx, plus a ``default`` problem
    response; every 201 says it carries ``Location``.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = components["Problem"].pop("$defs", {})
    components.update(defs)
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem_content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            # OAuth endpoints answer RFC 6749 errors, documented by the route itself.
            own_errors = bool(operation.get("x-practicum-oauth"))
            for code, response in list(responses.items()):
                if (code == "422" or code[:1] in {"4", "5"}) and not own_errors:
                    # A type the route declares itself (the badge page's HTML 404) stays; the
                    # plain JSON FastAPI assumes is a problem.
                    declared = {k: v for k, v in response.get("content", {}).items() if k != "application/json"}
                    response["content"] = {**declared, **problem_content}
            if operation.get("requestBody") and not own_errors:
                responses.setdefault(
                    "415",
                    {"description": "The body is not in a media type this operation takes", "content": problem_content},
                )
            if "201" in responses:
                responses["201"].setdefault("headers", {}).setdefault("Location", _LOCATION)
            if (operation.get("parameters") or operation.get("requestBody")) and not own_errors:
                responses.setdefault(
                    "422", {"description": "Invalid input; `errors` lists each field", "content": problem_content}
                )
            responses.setdefault("default", {"description": "Problem details (RFC 9457)", "content": problem_content})
    return schema
