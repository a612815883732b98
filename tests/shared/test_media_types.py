"""A body in a media type the route does not take is a 415 problem naming the one it does, in
every service (shared.media_types, added to every router by shared.app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AppFactory
from tests.support import asgi_client, bearer, identity_headers

# One JSON route of each service, with a body that would be valid as JSON.
JSON_ROUTES = {
    "catalog": ("POST", "/v1/pathways", {"name": "p", "structure": {"steps": []}}),
    "credentials": ("PUT", "/v1/reports/policy", {"licensure_cycle_start_month": 9}),
    "badges": ("POST", "/v1/issuers", {"name": "Demo", "url": "https://demo.example", "email": "a@demo.example"}),
}


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
async def test_a_json_route_given_another_type_is_a_415_naming_json(
    make_app: AppFactory, keys_dir: Path, service: str, backend: str
) -> None:
    method, path, body = JSON_ROUTES[service]
    app = await make_app(service)
    headers = identity_headers(keys_dir, service, roles=frozenset({"coordinator"}))
    async with asgi_client(app) as client:
        plain = await client.request(
            method, path, content=json.dumps(body), headers={**headers, "content-type": "text/plain"}
        )
        untyped = await client.request(method, path, content=json.dumps(body), headers=headers)
        form = await client.request(method, path, data={"name": "p"}, headers=headers)
        unauthenticated = await client.request(
            method, path, content=json.dumps(body), headers={"content-type": "text/plain"}
        )
        typed = {**headers, "content-type": "application/json; charset=utf-8"}
        with_charset = await client.request(method, path, content=json.dumps(body), headers=typed)
    for response, sent in ((plain, "text/plain"), (form, "application/x-www-form-urlencoded")):
        assert response.status_code == 415, f"{sent}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "https://practicum.dev/problems/unsupported-media-type"
        assert problem["detail"] == f"send the body as application/json, not {sent}"
        assert problem["accepted"] == ["application/json"]
    assert untyped.status_code == 415
    assert untyped.json()["detail"] == "send the body as application/json, and say so in Content-Type"
    assert unauthenticated.status_code == 401, "who is asking is checked first"
    # Read as JSON: whatever it answers, no error is about the body as a whole being no object.
    assert with_charset.status_code != 415, with_charset.text
    assert all(e["pointer"] != "/body" for e in with_charset.json().get("errors", [])), with_charset.text


async def test_a_file_upload_given_json_is_a_415_naming_multipart(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_app("credentials")
    headers = identity_headers(keys_dir, "credentials", roles=frozenset({"educator"}), subject="user:e1")
    async with asgi_client(app) as client:
        sent = await client.post(
            "/v1/submissions/00000000-0000-4000-8000-000000000000/evidence",
            json={"requirement": "summary", "text": "words"},
            headers=headers,
        )
        no_body = await client.post("/v1/submissions/00000000-0000-4000-8000-000000000000/evidence", headers=headers)
    assert sent.status_code == 415, sent.text
    assert sent.json()["accepted"] == ["multipart/form-data", "application/x-www-form-urlencoded"]
    assert sent.json()["detail"] == (
        "send the body as multipart/form-data or application/x-www-form-urlencoded, not application/json"
    )
    assert no_body.status_code == 422, "no body at all is a missing field, not a wrong type"


async def test_the_gateways_own_json_routes_refuse_other_types_too(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_app("gateway")
    async with asgi_client(app) as client:
        login = await client.post(
            "/v1/auth/login",
            content='{"tenant": "demo-usd", "email": "a@b.c", "password": "x"}',
            headers={"content-type": "text/plain"},
        )
        merge = await client.post(
            "/v1/auth/login",
            content='{"tenant": "demo-usd", "email": "a@b.c", "password": "x"}',
            headers={"content-type": "application/merge-patch+json"},
        )
        unit = await client.post(
            "/v1/org-units", content='{"name": "x"}', headers={**bearer(keys_dir), "content-type": "text/csv"}
        )
    assert login.status_code == 415, login.text
    assert login.json()["accepted"] == ["application/json"]
    assert merge.status_code != 415, "application/*+json is JSON, as FastAPI reads it"
    assert unit.status_code == 415, unit.text


@pytest.mark.parametrize("service", [*sorted(JSON_ROUTES), "gateway"])
async def test_every_operation_with_a_body_documents_the_415(make_app: AppFactory, service: str) -> None:
    app = await make_app(service)
    document = app.openapi()
    with_body = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("requestBody") and not operation.get("x-practicum-oauth")
    ]
    assert with_body
    for method, path, operation in with_body:
        assert "415" in operation["responses"], f"{method.upper()} {path}"
