"""The common frame of a service app: lifespan, engine, session dependency, problems, health.

Each service's ``create_app`` describes what is its own (name, models, routers, event
handlers) and lets ``build_service_app`` assemble the rest the same way everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import PublicKeyRing, authenticated
from shared.db import create_engine, create_sessionmaker
from shared.docs import INTERNAL_SECURITY, declare_security, mount_docs
from shared.health import database_check, health_router
from shared.logging import configure_logging
from shared.media_types import body_media_type
from shared.middleware import BodyLimitMiddleware, RequestContextMiddleware
from shared.outbox import (
    DispatchPolicy,
    EventHandler,
    HttpEventSink,
    InboxMixin,
    OutboxDispatcher,
    OutboxMixin,
    inbox_router,
)
from shared.problems import document_problems, install_problem_handlers
from shared.settings import Environment, ServiceSettings
from shared.state import ServiceState, attach_state, get_session

VERSION = "0.1.0"

# Public in every domain service: liveness, readiness, and the inbox other services deliver to
# on the internal network (the gateway never routes /internal/*).
STANDARD_PUBLIC_ROUTES = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/internal/events")})

logger = logging.getLogger("practicum.app")


@dataclass
class ServiceSpec:
    """What makes one service different from the others."""

    name: str
    title: str
    description: str
    outbox_model: type[OutboxMixin]
    inbox_model: type[InboxMixin]
    routers: Sequence[APIRouter] = ()
    public_routers: Sequence[APIRouter] = ()
    event_handlers: Mapping[str, EventHandler] = field(default_factory=dict)
    # Handlers that need the app (its settings, keys, clients): made once the app exists.
    event_handler_factory: Callable[[FastAPI], Mapping[str, EventHandler]] | None = None
    # The gateway replaces the standard readiness and OpenAPI with aggregated ones.
    standard_health: bool = True
    standard_openapi: bool = True
    # The event inbox is for other services on the internal network; the gateway, being the
    # public door, must not expose one.
    event_inbox: bool = True
    # The gateway subclasses FastAPI to send proxied requests around the framework.
    app_class: type[FastAPI] = FastAPI
    # Extra start-up/shut-down work (the gateway's upstream connection pools).
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]] | None = None


def build_service_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Assemble a service. Tests pass a ``sessionmaker`` bound to a rolled-back transaction."""
    if settings.environment is not Environment.test:
        configure_logging(service=spec.name, level=settings.log_level, json_lines=settings.log_json)

    owns_engine = engine is None
    engine = engine or create_engine(
        settings.database_url, schema=settings.db_schema, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    maker = sessionmaker or create_sessionmaker(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        sink = HttpEventSink(settings.outbox_subscribers, timeout=settings.outbox_delivery_timeout_s)
        if settings.outbox_enabled:
            dispatcher = OutboxDispatcher(
                sessionmaker=maker,
                model=spec.outbox_model,
                deliver=sink,
                policy=_policy(settings),
                name=f"{spec.name}-{id(app):x}",
            )
            task = asyncio.create_task(dispatcher.run_forever(stop), name=f"{spec.name}-outbox")
        try:
            if spec.lifespan is not None:
                async with spec.lifespan(app):
                    yield
            else:
                yield
        finally:
            stop.set()
            if task is not None:
                # The dispatcher stops between events; a delivery in flight gets a grace period.
                try:
                    await asyncio.wait_for(task, timeout=settings.outbox_delivery_timeout_s + 1)
                except TimeoutError:
                    logger.warning("outbox dispatcher did not stop in time; its leases will expire")
            await sink.aclose()
            if owns_engine:
                await engine.dispose()

    app = spec.app_class(
        title=spec.title,
        description=spec.description,
        version=VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if spec.standard_openapi else None,
    )
    state = ServiceState(
        settings=settings,
        key_ring=PublicKeyRing(settings.keys_dir),
        engine=engine,
        sessionmaker=maker,
        database_check=database_check(
            engine=engine, service=spec.name, schema=settings.db_schema, timeout_s=settings.readiness_timeout_s
        ),
    )
    attach_state(app, state)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware)
    # Everything reachable without a verified principal; each service declares its own share in
    # ``api.PUBLIC_ROUTES`` and a test holds the two equal.
    public: set[tuple[str, str]] = set()
    if spec.standard_health:
        health = health_router(service=spec.name, check=state.database_check)
        app.include_router(health)
        public |= _operations(health)
    if spec.event_inbox:
        handlers = {**spec.event_handlers, **(spec.event_handler_factory(app) if spec.event_handler_factory else {})}
        inbox = inbox_router(inbox_model=spec.inbox_model, handlers=handlers, session_dependency=get_session)
        app.include_router(inbox)
        public |= _operations(inbox)
    # Protected by default: every domain route needs a verified principal; public routes are
    # the ones a service lists in ``public_routers`` (and health, docs, the internal inbox).
    # A body in a media type the route cannot take is a 415 (after authentication, for the
    # protected routes), not a puzzling 422.
    for router in spec.routers:
        app.include_router(router, dependencies=[Depends(authenticated), Depends(body_media_type)])
    for router in spec.public_routers:
        app.include_router(router, dependencies=[Depends(body_media_type)])
        public |= _operations(router)
    state.public_routes = frozenset(public)
    app.openapi = _problem_openapi(app, public=state.public_routes)  # type: ignore[method-assign]
    if spec.standard_openapi:
        mount_docs(app)
    return app


def _operations(router: APIRouter) -> set[tuple[str, str]]:
    return {
        (method, route.path) for route in router.routes if isinstance(route, APIRoute) for method in route.methods or ()
    }


def _policy(settings: ServiceSettings) -> DispatchPolicy:
    return DispatchPolicy(
        batch_size=settings.outbox_batch_size,
        max_attempts=settings.outbox_max_attempts,
        backoff_base_s=settings.outbox_backoff_base_s,
        backoff_max_s=settings.outbox_backoff_max_s,
        lease_s=settings.outbox_lease_s,
        poll_interval_s=settings.outbox_poll_interval_s,
        delivery_timeout_s=settings.outbox_delivery_timeout_s,
    )


def _problem_openapi(app: FastAPI, *, public: frozenset[tuple[str, str]]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            # Behind the gateway a service takes its caller from the internal token the gateway
            # sends; the gateway's combined document swaps this for its OAuth 2.0 schemes.
            declare_security(schema, public=public, schemes=INTERNAL_SECURITY)
            app.openapi_schema = document_problems(schema)
        return app.openapi_schema

    return openapi
