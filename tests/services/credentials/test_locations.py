"""Every 201 of the credentials service says where the created resource is (``Location``)."""

from __future__ import annotations

import datetime as dt

from tests.services.credentials.submissions.test_review_story import _setup, words
from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials, credentials  # noqa: F401


async def test_each_created_resource_is_named_by_location(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    design = await c.client.post("/v1/credential-designs", json=DESIGN, headers=c.as_())
    assert design.status_code == 201, design.text
    assert design.headers["location"] == f"/v1/credential-designs/{design.json()['id']}"

    pursuit_id, educator = await _setup(c)
    pursuit = await c.client.get(f"/v1/pursuits/{pursuit_id}", headers=educator)
    assert pursuit.status_code == 200

    opened = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator)
    assert opened.status_code == 201, opened.text
    sid = opened.json()["id"]
    assert opened.headers["location"] == f"/v1/submissions/{sid}"
    fetched = await c.client.get(opened.headers["location"], headers=educator)
    assert (fetched.status_code, fetched.json()["id"]) == (200, sid)

    added = await c.client.post(
        f"/v1/submissions/{sid}/evidence", data={"requirement": "summary", "text": words(550)}, headers=educator
    )
    assert added.status_code == 201, added.text
    item_id = added.json()["id"]
    assert added.headers["location"] == f"/v1/submissions/{sid}/evidence/{item_id}"
    removed = await c.client.delete(added.headers["location"], headers=educator)
    assert removed.status_code == 204, "the Location is the item's address"

    coached = await c.client.post(
        f"/v1/pursuits/{pursuit_id}/coaching",
        json={"tier": "learning", "held_on": dt.date.today().isoformat()},
        headers=c.as_(),
    )
    assert coached.status_code == 201, coached.text
    assert coached.headers["location"] == f"/v1/pursuits/{pursuit_id}/coaching/{coached.json()['id']}"


async def test_the_openapi_document_declares_location_on_every_201(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    document = (await credentials.client.get("/openapi.json")).json()
    created = [
        (method, path, operation["responses"]["201"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "201" in operation.get("responses", {})
    ]
    assert len(created) >= 5
    for method, path, response in created:
        assert "Location" in response.get("headers", {}), f"{method.upper()} {path}"
