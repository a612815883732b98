"""The shared kernel's small promises: UTC timestamps, problem rendering, JSON logs, settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.catalog.models import OutboxEvent
from services.catalog.settings import CatalogSettings
from services.gateway.settings import GatewaySettings
from shared.db import create_sessionmaker
from shared.logging import JsonFormatter, request_id_var
from shared.middleware import RequestContextMiddleware
from shared.outbox import enqueue
from shared.problems import Conflict, install_problem_handlers, json_pointer
from shared.settings import Environment, require_real_secret
from shared.state import ServiceState, state_of
from tests.conftest import AppFactory
from tests.support import asgi_client


async def test_timestamps_are_aware_utc_on_every_backend(engines: dict[str, AsyncEngine], backend: str) -> None:
    maker = create_sessionmaker(engines["catalog"])
    async with engines["catalog"].connect() as conn:
        trans = await conn.begin()
        maker.configure(bind=conn, join_transaction_mode="create_savepoint")
        async with maker() as session:
            row = await enqueue(session, OutboxEvent, event_type="test.time", source="catalog", payload={})
            local = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
            row.available_at = local
            await session.commit()
            session.expunge_all()
            loaded = await session.get(OutboxEvent, row.id)
            assert loaded is not None
            assert loaded.available_at.tzinfo is not None
            assert loaded.available_at.utcoffset() == dt.timedelta(0)
            assert loaded.available_at == local
            assert loaded.available_at.hour == 14
            loaded.available_at = dt.datetime(2026, 1, 1)  # naive: refused
            with pytest.raises(Exception, match="naive datetime"):
                await session.flush()
        await trans.rollback()


def test_json_pointer_escapes_rfc6901() -> None:
    assert json_pointer(["body", "a/b", "c~d", 0]) == "/body/a~1b/c~0d/0"


async def test_unexpected_error_is_opaque_500_logged_with_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret connection string postgres://user:pw@db")

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already published", current_state="published", allowed_actions=["retire"])

    with caplog.at_level(logging.ERROR, logger="practicum.error"):
        async with asgi_client(app) as client:
            response = await client.get("/boom", headers={"x-request-id": "req-500"})
            problem = await client.get("/conflict")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["request_id"] == "req-500"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.name == "practicum.error"]
    assert record.exc_info is not None
    assert "secret connection string" in str(record.exc_info[1])
    assert problem.status_code == 409
    assert problem.json()["current_state"] == "published"
    assert problem.json()["allowed_actions"] == ["retire"]


def test_json_log_line_carries_service_and_request_id() -> None:
    formatter = JsonFormatter("badges")
    token = request_id_var.set("rid-1")
    try:
        record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("you",)})
        record.status = 201
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["service"] == "badges"
    assert line["request_id"] == "rid-1"
    assert line["message"] == "hello you"
    assert line["status"] == 201


def test_settings_have_a_prefix_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_PORT", "9101")
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    monkeypatch.setenv("GATEWAY_ROUTES", '{"/v1/things": "badges"}')
    assert CatalogSettings().port == 9101
    gateway = GatewaySettings()
    assert gateway.port == 9100
    assert gateway.routes == {"/v1/things": "badges"}
    assert CatalogSettings().database_url.endswith("catalog.sqlite3")
    monkeypatch.setenv("GATEWAY_ROUTES", '{"/v1/things": "payroll"}')
    with pytest.raises(ValueError, match="unknown service 'payroll'"):
        GatewaySettings()
    monkeypatch.setenv("CATALOG_OUTBOX_LEASE_S", "5")
    with pytest.raises(ValueError, match="outbox_lease_s must be longer"):
        CatalogSettings()


def test_placeholder_secrets_are_refused_outside_dev() -> None:
    from pydantic import SecretStr

    require_real_secret(SecretStr("changeme"), name="KEK", environment=Environment.dev)
    with pytest.raises(ValueError, match="KEK must be set"):
        require_real_secret(SecretStr("changeme"), name="KEK", environment=Environment.production)
    require_real_secret(SecretStr("b3f1c0ffee-real"), name="KEK", environment=Environment.production)


async def test_app_factory_uses_the_given_sessionmaker(make_app: AppFactory) -> None:
    app = await make_app("badges")
    assert state_of(app, ServiceState).sessionmaker.kw["join_transaction_mode"] == "create_savepoint"


async def test_tests_run_on_uvloop_like_production() -> None:
    assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
