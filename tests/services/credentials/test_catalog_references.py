"""Catalog ids the credentials service keeps are checked with the real catalog, as the caller:
a design's competency alignments and a pursuit's offering. Unknown ids are 422s pointing at
them; a catalog that cannot answer is a 503 naming it, and nothing is written either way."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.services.catalog.test_offerings import PACKAGE, Catalog
from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials
from tests.support import LiveServer, asgi_client, free_port, free_socket, identity_headers

UNKNOWN = "0b7c3a52-2f0e-4a8e-9d55-1f0f4c2d9e61"  # shaped like a catalog id, names nothing


@dataclass
class Linked:
    catalog: Catalog
    credentials: Credentials
    items: dict[str, str]  # the demo framework's items in tenant-a, by human coding scheme


@pytest.fixture
async def linked(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Linked]:
    """The real catalog and credentials apps on sockets, each told where the other is (credentials
    asks the catalog about alignments and offerings; the catalog asks credentials about designs)."""
    credentials_socket = free_socket()
    credentials_url = f"http://127.0.0.1:{credentials_socket.getsockname()[1]}"
    catalog_app = await make_app("catalog", credentials_url=credentials_url)
    server = await LiveServer(catalog_app).start()
    credentials_app = await make_app("credentials", catalog_url=server.url)
    credentials_server = await LiveServer(credentials_app, credentials_socket).start()
    try:
        async with (
            httpx.AsyncClient(base_url=server.url) as to_catalog,
            httpx.AsyncClient(base_url=credentials_server.url) as client,
        ):
            catalog = Catalog(app=catalog_app, client=to_catalog, keys_dir=keys_dir)
            items = await catalog.framework()
            yield Linked(catalog, Credentials(app=credentials_app, client=client, keys_dir=keys_dir), items)
    finally:
        await credentials_server.stop()
        await server.stop()


def design(*competency_ids: str) -> dict[str, Any]:
    body = copy.deepcopy(DESIGN)
    body["competency_ids"] = list(competency_ids)
    return body


async def test_competency_alignments_must_be_items_of_the_districts_catalog(linked: Linked, backend: str) -> None:
    c, h, items = linked.credentials.client, linked.credentials.as_(), linked.items
    other_district = await linked.catalog.framework(tenant="tenant-b")  # same package, other ids

    refused = await c.post(
        "/v1/credential-designs",
        json=design(items["INS.1"], UNKNOWN, "not-a-catalog-id", other_district["INS.2"]),
        headers=h,
    )
    nothing = await c.get("/v1/credential-designs", headers=h)
    twice = await c.post("/v1/credential-designs", json=design(items["INS.1"], items["INS.1"]), headers=h)
    made = await c.post("/v1/credential-designs", json=design(items["INS.1"], items["INS.3"]), headers=h)
    design_id = made.json()["id"]
    bad_edit = await c.put(f"/v1/credential-designs/{design_id}", json=design(items["COG.1"], UNKNOWN), headers=h)
    kept = await c.get(f"/v1/credential-designs/{design_id}", headers=h)

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in refused.json()["errors"]] == [
        "/body/competency_ids/1",
        "/body/competency_ids/2",
        "/body/competency_ids/3",
    ], "another district's item is unknown here, exactly like one that never existed"
    assert UNKNOWN in refused.json()["errors"][0]["detail"]
    assert nothing.json() == [], "nothing was written"
    assert [e["pointer"] for e in twice.json()["errors"]] == ["/body/competency_ids/1"]
    assert made.status_code == 201, made.text
    assert made.json()["draft"]["content"]["competency_ids"] == [items["INS.1"], items["INS.3"]]
    assert bad_edit.status_code == 422
    assert [e["pointer"] for e in bad_edit.json()["errors"]] == ["/body/competency_ids/1"]
    assert kept.json()["draft"]["content"]["competency_ids"] == [items["INS.1"], items["INS.3"]], "draft unchanged"

    # The district re-imports its framework without INS.3: publishing would freeze a dangling
    # alignment, so publishing asks the catalog again.
    dropped = "7027fbc1-159e-595c-ae00-f2c2e45832eb"  # INS.3's CFItem identifier
    package = copy.deepcopy(PACKAGE)
    package["CFItems"] = [i for i in package["CFItems"] if i["identifier"] != dropped]
    package["CFAssociations"] = [
        a
        for a in package["CFAssociations"]
        if dropped not in (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])
    ]
    reimported = await linked.catalog.client.post("/v1/frameworks", json=package, headers=linked.catalog.as_())
    assert reimported.status_code == 200, reimported.text
    unpublishable = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=h)
    still_draft = await c.get(f"/v1/credential-designs/{design_id}", headers=h)
    assert unpublishable.status_code == 422, unpublishable.text
    assert [e["pointer"] for e in unpublishable.json()["errors"]] == ["/body/competency_ids/1"]
    assert still_draft.json()["published_version"] is None

    fixed = await c.put(f"/v1/credential-designs/{design_id}", json=design(items["INS.1"]), headers=h)
    published = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=h)
    assert fixed.status_code == 200
    assert published.status_code == 200, published.text
    assert published.json()["published"]["content"]["competency_ids"] == [items["INS.1"]]


async def test_alignments_take_the_districts_case_identifier_and_keep_the_catalog_id(
    linked: Linked, backend: str
) -> None:
    """Issue 16: a design's alignment named by the CFItem GUID of the district's own package is
    the same alignment as by the catalog's id; what is kept is the catalog's id."""
    c, h, items = linked.credentials.client, linked.credentials.as_(), linked.items
    theirs = await linked.catalog.framework(tenant="tenant-b")  # the same package: the same GUIDs
    guids = {str(i["humanCodingScheme"]): str(i["identifier"]) for i in PACKAGE["CFItems"]}

    by_id = await c.post("/v1/credential-designs", json=design(items["INS.1"], items["COG.2"]), headers=h)
    by_guid = await c.post("/v1/credential-designs", json=design(guids["INS.1"], guids["COG.2"].upper()), headers=h)
    mixed = await c.post("/v1/credential-designs", json=design(guids["INS.1"], items["COG.2"]), headers=h)
    unknown = {
        "guid": await c.post("/v1/credential-designs", json=design(items["INS.1"], UNKNOWN), headers=h),
        "id": await c.post(
            "/v1/credential-designs", json=design(items["INS.1"], "5d1f6f0e-8a8b-4c57-9d8e-8d1c1b3c2a10"), headers=h
        ),
    }
    twice = await c.post("/v1/credential-designs", json=design(guids["INS.1"], items["INS.1"]), headers=h)
    listed = await c.get("/v1/credential-designs", headers=h)
    other_district = await c.post(
        "/v1/credential-designs", json=design(guids["INS.1"]), headers=linked.credentials.as_(tenant="tenant-b")
    )
    edited = await c.put(f"/v1/credential-designs/{by_id.json()['id']}", json=design(guids["INS.3"]), headers=h)
    published = await c.post(f"/v1/credential-designs/{by_id.json()['id']}/publish", headers=h)

    for made in (by_id, by_guid, mixed):
        assert made.status_code == 201, made.text
        assert made.json()["draft"]["content"]["competency_ids"] == [items["INS.1"], items["COG.2"]]
    for name, refused in unknown.items():
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/competency_ids/1"], name
        assert "no competency" in refused.json()["errors"][0]["detail"], name
    assert twice.status_code == 422, "the GUID and the id of one item are one alignment listed twice"
    assert [e["pointer"] for e in twice.json()["errors"]] == ["/body/competency_ids/1"]
    assert len(listed.json()) == 3, "nothing written for the refused ones"
    assert other_district.status_code == 201, other_district.text
    assert other_district.json()["draft"]["content"]["competency_ids"] == [theirs["INS.1"]], "their own item"
    assert edited.status_code == 200, edited.text
    assert published.status_code == 200, published.text
    assert published.json()["published"]["content"]["competency_ids"] == [items["INS.3"]]

    # The district imports a second package holding the same CFItem: its GUID now names two
    # items, and a design must say which (by internal id).
    shared = next(i for i in PACKAGE["CFItems"] if i["humanCodingScheme"] == "INS.1")
    document = {**copy.deepcopy(PACKAGE["CFDocument"]), "identifier": UNKNOWN, "title": "Coaching model"}
    second = {"CFDocument": document, "CFItems": [copy.deepcopy(shared)], "CFAssociations": []}
    imported = await linked.catalog.client.post("/v1/frameworks", json=second, headers=linked.catalog.as_())
    assert imported.status_code == 201, imported.text
    ambiguous = await c.post("/v1/credential-designs", json=design(guids["INS.1"]), headers=h)
    by_internal_id = await c.post("/v1/credential-designs", json=design(items["INS.1"]), headers=h)
    assert ambiguous.status_code == 422, ambiguous.text
    assert "more than one" in ambiguous.json()["errors"][0]["detail"]
    assert by_internal_id.status_code == 201


async def test_a_pursuit_starts_from_a_published_offering_of_its_design_and_copies_its_provider(
    linked: Linked, backend: str
) -> None:
    c, coordinator = linked.credentials.client, linked.credentials.as_()
    educator = linked.credentials.as_("educator", "user:e1")
    ours = (await c.post("/v1/credential-designs", json=design(linked.items["INS.2"]), headers=coordinator)).json()
    await c.post(f"/v1/credential-designs/{ours['id']}/publish", headers=coordinator)
    provider = {"kind": "external", "name": "Region 4 Education Service Center", "number": "TX-ESC4-0042"}
    offering = await linked.catalog.offering(
        offering_type="micro_credential",
        title="Formative Assessment micro-credential",
        provider=provider,
        credential_design_id=ours["id"],
        competency_ids=[linked.items["INS.2"]],
    )
    draft = await linked.catalog.offering(publish=False, title="Not yet")
    elsewhere = await linked.catalog.offering(title="Another credential", credential_design_id=UNKNOWN)
    other_district = await linked.catalog.offering(tenant="tenant-b", title="Theirs")
    workshop = await linked.catalog.offering(title="Exit tickets workshop")  # names no design

    async def start(offering_id: str) -> httpx.Response:
        return await c.post(
            "/v1/pursuits", json={"design_id": ours["id"], "offering_id": offering_id}, headers=educator
        )

    refusals = {
        "unknown": await start(UNKNOWN),
        "not an id": await start("offering-7"),
        "draft": await start(draft["id"]),
        "another design's": await start(elsewhere["id"]),
        "another district's": await start(other_district["id"]),
    }
    nothing = await c.get("/v1/pursuits", headers=educator)
    started = await start(offering["id"])
    from_workshop = await c.post(
        "/v1/pursuits",
        json={"design_id": ours["id"], "offering_id": workshop["id"], "educator_id": "user:e2"},
        headers=coordinator,
    )
    after_workshop = await c.get("/v1/pursuits", params={"educator_id": "user:e2"}, headers=coordinator)

    for name, refused in refusals.items():
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/offering_id"], name
    assert "draft" in refusals["draft"].json()["detail"]
    assert "another credential design" in refusals["another design's"].json()["detail"]
    assert nothing.json() == [], "nothing was written"
    assert started.status_code == 201, started.text
    pursuit = started.json()
    assert (pursuit["offering_id"], pursuit["offering_title"]) == (offering["id"], offering["title"])
    assert (pursuit["provider_name"], pursuit["provider_number"]) == (provider["name"], provider["number"])
    # Issue 16: an offering that names no design leads to none (the README's promise).
    assert from_workshop.status_code == 422, from_workshop.text
    assert [e["pointer"] for e in from_workshop.json()["errors"]] == ["/body/offering_id"]
    assert "names no credential design" in from_workshop.json()["detail"]
    assert after_workshop.status_code == 200
    assert after_workshop.json() == [], "nothing was written for the refused pursuit"


async def test_without_the_catalog_nothing_is_written_and_the_problem_names_it(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_app("credentials", catalog_url=f"http://127.0.0.1:{free_port()}", catalog_timeout_s=1.0)
    async with asgi_client(app) as c:
        credentials = Credentials(app=app, client=c, keys_dir=keys_dir)
        h = credentials.as_()
        aligned = await c.post("/v1/credential-designs", json=design(UNKNOWN), headers=h)
        designs_after = await c.get("/v1/credential-designs", headers=h)
        # A design naming no catalog id does not depend on the catalog at all.
        plain = await c.post("/v1/credential-designs", json=design(), headers=h)
        await c.post(f"/v1/credential-designs/{plain.json()['id']}/publish", headers=h)
        educator = credentials.as_("educator", "user:e1")
        pursuit = await c.post(
            "/v1/pursuits", json={"design_id": plain.json()["id"], "offering_id": UNKNOWN}, headers=educator
        )
        pursuits_after = await c.get("/v1/pursuits", headers=educator)
        edit = await c.put(f"/v1/credential-designs/{plain.json()['id']}", json=design(UNKNOWN), headers=h)
        versions = await c.get(f"/v1/credential-designs/{plain.json()['id']}/versions", headers=h)

    for refused in (aligned, pursuit, edit):
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "5"
        problem = refused.json()
        assert problem["type"].endswith("/credentials/catalog-unavailable")
        assert (problem["service"], problem["reason"]) == ("catalog", "unreachable")
        assert "catalog is unavailable" in problem["detail"]
    assert designs_after.json() == []
    assert plain.status_code == 201
    assert pursuits_after.json() == []
    assert [v["status"] for v in versions.json()] == ["published"], "the edit made no draft"


async def test_the_catalog_is_asked_as_the_caller_or_not_at_all(linked: Linked, backend: str) -> None:
    c, keys_dir = linked.credentials.client, linked.credentials.keys_dir
    body = design(linked.items["INS.1"])
    # A token the gateway made for credentials alone cannot be shown to the catalog.
    not_delegated = await c.post(
        "/v1/credential-designs",
        json=body,
        headers=identity_headers(keys_dir, "credentials", roles=frozenset({"coordinator"})),
    )
    # An API client that may write credentials but not read the catalog cannot name its ids.
    no_catalog_scope = await c.post(
        "/v1/credential-designs",
        json=body,
        headers=identity_headers(
            keys_dir,
            "credentials",
            kind="client",
            subject="client:sis",
            roles=frozenset(),
            scopes=frozenset({"credentials:read", "credentials:write"}),
            delegates=("catalog",),
        ),
    )
    listed = await c.get("/v1/credential-designs", headers=linked.credentials.as_())

    assert not_delegated.status_code == 503
    assert (not_delegated.json()["service"], not_delegated.json()["reason"]) == ("catalog", "not_delegated")
    assert no_catalog_scope.status_code == 403, no_catalog_scope.text
    assert "catalog:read" in no_catalog_scope.json()["detail"]
    assert listed.json() == []


MICRO_CREDENTIAL: dict[str, Any] = {
    "offering_type": "micro_credential",
    "title": "Formative Assessment micro-credential",
    "modality": "online_asynchronous",
    "pacing": "self_paced",
    "duration_minutes": 600,
    "provider": {"name": "Demo USD"},
}


async def test_a_micro_credential_offering_names_a_published_design_of_the_district(
    linked: Linked, backend: str
) -> None:
    """Issue 16, point 4: the catalog asks credentials (as the caller) before a micro-credential
    offering keeps its design; unknown, unpublished, retired or another district's → 422."""
    c, coordinator = linked.credentials.client, linked.credentials.as_()
    to_catalog, h = linked.catalog.client, linked.catalog.as_()
    published = (await c.post("/v1/credential-designs", json=design(), headers=coordinator)).json()
    await c.post(f"/v1/credential-designs/{published['id']}/publish", headers=coordinator)
    draft = (await c.post("/v1/credential-designs", json=design(), headers=coordinator)).json()
    retired = (await c.post("/v1/credential-designs", json=design(), headers=coordinator)).json()
    await c.post(f"/v1/credential-designs/{retired['id']}/publish", headers=coordinator)
    assert (await c.post(f"/v1/credential-designs/{retired['id']}/retire", headers=coordinator)).status_code == 200
    theirs_as = linked.credentials.as_(tenant="tenant-b")
    theirs = (await c.post("/v1/credential-designs", json=design(), headers=theirs_as)).json()
    await c.post(f"/v1/credential-designs/{theirs['id']}/publish", headers=theirs_as)

    async def create(design_id: str, **fields: Any) -> httpx.Response:
        body = {**MICRO_CREDENTIAL, **fields, "credential_design_id": design_id}
        return await to_catalog.post("/v1/offerings", json=body, headers=h)

    refusals = {
        "unknown": (await create(UNKNOWN), "no credential design"),
        "not an id": (await create("design-7"), "no credential design"),
        "never published": (await create(draft["id"]), "not published"),
        "retired": (await create(retired["id"]), "retired"),
        "another district's": (await create(theirs["id"]), "no credential design"),
    }
    nothing = await to_catalog.get("/v1/offerings", params={"status": "draft"}, headers=h)
    made = await create(published["id"])
    # Other offering types may name a design without it being checked (as before).
    workshop = await create(UNKNOWN, offering_type="workshop")
    to_micro = await to_catalog.patch(
        f"/v1/offerings/{workshop.json()['id']}", json={"offering_type": "micro_credential"}, headers=h
    )
    to_draft = await to_catalog.patch(
        f"/v1/offerings/{made.json()['id']}", json={"credential_design_id": draft["id"]}, headers=h
    )
    to_retitled = await to_catalog.patch(f"/v1/offerings/{made.json()['id']}", json={"title": "Renamed"}, headers=h)
    kept = await to_catalog.get(f"/v1/offerings/{made.json()['id']}", headers=h)
    kept_workshop = await to_catalog.get(f"/v1/offerings/{workshop.json()['id']}", headers=h)

    for name, (refused, words) in refusals.items():
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/credential_design_id"], name
        assert words in refused.json()["detail"], name
    assert nothing.json()["total"] == 0, "nothing was written"
    assert made.status_code == 201, made.text
    assert made.json()["credential_design_id"] == published["id"]
    assert workshop.status_code == 201, workshop.text
    assert to_micro.status_code == 422, "becoming a micro-credential checks the design it names"
    assert to_draft.status_code == 422
    assert "not published" in to_draft.json()["detail"]
    assert to_retitled.status_code == 200, "a change that leaves the design alone does not ask"
    assert kept.json()["credential_design_id"] == published["id"]
    assert kept_workshop.json()["offering_type"] == "workshop"


