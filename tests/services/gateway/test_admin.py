"""The gateway's admin API: tenant isolation (404 across tenants), secrets shown once, audit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from services.gateway.deps import gateway_state
from services.gateway.models import Tenant
from services.gateway.seed import seed_demo
from shared.auth import scopes_for_roles
from tests.conftest import AppFactory
from tests.support import asgi_client


@dataclass
class Admin:
    client: httpx.AsyncClient
    demo: str
    other: str

    def as_(self, role: str, tenant: str) -> dict[str, str]:
        roles = frozenset({role})
        token = gateway_state(self.client._transport.app).tokens.issue(  # type: ignore[attr-defined]
            subject=f"user:{role}", tenant_id=tenant, kind="user", scopes=scopes_for_roles(roles), roles=roles
        )
        return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def admin(make_app: AppFactory) -> AsyncIterator[Admin]:
    app = await make_app("gateway")
    async with gateway_state(app).sessionmaker() as session:
        demo = await seed_demo(session, hasher=gateway_state(app).hasher)
        other = await session.scalar(select(Tenant).where(Tenant.slug == "other-district"))
        assert other is not None
        ids = (demo.id, other.id)
        await session.commit()
    async with asgi_client(app) as client:
        yield Admin(client=client, demo=ids[0], other=ids[1])


async def token_for(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return await client.post(
        "/oauth/token",
        content="grant_type=client_credentials",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
    )


async def test_org_units_are_isolated_by_tenant(admin: Admin, backend: str) -> None:
    c, demo_admin, other_admin = (
        admin.client,
        admin.as_("tenant_admin", admin.demo),
        admin.as_("tenant_admin", admin.other),
    )
    listed = await c.get("/v1/org-units", headers=demo_admin)
    created = await c.post("/v1/org-units", json={"name": "Washington High School"}, headers=demo_admin)
    duplicate = await c.post("/v1/org-units", json={"name": "Washington High School"}, headers=demo_admin)
    unit_id = created.json()["id"]
    mine = await c.get(f"/v1/org-units/{unit_id}", headers=demo_admin)
    theirs = await c.get(f"/v1/org-units/{unit_id}", headers=other_admin)
    missing = await c.get("/v1/org-units/no-such-id", headers=other_admin)
    other_list = await c.get("/v1/org-units", headers=other_admin)
    assert [u["name"] for u in listed.json()] == ["Lincoln Elementary School", "Roosevelt Middle School"]
    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert mine.json()["name"] == "Washington High School"
    assert theirs.status_code == 404
    assert theirs.json() | {"instance": None, "request_id": None, "detail": None} == missing.json() | {
        "instance": None,
        "request_id": None,
        "detail": None,
    }, "another tenant's id is indistinguishable from a missing one"
    assert other_list.json() == []


async def test_only_administrators_get_in(admin: Admin, backend: str) -> None:
    c = admin.client
    anonymous = await c.get("/v1/org-units")
    educator = await c.get("/v1/org-units", headers=admin.as_("educator", admin.demo))
    tenant_admin_elsewhere = await c.get(
        "/v1/api-clients", params={"tenant_id": admin.other}, headers=admin.as_("tenant_admin", admin.demo)
    )
    platform = await c.get(
        "/v1/api-clients", params={"tenant_id": admin.other}, headers=admin.as_("platform_admin", admin.demo)
    )
    denied = await c.get(
        "/v1/audit-events", params={"action": "access.forbidden"}, headers=admin.as_("tenant_admin", admin.demo)
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert educator.status_code == 403
    assert tenant_admin_elsewhere.status_code == 404
    assert [cl["client_id"] for cl in platform.json()] == ["other-lms"]
    assert [(e["actor"], e["outcome"]) for e in denied.json()["items"]] == [("user:educator", "denied")]


async def test_api_client_secrets_are_shown_once_rotated_and_revoked(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    created = await c.post(
        "/v1/api-clients",
        json={"name": "Canvas", "client_id": "canvas-lms", "scopes": ["catalog:read"]},
        headers=headers,
    )
    secret = created.json()["client_secret"]
    listed = await c.get("/v1/api-clients", headers=headers)
    first = await token_for(c, "canvas-lms", secret)
    client_id = created.json()["id"]
    rotated = await c.post(f"/v1/api-clients/{client_id}/rotate-secret", headers=headers)
    old = await token_for(c, "canvas-lms", secret)
    new = await token_for(c, "canvas-lms", rotated.json()["client_secret"])
    other_tenant = await c.post(f"/v1/api-clients/{client_id}/disable", headers=admin.as_("tenant_admin", admin.other))
    disabled = await c.post(f"/v1/api-clients/{client_id}/disable", headers=headers)
    after = await token_for(c, "canvas-lms", rotated.json()["client_secret"])
    unknown_scope = await c.post("/v1/api-clients", json={"name": "x", "scopes": ["root"]}, headers=headers)
    taken = await c.post(
        "/v1/api-clients", json={"name": "x", "client_id": "demo-lms", "scopes": ["catalog:read"]}, headers=headers
    )
    assert created.status_code == 201
    assert len(secret) >= 40
    assert all("client_secret" not in cl and secret not in str(cl) for cl in listed.json())
    assert first.status_code == 200
    assert first.json()["scope"] == "catalog:read"
    assert (old.status_code, new.status_code) == (401, 200)
    assert other_tenant.status_code == 404
    assert disabled.json()["enabled"] is False
    assert after.status_code == 401
    assert unknown_scope.status_code == 422
    assert unknown_scope.json()["errors"] == [{"pointer": "/body/scopes", "detail": "unknown scope 'root'"}]
    assert taken.status_code == 409


async def test_audit_log_filters_and_pages_with_a_cursor(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    for name in ("A School", "B School", "C School"):
        await c.post("/v1/org-units", json={"name": name}, headers=headers)
    first = (await c.get("/v1/audit-events", params={"action": "org_unit.create", "limit": 2}, headers=headers)).json()
    second = (
        await c.get(
            "/v1/audit-events",
            params={"action": "org_unit.create", "limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        )
    ).json()
    naive = await c.get("/v1/audit-events", params={"since": "2026-01-01T00:00:00"}, headers=headers)
    bad_cursor = await c.get("/v1/audit-events", params={"cursor": "bm9wZQ=="}, headers=headers)
    elsewhere = (await c.get("/v1/audit-events", headers=admin.as_("tenant_admin", admin.other))).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    assert len(set(ids)) == 3
    assert all(e["actor"] == "user:tenant_admin" and e["outcome"] == "success" for e in first["items"])
    assert naive.status_code == 422
    assert bad_cursor.status_code == 400
    assert all(e["action"] != "org_unit.create" for e in elsewhere["items"])


async def test_nul_characters_are_refused_alike_on_every_backend(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    in_body = await c.post("/v1/org-units", json={"name": "Bad\u0000School"}, headers=headers)
    in_query = await c.get("/v1/api-clients", params={"tenant_id": "\u0000"}, headers=headers)
    in_path = await c.get("/v1/org-units/a%00b", headers=headers)
    still_works = await c.post("/v1/org-units", json={"name": "Good School"}, headers=headers)
    assert in_body.status_code == 422
    assert in_body.json()["detail"] == "text must not contain NUL characters"
    assert (in_query.status_code, in_path.status_code) == (400, 400)
    assert in_query.headers["content-type"] == "application/problem+json"
    assert still_works.status_code == 201, "nothing half-written blocks the next request"


async def test_users_and_roles_are_managed_within_the_tenant(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    units = (await c.get("/v1/org-units", headers=headers)).json()
    created = await c.post(
        "/v1/users",
        json={
            "email": "  New.Teacher@Demo.Test ",
            "display_name": "New Teacher",
            "org_unit_id": units[0]["id"],
            "state_educator_id": "SE-1234",
            "roles": ["educator"],
            "password": "a long enough passphrase",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    duplicate = await c.post(
        "/v1/users", json={"email": "new.teacher@demo.test", "display_name": "Again"}, headers=headers
    )
    foreign_unit = await c.post(
        "/v1/users",
        json={"email": "x@demo.test", "display_name": "X", "org_unit_id": "not-ours"},
        headers=headers,
    )
    escalate = await c.post(f"/v1/users/{user_id}/roles", json={"role": "platform_admin"}, headers=headers)
    granted = await c.post(f"/v1/users/{user_id}/roles", json={"role": "assessor"}, headers=headers)
    withdrawn = await c.delete(f"/v1/users/{user_id}/roles/educator", headers=headers)
    elsewhere = await c.get(f"/v1/users/{user_id}", headers=admin.as_("tenant_admin", admin.other))
    signed_in = await c.post(
        "/v1/auth/login",
        json={"tenant": "demo-usd", "email": "new.teacher@demo.test", "password": "a long enough passphrase"},
    )
    audit = (await c.get("/v1/audit-events", params={"action": "user.create"}, headers=headers)).json()
    assert created.status_code == 201
    assert created.json()["email"] == "new.teacher@demo.test"
    assert created.json()["roles"] == ["educator"]
    assert duplicate.status_code == 409
    assert foreign_unit.status_code == 404
    assert escalate.status_code == 403
    assert granted.json()["roles"] == ["assessor", "educator"]
    assert withdrawn.json()["roles"] == ["assessor"]
    assert elsewhere.status_code == 404
    assert signed_in.status_code == 200
    assert "SE-1234" not in str(audit), "no personal data in the audit log"
    assert "new.teacher" not in str(audit)


async def test_tenants_are_for_operators(admin: Admin, backend: str) -> None:
    c = admin.client
    denied = await c.get("/v1/tenants", headers=admin.as_("tenant_admin", admin.demo))
    operator = admin.as_("platform_admin", admin.demo)
    created = await c.post("/v1/tenants", json={"slug": "third-district", "name": "Third District"}, headers=operator)
    taken = await c.post("/v1/tenants", json={"slug": "demo-usd", "name": "Copy"}, headers=operator)
    listed = await c.get("/v1/tenants", headers=operator)
    assert denied.status_code == 403
    assert created.status_code == 201
    assert taken.status_code == 409
    assert [t["slug"] for t in listed.json()] == ["demo-usd", "other-district", "third-district"]


async def test_people_are_edited_and_disabling_signs_them_out(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    people = {u["email"]: u for u in (await c.get("/v1/users", headers=headers)).json()}
    educator = people["educator@demo.test"]
    signed_in = await c.post(
        "/v1/auth/login", json={"tenant": "demo-usd", "email": "educator@demo.test", "password": "practicum-demo"}
    )
    refresh = signed_in.json()["refresh_token"]
    units = (await c.get("/v1/org-units", headers=headers)).json()
    moved = await c.patch(
        f"/v1/users/{educator['id']}",
        json={"display_name": "Ed U. Cator", "org_unit_id": units[1]["id"], "sis_id": None},
        headers=headers,
    )
    taken = await c.patch(f"/v1/users/{educator['id']}", json={"email": "ASSESSOR@demo.test"}, headers=headers)
    nulled = await c.patch(f"/v1/users/{educator['id']}", json={"display_name": None}, headers=headers)
    elsewhere = await c.patch(
        f"/v1/users/{educator['id']}", json={"enabled": False}, headers=admin.as_("tenant_admin", admin.other)
    )
    disabled = await c.patch(f"/v1/users/{educator['id']}", json={"enabled": False}, headers=headers)
    refreshed = await c.post("/v1/auth/refresh", json={"refresh_token": refresh})
    again = await c.post(
        "/v1/auth/login", json={"tenant": "demo-usd", "email": "educator@demo.test", "password": "practicum-demo"}
    )
    audit = (await c.get("/v1/audit-events", params={"action": "user.update"}, headers=headers)).json()
    assert signed_in.status_code == 200
    assert moved.status_code == 200, moved.text
    assert (moved.json()["display_name"], moved.json()["org_unit_id"]) == ("Ed U. Cator", units[1]["id"])
    assert taken.status_code == 409
    assert nulled.status_code == 422
    assert elsewhere.status_code == 404
    assert disabled.json()["enabled"] is False
    assert refreshed.status_code == 401, "a disabled person's refresh tokens stop working at once"
    assert again.status_code == 401
    assert [e["detail"]["fields"] for e in audit["items"]] == [["enabled"], ["display_name", "org_unit_id", "sis_id"]]
    assert "Ed U. Cator" not in str(audit), "which fields changed, never their values"


async def test_org_units_are_renamed_and_removed_without_losing_people(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    units = {u["name"]: u["id"] for u in (await c.get("/v1/org-units", headers=headers)).json()}
    lincoln = units["Lincoln Elementary School"]
    person = await c.post(
        "/v1/users", json={"email": "p@demo.test", "display_name": "P", "org_unit_id": lincoln}, headers=headers
    )
    clash = await c.patch(f"/v1/org-units/{lincoln}", json={"name": "Roosevelt Middle School"}, headers=headers)
    renamed = await c.patch(f"/v1/org-units/{lincoln}", json={"name": "Lincoln K-8"}, headers=headers)
    foreign = await c.delete(f"/v1/org-units/{lincoln}", headers=admin.as_("tenant_admin", admin.other))
    removed = await c.delete(f"/v1/org-units/{lincoln}", headers=headers)
    gone = await c.get(f"/v1/org-units/{lincoln}", headers=headers)
    kept = await c.get(f"/v1/users/{person.json()['id']}", headers=headers)
    assert clash.status_code == 409
    assert renamed.json()["name"] == "Lincoln K-8"
    assert foreign.status_code == 404
    assert removed.status_code == 204
    assert gone.status_code == 404
    assert kept.status_code == 200
    assert kept.json()["org_unit_id"] is None


async def test_api_client_scopes_are_edited_and_take_effect_on_the_next_token(admin: Admin, backend: str) -> None:
    c, headers = admin.client, admin.as_("tenant_admin", admin.demo)
    created = (
        await c.post("/v1/api-clients", json={"name": "HR sync", "scopes": ["records:read"]}, headers=headers)
    ).json()
    before = await token_for(c, created["client_id"], created["client_secret"])
    unknown = await c.patch(f"/v1/api-clients/{created['id']}", json={"scopes": ["nope"]}, headers=headers)
    edited = await c.patch(
        f"/v1/api-clients/{created['id']}", json={"scopes": ["records:read", "credentials:read"]}, headers=headers
    )
    after = await token_for(c, created["client_id"], created["client_secret"])
    disabled = await c.patch(f"/v1/api-clients/{created['id']}", json={"enabled": False}, headers=headers)
    refused = await token_for(c, created["client_id"], created["client_secret"])
    enabled = await c.patch(f"/v1/api-clients/{created['id']}", json={"enabled": True}, headers=headers)
    foreign = await c.patch(
        f"/v1/api-clients/{created['id']}", json={"name": "x"}, headers=admin.as_("tenant_admin", admin.other)
    )
    assert before.json()["scope"] == "records:read"
    assert unknown.status_code == 422
    assert edited.json()["scopes"] == ["credentials:read", "records:read"]
    assert after.json()["scope"] == "credentials:read records:read"
    assert disabled.json()["enabled"] is False
    assert refused.status_code == 401
    assert enabled.json()["enabled"] is True
    assert foreign.status_code == 404


async def test_operators_rename_districts_and_see_denials_tied_to_no_tenant(admin: Admin, backend: str) -> None:
    c, operator = admin.client, admin.as_("platform_admin", admin.demo)
    renamed = await c.patch(f"/v1/tenants/{admin.other}", json={"name": "Other Unified"}, headers=operator)
    by_tenant_admin = await c.patch(
        f"/v1/tenants/{admin.demo}", json={"name": "Mine"}, headers=admin.as_("tenant_admin", admin.demo)
    )
    missing = await c.patch("/v1/tenants/nope", json={"name": "x"}, headers=operator)
    await c.get("/v1/org-units", headers={"authorization": "Bearer not-a-token"})
    unscoped = await c.get("/v1/audit-events", params={"unscoped": "true"}, headers=operator)
    not_for_tenant_admins = await c.get(
        "/v1/audit-events", params={"unscoped": "true"}, headers=admin.as_("tenant_admin", admin.demo)
    )
    assert renamed.json()["name"] == "Other Unified"
    assert by_tenant_admin.status_code == 403
    assert missing.status_code == 404
    assert [(e["action"], e["actor"]) for e in unscoped.json()["items"]] == [("access.unauthenticated", "anonymous")]
    assert not_for_tenant_admins.status_code == 403
