"""require_scopes / require_roles on a bare app: 401 without identity, 403 naming what is missing."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI

from shared.auth import Principal, PublicKeyRing, require_roles, require_scopes
from shared.db import create_engine, create_sessionmaker
from shared.middleware import RequestContextMiddleware
from shared.problems import install_problem_handlers
from shared.state import ServiceState, attach_state
from tests.support import asgi_client, identity_headers, make_settings


async def _no_database() -> dict[str, str]:
    return {}


def app_for(keys_dir: Path) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    # The routes need only the key ring and the service's name; the rest of the state is inert.
    settings = make_settings("catalog", "sqlite+aiosqlite://", keys_dir.parent)
    engine = create_engine(settings.database_url, schema=settings.db_schema)
    attach_state(
        app,
        ServiceState(
            settings=settings,
            key_ring=PublicKeyRing(keys_dir),
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            database_check=_no_database,
        ),
    )

    @app.get("/write")
    async def write(principal: Principal = Depends(require_scopes("catalog:write", "catalog:read"))) -> dict[str, str]:
        return {"tenant": principal.tenant_id}

    @app.get("/review")
    async def review(principal: Principal = Depends(require_roles("assessor", "coordinator"))) -> dict[str, str]:
        return {"subject": principal.subject}

    return app


async def test_scopes_and_roles(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    both = identity_headers(
        keys, "catalog", roles=frozenset({"educator"}), scopes=frozenset({"catalog:read", "catalog:write"})
    )
    one = identity_headers(keys, "catalog", roles=frozenset({"educator"}), scopes=frozenset({"catalog:read"}))
    assessor = identity_headers(keys, "catalog", roles=frozenset({"assessor"}))
    async with asgi_client(app_for(keys)) as client:
        allowed = await client.get("/write", headers=both)
        missing = await client.get("/write", headers=one)
        anonymous = await client.get("/write")
        reviewer = await client.get("/review", headers=assessor)
        educator = await client.get("/review", headers=one)
    assert allowed.json() == {"tenant": "tenant-a"}
    assert missing.status_code == 403
    assert missing.json()["detail"] == "missing scope: catalog:write"
    assert missing.json()["required_scopes"] == ["catalog:read", "catalog:write"]
    assert anonymous.status_code == 401
    assert reviewer.json() == {"subject": "user:test"}
    assert educator.status_code == 403
    assert educator.json()["detail"] == "requires one of the roles: assessor, coordinator"