async def test_without_credentials_no_micro_credential_offering_is_written(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    app = await make_app("catalog", credentials_url=f"http://127.0.0.1:{free_port()}", credentials_timeout_s=1.0)
    async with asgi_client(app) as client:
        catalog = Catalog(app=app, client=client, keys_dir=keys_dir)
        h = catalog.as_()
        down = await client.post("/v1/offerings", json={**MICRO_CREDENTIAL, "credential_design_id": UNKNOWN}, headers=h)
        not_delegated = await client.post(
            "/v1/offerings",
            json={**MICRO_CREDENTIAL, "credential_design_id": UNKNOWN},
            headers=identity_headers(keys_dir, "catalog", roles=frozenset({"coordinator"})),
        )
        listed = await client.get("/v1/offerings", params={"status": "draft"}, headers=h)
        # Naming no design, or being another type, never depends on credentials.
        plain = await client.post("/v1/offerings", json=MICRO_CREDENTIAL, headers=h)

    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "5"
    problem = down.json()
    assert problem["type"].endswith("/catalog/credentials-unavailable")
    assert (problem["service"], problem["reason"]) == ("credentials", "unreachable")
    assert not_delegated.status_code == 503
    assert (not_delegated.json()["service"], not_delegated.json()["reason"]) == ("credentials", "not_delegated")
    assert listed.json()["total"] == 0, "nothing was written"
    assert plain.status_code == 201, plain.text


async def test_credentials_is_asked_as_the_caller(linked: Linked, backend: str) -> None:
    # An API client that may write the catalog but not read credentials cannot name a design.
    refused = await linked.catalog.client.post(
        "/v1/offerings",
        json={**MICRO_CREDENTIAL, "credential_design_id": UNKNOWN},
        headers=identity_headers(
            linked.catalog.keys_dir,
            "catalog",
            kind="client",
            subject="client:lms",
            roles=frozenset(),
            scopes=frozenset({"catalog:read", "catalog:write"}),
            delegates=("credentials",),
        ),
    )
    assert refused.status_code == 403, refused.text
    assert "credentials:read" in refused.json()["detail"]
