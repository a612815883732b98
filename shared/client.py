"""Base of every service's typed client: the one way a service calls another.

One request method sets timeouts, forwards the request id and — for a call made on a caller's
behalf — the caller's internal token, validates the answer into the callee's schema, and maps
failures to typed problems: unreachable → 503, timeout → 504, a body that is not what the callee
promises → 502. A problem answered by the callee is raised as ``UpstreamProblem`` carrying its
status and body; a 401 is the callee refusing the forwarded identity, which is this deployment's
fault and not the caller's, so it becomes a 502 (docs/decisions/0013-service-to-service-calls.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.auth import IDENTITY_HEADER, Forbidden, Principal
from shared.logging import request_id_var
from shared.problems import BadGateway, GatewayTimeout, Problem, ServiceUnavailable

ModelT = TypeVar("ModelT", bound=BaseModel)


class UpstreamProblem(Problem):
    """The callee answered with a 4xx problem; its status and document are kept."""

    title = "Upstream Problem"
    slug = "upstream"

    def __init__(self, service: str, status: int, document: dict[str, Any]) -> None:
        detail = str(document.get("detail") or document.get("title") or f"{service} answered {status}")
        super().__init__(detail, service=service, upstream=document)
        self.upstream_status = status
        self.document = document

    def to_dict(self, *, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        body = super().to_dict(instance=instance, request_id=request_id)
        body["status"] = self.upstream_status
        return body


class ServiceClient:
    """Subclass per service (``CatalogClient`` …) and add typed methods that call ``request``."""

    service: str = "service"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"user-agent": f"practicum-client/{self.service}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        response_model: type[ModelT],
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        accept_statuses: frozenset[int] = frozenset(),
        on_behalf_of: Principal | None = None,
    ) -> ModelT:
        """Call the service and return its answer as ``response_model``.

        ``accept_statuses`` lets a caller read a non-2xx body that the callee documents with the
        same schema (a readiness report answered with 503, say). ``on_behalf_of`` sends the
        caller's internal token, so the callee applies its own rules (tenant, scopes) to the
        same caller; the gateway must have made that token good for the callee too.
        """
        send_headers = {"accept": "application/json"}
        request_id = request_id_var.get()
        if request_id:
            send_headers["x-request-id"] = request_id
        if on_behalf_of is not None:
            if on_behalf_of.token is None or self.service not in on_behalf_of.audiences:
                raise ServiceUnavailable(
                    f"{self.service} cannot be asked on this caller's behalf: the gateway did not delegate "
                    f"the caller's identity to it (GATEWAY_DELEGATIONS)",
                    service=self.service,
                    reason="not_delegated",
                )
            send_headers[IDENTITY_HEADER] = on_behalf_of.token
        if headers:
            send_headers.update(headers)
        try:
            response = await self._http.request(method, path, json=json, params=params, headers=send_headers)
        except httpx.ConnectTimeout as exc:
            raise ServiceUnavailable(
                f"{self.service} is unreachable (connect timeout)", service=self.service, reason="unreachable"
            ) from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(
                f"{self.service} did not answer {method} {path} in time", service=self.service
            ) from exc
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError):
                raise ServiceUnavailable(
                    f"{self.service} is unreachable", service=self.service, reason="unreachable"
                ) from exc
            raise BadGateway(
                f"{self.service} broke the connection: {type(exc).__name__}", service=self.service
            ) from exc
        ok = response.is_success or response.status_code in accept_statuses
        if not ok:
            raise self._problem_from(response)
        try:
            return response_model.model_validate_json(response.content)
        except ValidationError as exc:
            raise BadGateway(
                f"{self.service} answered {method} {path} with a body that does not match its schema",
                service=self.service,
            ) from exc

    def _problem_from(self, response: httpx.Response) -> Problem:
        status = response.status_code
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return BadGateway(f"{self.service} answered {status} without a problem document", service=self.service)
        if status == 503:
            reason = str(document.get("detail") or "not available")
            return ServiceUnavailable(reason, service=self.service, reason="not_ready")
        if status == 504:
            return GatewayTimeout(f"{self.service} timed out upstream", service=self.service)
        if status >= 500:
            return BadGateway(f"{self.service} failed with {status}", service=self.service)
        if status == 401:
            return BadGateway(f"{self.service} did not accept the forwarded identity", service=self.service)
        return UpstreamProblem(self.service, status, document)


@contextlib.contextmanager
def checked_with(
    *, callee: str, service: str, what: str, forbidden: str, unavailable: type[ServiceUnavailable], retry_after_s: int
) -> Iterator[None]:
    """Around a call that asks ``service`` (named ``callee`` in messages) on the caller's behalf
    whether ``what`` exists, before anything is kept (ADR 0013): a callee that is down, slow or
    answers nonsense is ``unavailable`` (503, nothing was saved, ``Retry-After``); its 403 means the
    caller may not read there and is a 403 starting with ``forbidden``; any other problem it
    answers is a 502."""
    try:
        yield
    except (ServiceUnavailable, GatewayTimeout, BadGateway) as exc:
        reason = exc.extensions.get("reason") or ("timeout" if isinstance(exc, GatewayTimeout) else "bad_answer")
        raise unavailable(
            f"{callee} is unavailable ({exc.detail}), so {what} could not be checked; nothing was saved — "
            "send the same request again shortly",
            service=service,
            reason=reason,
            retry_after=retry_after_s,
        ) from exc
    except UpstreamProblem as exc:
        if exc.upstream_status == 403:
            raise Forbidden(f"{forbidden}: {exc.detail}", service=service) from exc
        raise BadGateway(f"{callee} refused to check {what}: {exc.detail}", service=service) from exc
