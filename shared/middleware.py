"""The outermost layer of every service: request id, access log, and the opaque 500.

Pure ASGI (not ``BaseHTTPMiddleware``) so it neither buffers streamed bodies nor costs a task
per request — the gateway runs it on its hot path too.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import request_id_var
from shared.problems import PROBLEM_JSON, BadRequest, InternalError, PayloadTooLarge

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is kept only when it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")

access_logger = logging.getLogger("practicum.access")
error_logger = logging.getLogger("practicum.error")


def new_request_id() -> str:
    # 128 random bits as 32 hex digits, like uuid4().hex but without building a UUID object:
    # this runs on every request of every service, the gateway's hot path included.
    return os.urandom(16).hex()


def _has_nul(scope: Scope) -> bool:
    raw = (scope.get("raw_path") or b"") + b"?" + scope.get("query_string", b"")
    return b"%00" in raw or b"\x00" in raw or "\x00" in scope["path"]


def request_id_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("latin-1") if _SAFE_REQUEST_ID.match(value) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_headers(scope["headers"]) or new_request_id()
        if _has_nul(scope):
            # No text in Practicum may hold NUL; PostgreSQL would refuse it deep inside a query.
            problem = BadRequest("NUL characters are not allowed in the URL", pointer="/path")
            body = json.dumps(problem.to_dict(instance=scope["path"], request_id=request_id)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", PROBLEM_JSON.encode()),
                        (b"content-length", str(len(body)).encode()),
                        (REQUEST_ID_HEADER, request_id.encode("latin-1")),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        raw_id = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, raw_id))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception("unhandled error", extra={"method": scope["method"], "path": scope["path"]})
            # Once headers are out nothing more can be said; the server closes the connection.
            if status == 0:
                await _send_opaque_500(send_with_id, scope["path"], request_id)
        finally:
            access_logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


async def _send_opaque_500(send: Any, path: str, request_id: str) -> None:
    body = InternalError("an unexpected error occurred; quote the request_id when reporting it").to_dict(
        instance=path, request_id=request_id
    )
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses a request body over ``max_bytes`` with a 413 problem, before it is read into memory.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted
    as it arrives, and whatever answer the app was about to give is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, send)
                return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(scope, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = PayloadTooLarge(f"the request body is larger than {self.max_bytes} bytes", max_bytes=self.max_bytes)
        request_id = scope.get("state", {}).get("request_id")
        body = json.dumps(problem.to_dict(instance=scope["path"], request_id=request_id)).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
