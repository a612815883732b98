"""Competency frameworks from CASE: import, re-import by identifier, export round trip, browse."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.catalog.seed import DEMO_FRAMEWORK
from tests.conftest import AppFactory
from tests.support import LiveServer, asgi_client, identity_headers

PACKAGE: dict[str, Any] = json.loads(DEMO_FRAMEWORK.read_text())


@pytest.fixture
async def catalog(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = await make_app("catalog", case_fetch_allow_private=True)
    async with asgi_client(app) as client:
        yield client


def who(keys_dir: Path, role: str = "coordinator", tenant: str = "tenant-a") -> dict[str, str]:
    return identity_headers(keys_dir, "catalog", roles=frozenset({role}), tenant_id=tenant)


async def test_import_builds_the_tree_and_reimport_keeps_every_id(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    first = await catalog.post("/v1/frameworks", json=PACKAGE, headers=h)
    framework_id = first.json()["id"]
    tree = (await catalog.get(f"/v1/frameworks/{framework_id}", headers=h)).json()["tree"]
    exported = (await catalog.get(f"/v1/frameworks/{framework_id}/case", headers=h)).json()
    again = await catalog.post("/v1/frameworks", json=exported, headers=h)
    tree_again = (await catalog.get(f"/v1/frameworks/{framework_id}", headers=h)).json()["tree"]

    assert first.status_code == 201, first.text
    assert (first.json()["created"], first.json()["items"], first.json()["associations"]) == (True, 16, 18)
    assert [d["human_coding_scheme"] for d in tree] == ["COG", "INT", "IPR", "INS"]
    assert [c["human_coding_scheme"] for c in tree[0]["children"]] == ["COG.1", "COG.2", "COG.3"]
    assert again.status_code == 200
    assert again.json()["id"] == framework_id
    assert tree_again == tree, "the same GUIDs keep the same ids"
    assert exported["CFDocument"] == PACKAGE["CFDocument"]
    by_id = {item["identifier"]: item for item in PACKAGE["CFItems"]}
    assert {item["identifier"]: item for item in exported["CFItems"]} == by_id
    assert len(exported["CFAssociations"]) == len(PACKAGE["CFAssociations"])


async def test_a_newer_package_updates_by_identifier(catalog: httpx.AsyncClient, keys_dir: Path, backend: str) -> None:
    h = who(keys_dir)
    framework_id = (await catalog.post("/v1/frameworks", json=PACKAGE, headers=h)).json()["id"]
    before = {
        i["identifier"]: i["id"] for i in (await catalog.get(f"/v1/frameworks/{framework_id}/items", headers=h)).json()
    }
    newer = copy.deepcopy(PACKAGE)
    dropped = next(i for i in newer["CFItems"] if i["humanCodingScheme"] == "COG.3")
    newer["CFItems"] = [i for i in newer["CFItems"] if i is not dropped]
    newer["CFAssociations"] = [
        a
        for a in newer["CFAssociations"]
        if dropped["identifier"] not in (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])
    ]
    changed = next(i for i in newer["CFItems"] if i["humanCodingScheme"] == "INS.1")
    changed["fullStatement"] = "Uses formative assessment every lesson to adjust instruction."
    updated = await catalog.post("/v1/frameworks", json=newer, headers=h)
    after = (await catalog.get(f"/v1/frameworks/{framework_id}/items", headers=h)).json()
    assert updated.json()["items"] == 15
    assert {i["identifier"]: i["id"] for i in after} == {k: v for k, v in before.items() if k != dropped["identifier"]}
    assert next(i for i in after if i["human_coding_scheme"] == "INS.1")["full_statement"] == changed["fullStatement"]


async def test_a_malformed_package_lists_every_problem_and_stores_nothing(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    broken = copy.deepcopy(PACKAGE)
    del broken["CFDocument"]["title"]
    broken["CFItems"][2]["identifier"] = "not-a-guid"
    broken["CFItems"][3]["fullStatement"] = ""
    # Two items each other's parent: a cycle.
    a, b = broken["CFItems"][4], broken["CFItems"][5]
    broken["CFAssociations"].append(
        {
            **broken["CFAssociations"][0],
            "identifier": "0f0f0f0f-0000-4000-8000-000000000001",
            "originNodeURI": {"title": "a", "identifier": a["identifier"], "uri": a["uri"]},
            "destinationNodeURI": {"title": "b", "identifier": b["identifier"], "uri": b["uri"]},
        }
    )
    response = await catalog.post("/v1/frameworks", json=broken, headers=h)
    listed = await catalog.get("/v1/frameworks", headers=h)
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert response.status_code == 422
    assert {"/body/CFDocument/title", "/body/CFItems/2/identifier", "/body/CFItems/3/fullStatement"} <= pointers
    assert any(p.startswith("/body/CFAssociations") for p in pointers)
    assert listed.json() == [], "nothing was imported"
    not_a_package = await catalog.post("/v1/frameworks", json={"hello": "world"}, headers=h)
    assert not_a_package.status_code == 422


async def test_items_are_searchable_and_other_tenants_and_readers_are_kept_out(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    framework_id = (await catalog.post("/v1/frameworks", json=PACKAGE, headers=h)).json()["id"]
    found = (await catalog.get(f"/v1/frameworks/{framework_id}/items", params={"q": "FORMATIVE"}, headers=h)).json()
    domains = (
        await catalog.get(f"/v1/frameworks/{framework_id}/items", params={"item_type": "Domain"}, headers=h)
    ).json()
    item = (await catalog.get(f"/v1/frameworks/{framework_id}/items/{found[0]['id']}", headers=h)).json()
    educator = who(keys_dir, "educator")
    reads = await catalog.get(f"/v1/frameworks/{framework_id}", headers=educator)
    cannot_import = await catalog.post("/v1/frameworks", json=PACKAGE, headers=educator)
    other = who(keys_dir, tenant="tenant-b")
    elsewhere = await catalog.get(f"/v1/frameworks/{framework_id}", headers=other)
    other_list = await catalog.get("/v1/frameworks", headers=other)
    assert [i["human_coding_scheme"] for i in found] == ["INS.1"]
    assert len(domains) == 4
    assert {a["association_type"] for a in item["associations"]} == {"isChildOf", "isRelatedTo"}
    assert reads.status_code == 200
    assert cannot_import.status_code == 403
    assert elsewhere.status_code == 404
    assert other_list.json() == []


async def test_import_from_a_url_goes_through_the_fetch_guard(
    catalog: httpx.AsyncClient, make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    async def serve(_request: Request) -> JSONResponse:
        return JSONResponse(PACKAGE)

    server = await LiveServer(Starlette(routes=[Route("/case.json", serve)])).start()  # type: ignore[arg-type]
    guarded = await make_app("catalog")
    try:
        fetched = await catalog.post("/v1/frameworks", json={"url": f"{server.url}/case.json"}, headers=who(keys_dir))
        async with asgi_client(guarded) as client:
            refused = await client.post(
                "/v1/frameworks", json={"url": f"{server.url}/case.json"}, headers=who(keys_dir)
            )
    finally:
        await server.stop()
    assert fetched.status_code == 201, fetched.text
    assert fetched.json()["items"] == 16
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/body/url"
