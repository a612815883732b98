"""Every 201 of the gateway's admin API says where the created resource is (``Location``)."""

from __future__ import annotations

from tests.services.gateway.test_admin import Admin, admin  # noqa: F401


async def test_each_created_resource_is_named_by_location(admin: Admin, backend: str) -> None:  # noqa: F811
    c, h = admin.client, admin.as_("tenant_admin", admin.demo)

    unit = await c.post("/v1/org-units", json={"name": "Jefferson Middle School"}, headers=h)
    assert unit.status_code == 201, unit.text
    assert unit.headers["location"] == f"/v1/org-units/{unit.json()['id']}"
    fetched = await c.get(unit.headers["location"], headers=h)
    assert (fetched.status_code, fetched.json()["id"]) == (200, unit.json()["id"])

    user = await c.post(
        "/v1/users", json={"email": "new@demo.test", "display_name": "New Teacher", "roles": ["educator"]}, headers=h
    )
    assert user.status_code == 201, user.text
    assert user.headers["location"] == f"/v1/users/{user.json()['id']}"
    fetched = await c.get(user.headers["location"], headers=h)
    assert (fetched.status_code, fetched.json()["email"]) == (200, "new@demo.test")

    client = await c.post("/v1/api-clients", json={"name": "SIS sync", "scopes": ["catalog:read"]}, headers=h)
    assert client.status_code == 201, client.text
    assert client.headers["location"] == f"/v1/api-clients/{client.json()['id']}"
    renamed = await c.patch(client.headers["location"], json={"name": "SIS nightly sync"}, headers=h)
    assert renamed.status_code == 200, "the Location is the client's address"

    operator = admin.as_("platform_admin", admin.demo)
    tenant = await c.post("/v1/tenants", json={"slug": "north-usd", "name": "North USD"}, headers=operator)
    assert tenant.status_code == 201, tenant.text
    assert tenant.headers["location"] == f"/v1/tenants/{tenant.json()['id']}"
    renamed = await c.patch(tenant.headers["location"], json={"name": "North Unified"}, headers=operator)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "North Unified")
