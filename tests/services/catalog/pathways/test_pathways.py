"""Pathways: structures of offerings and nested pathways, every problem named, no cycles, progress."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AppFactory
from tests.support import asgi_client, identity_headers


@pytest.fixture
async def catalog(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(await make_app("catalog")) as client:
        yield client


def who(keys_dir: Path, role: str = "coordinator", tenant: str = "tenant-a") -> dict[str, str]:
    return identity_headers(keys_dir, "catalog", roles=frozenset({role}), tenant_id=tenant)


async def offerings(client: httpx.AsyncClient, h: dict[str, str], *titles: str) -> dict[str, str]:
    """Creates one offering per title through the offerings API; answers title → id."""
    made = {}
    for title in titles:
        response = await client.post(
            "/v1/offerings",
            json={
                "offering_type": "workshop",
                "title": title,
                "modality": "in_person",
                "pacing": "cohort",
                "duration_minutes": 90,
                "provider": {"name": "District PD"},
            },
            headers=h,
        )
        assert response.status_code == 201, response.text
        made[title] = response.json()["id"]
    return made


def all_of(*elements: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    """A group as the API shows it (``n`` and ``title`` may be left out when sending)."""
    return {"kind": "all_of", "n": None, "title": title, "elements": list(elements)}


def n_of(n: int, *elements: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    return {"kind": "n_of", "n": n, "title": title, "elements": list(elements)}


def o(offering_id: str) -> dict[str, str]:
    return {"offering_id": offering_id}


def p(pathway_id: str) -> dict[str, str]:
    return {"pathway_id": pathway_id}


def pathway(name: str, *steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": name, "structure": {"steps": list(steps)}, **fields}


async def create(client: httpx.AsyncClient, h: dict[str, str], body: dict[str, Any]) -> str:
    response = await client.post("/v1/pathways", json=body, headers=h)
    assert response.status_code == 201, response.text
    pathway_id: str = response.json()["id"]
    return pathway_id


def problems(response: httpx.Response) -> dict[str, str]:
    """pointer → detail of a 422 problem (each pointer appears once in these tests)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    found = {e["pointer"]: e["detail"] for e in errors}
    assert len(found) == len(errors), errors
    return found


async def test_a_pathway_of_all_of_n_of_and_a_nested_pathway_is_stored_as_written(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a", "b", "c", "d", "g")
    inner_body = pathway("Classroom data", all_of(o(ids["d"]), o(ids["g"])), status="published")
    inner = await create(catalog, h, inner_body)
    body = pathway(
        "Assessment literacy",
        all_of(o(ids["a"]), title="Foundations"),
        n_of(2, o(ids["b"]), o(ids["c"]), p(inner), title="Choose two"),
        # Sent without n and title.
        {"kind": "all_of", "elements": [{"kind": "n_of", "n": 1, "elements": [o(ids["b"]), o(ids["d"])]}, o(ids["g"])]},
        description="Three steps to the assessment micro-credential.",
        credential_design_id="design-42",
    )
    created = await catalog.post("/v1/pathways", json=body, headers=h)
    outer = created.json()["id"]
    read = await catalog.get(f"/v1/pathways/{outer}", headers=h)
    listed = await catalog.get("/v1/pathways", headers=h)
    published = await catalog.get("/v1/pathways", params={"status": "published"}, headers=h)

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/pathways/{outer}"
    assert read.status_code == 200
    assert read.json() == created.json()
    got = read.json()
    assert (got["name"], got["status"], got["credential_design_id"]) == ("Assessment literacy", "draft", "design-42")
    assert got["description"] == body["description"]
    assert got["structure"]["steps"][:2] == body["structure"]["steps"][:2]
    assert got["structure"]["steps"][2] == all_of(n_of(1, o(ids["b"]), o(ids["d"])), o(ids["g"]))
    assert [row["name"] for row in listed.json()] == ["Assessment literacy", "Classroom data"]
    assert [row["id"] for row in published.json()] == [inner]


async def test_every_problem_of_the_shape_is_listed_with_its_pointer(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    body = {
        "name": "",
        "status": "archived",
        "structure": {
            "steps": [
                n_of(3, o("x1"), o("x2")),  # n above the number of elements
                n_of(0, o("x1")),  # n below 1
                all_of(),  # empty group
                all_of(o("x1"), o("x2"), o("x1")),  # the same offering twice in one group
                {"kind": "n_of", "elements": [o("x1")]},  # n missing
                {"kind": "any_of", "elements": [o("x1")]},  # unknown kind
                {"kind": "all_of", "n": 1, "elements": [o("x1")]},  # n on all_of
                all_of({"offering_id": ""}, {"course": "x"}, all_of(), {"offering_id": "x3", "extra": 1}),
                "not a group",
            ],
            "color": "blue",
        },
    }
    response = await catalog.post("/v1/pathways", json=body, headers=h)
    listed = await catalog.get("/v1/pathways", headers=h)

    found = problems(response)
    assert set(found) == {
        "/body/name",
        "/body/status",
        "/body/structure/color",
        "/body/structure/steps/0/n",
        "/body/structure/steps/1/n",
        "/body/structure/steps/2/elements",
        "/body/structure/steps/3/elements/2/offering_id",
        "/body/structure/steps/4/n",
        "/body/structure/steps/5/kind",
        "/body/structure/steps/6/n",
        "/body/structure/steps/7/elements/0/offering_id",
        "/body/structure/steps/7/elements/1",
        "/body/structure/steps/7/elements/2/elements",
        "/body/structure/steps/7/elements/3/extra",
        "/body/structure/steps/8",
    }
    assert "between 1 and 2" in found["/body/structure/steps/0/n"]
    assert "between 1 and 1" in found["/body/structure/steps/1/n"]
    assert "at least one element" in found["/body/structure/steps/2/elements"]
    assert "x1 is already in this group (element 0)" in found["/body/structure/steps/3/elements/2/offering_id"]
    assert "required for n_of" in found["/body/structure/steps/4/n"]
    assert "only n_of" in found["/body/structure/steps/6/n"]
    assert listed.json() == [], "nothing was stored"

    no_steps = await catalog.post("/v1/pathways", json=pathway("Empty"), headers=h)
    assert problems(no_steps) == {"/body/structure/steps": "a pathway needs at least one step"}


async def test_references_must_resolve_in_the_callers_tenant(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h, other = who(keys_dir), who(keys_dir, tenant="tenant-b")
    mine = await offerings(catalog, h, "mine")
    theirs = await offerings(catalog, other, "theirs")
    their_pathway = await create(catalog, other, pathway("Theirs", all_of(o(theirs["theirs"]))))
    body = pathway(
        "Mixed",
        all_of(o(mine["mine"]), o(theirs["theirs"]), o("no-such-offering")),
        n_of(1, p(their_pathway), p("no-such-pathway")),
    )
    response = await catalog.post("/v1/pathways", json=body, headers=h)

    found = problems(response)
    assert found == {
        "/body/structure/steps/0/elements/1/offering_id": f"no offering {theirs['theirs']} in this catalog",
        "/body/structure/steps/0/elements/2/offering_id": "no offering no-such-offering in this catalog",
        "/body/structure/steps/1/elements/0/pathway_id": f"no pathway {their_pathway} in this catalog",
        "/body/structure/steps/1/elements/1/pathway_id": "no pathway no-such-pathway in this catalog",
    }
    assert (await catalog.get("/v1/pathways", headers=h)).json() == []


async def test_depth_and_size_are_limited(catalog: httpx.AsyncClient, keys_dir: Path, backend: str) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a")
    a = o(ids["a"])

    def nested(levels: int) -> dict[str, Any]:
        group = all_of(a)
        for _ in range(levels - 1):
            group = all_of(group)
        return group

    ten = await catalog.post("/v1/pathways", json=pathway("Ten levels", nested(10)), headers=h)
    eleven = await catalog.post("/v1/pathways", json=pathway("Eleven levels", nested(11)), headers=h)
    too_many = await catalog.post("/v1/pathways", json=pathway("Wide", all_of(*[a] * 500)), headers=h)
    assert ten.status_code == 201, ten.text
    deepest = "/body/structure/steps/0" + "/elements/0" * 10
    assert problems(eleven) == {deepest: "groups nest at most 10 levels deep"}
    assert "at most 500" in problems(too_many)["/body/structure"]

    # Pathways inside pathways: a chain of ten is allowed, an eleventh level is not, whether it
    # is added at the top or underneath.
    chain = [await create(catalog, h, pathway("level 1", all_of(a)))]
    for level in range(2, 11):
        chain.append(await create(catalog, h, pathway(f"level {level}", all_of(p(chain[-1])))))
    on_top = await catalog.post("/v1/pathways", json=pathway("level 11", all_of(p(chain[-1]))), headers=h)
    below = await create(catalog, h, pathway("below", all_of(a)))
    underneath = await catalog.put(f"/v1/pathways/{chain[0]}", json=pathway("level 1", all_of(p(below))), headers=h)
    assert "at most 10 deep; this would make 11" in problems(on_top)["/body/structure"]
    detail = problems(underneath)["/body/structure"]
    assert detail.startswith("pathways nest at most 10 deep; this would make 11: " + f'"level 10" ({chain[-1]})')
    assert detail.endswith(f'"below" ({below})')


async def test_a_change_that_would_make_a_cycle_is_refused(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a", "b")
    c = await create(catalog, h, pathway("C", all_of(o(ids["a"]))))
    b = await create(catalog, h, pathway("B", all_of(p(c))))
    a = await create(catalog, h, pathway("A", n_of(1, o(ids["b"]), p(b))))

    through_two = await catalog.put(f"/v1/pathways/{c}", json=pathway("C", all_of(o(ids["a"]), p(a))), headers=h)
    itself = await catalog.put(f"/v1/pathways/{a}", json=pathway("A", all_of(all_of(p(a)))), headers=h)
    unchanged = await catalog.get(f"/v1/pathways/{c}", headers=h)
    renamed = await catalog.put(
        f"/v1/pathways/{c}", json=pathway("C, renamed", all_of(o(ids["b"])), status="published"), headers=h
    )

    assert problems(through_two) == {
        "/body/structure/steps/0/elements/1/pathway_id": (
            f'this would make a cycle: "C" ({c}) → "A" ({a}) → "B" ({b}) → "C" ({c}); a pathway cannot contain itself'
        )
    }
    assert problems(itself) == {
        "/body/structure/steps/0/elements/0/elements/0/pathway_id": "a pathway cannot contain itself"
    }
    assert unchanged.json()["structure"] == {"steps": [all_of(o(ids["a"]))]}
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["status"]) == ("C, renamed", "published")
    assert renamed.json()["structure"] == {"steps": [all_of(o(ids["b"]))]}
    assert renamed.json()["created_at"] == unchanged.json()["created_at"]


async def test_other_tenants_see_nothing_and_readers_cannot_write(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a")
    body = pathway("Mine", all_of(o(ids["a"])))
    mine = await create(catalog, h, body)
    other = who(keys_dir, tenant="tenant-b")
    progress = {"completed_offering_ids": []}
    elsewhere = [
        await catalog.get(f"/v1/pathways/{mine}", headers=other),
        await catalog.put(f"/v1/pathways/{mine}", json=body, headers=other),
        await catalog.delete(f"/v1/pathways/{mine}", headers=other),
        await catalog.post(f"/v1/pathways/{mine}/progress", json=progress, headers=other),
    ]
    their_list = await catalog.get("/v1/pathways", headers=other)
    # Their pathway may not name our offering either.
    borrowing = await catalog.post("/v1/pathways", json=body, headers=other)

    educator = who(keys_dir, "educator")
    read_only = identity_headers(keys_dir, "catalog", scopes=frozenset({"catalog:read"}))
    refused = [
        await catalog.post("/v1/pathways", json=body, headers=educator),
        await catalog.put(f"/v1/pathways/{mine}", json=body, headers=educator),
        await catalog.delete(f"/v1/pathways/{mine}", headers=educator),
        await catalog.post("/v1/pathways", json=body, headers=read_only),
    ]
    reads = await catalog.get(f"/v1/pathways/{mine}", headers=educator)
    tracks = await catalog.post(f"/v1/pathways/{mine}/progress", json=progress, headers=educator)
    anonymous = await catalog.get("/v1/pathways")

    assert [r.status_code for r in elsewhere] == [404, 404, 404, 404]
    assert elsewhere[0].json()["detail"] == f"no pathway {mine}"
    assert their_list.json() == []
    assert problems(borrowing) == {
        "/body/structure/steps/0/elements/0/offering_id": f"no offering {ids['a']} in this catalog"
    }
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert (reads.status_code, tracks.status_code) == (200, 200)
    assert anonymous.status_code == 401
    assert (await catalog.get(f"/v1/pathways/{mine}", headers=h)).json()["name"] == "Mine"


async def test_a_pathway_cannot_be_deleted_while_another_contains_it(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a")
    inner = await create(catalog, h, pathway("Inner", all_of(o(ids["a"]))))
    outer = await create(catalog, h, pathway("Outer", all_of(all_of(p(inner)))))

    refused = await catalog.delete(f"/v1/pathways/{inner}", headers=h)
    outer_gone = await catalog.delete(f"/v1/pathways/{outer}", headers=h)
    inner_gone = await catalog.delete(f"/v1/pathways/{inner}", headers=h)
    again = await catalog.delete(f"/v1/pathways/{inner}", headers=h)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["referenced_by"] == [outer]
    assert f'"Outer" ({outer})' in refused.json()["detail"]
    assert (outer_gone.status_code, inner_gone.status_code, again.status_code) == (204, 204, 404)
    assert (await catalog.get("/v1/pathways", headers=h)).json() == []


async def test_progress_counts_each_step_and_names_what_remains(
    catalog: httpx.AsyncClient, keys_dir: Path, backend: str
) -> None:
    h = who(keys_dir)
    ids = await offerings(catalog, h, "a", "b", "c", "d", "e", "f", "g")
    inner = await create(catalog, h, pathway("Inner", all_of(o(ids["d"]), o(ids["g"]))))
    outer = await create(
        catalog,
        h,
        pathway(
            "Outer",
            all_of(o(ids["a"]), title="Foundations"),
            n_of(2, o(ids["b"]), o(ids["c"]), p(inner), title="Choose two"),
            all_of(n_of(1, o(ids["e"]), o(ids["f"])), o(ids["g"])),
        ),
    )

    async def progress(*titles: str) -> dict[str, Any]:
        done = [ids[t] for t in titles]
        response = await catalog.post(
            f"/v1/pathways/{outer}/progress", json={"completed_offering_ids": done}, headers=h
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    partway = await progress("a", "d", "e")
    finished = await progress("a", "b", "d", "g", "e")
    nothing = await progress()

    assert (partway["pathway_id"], partway["name"], partway["complete"]) == (outer, "Outer", False)
    summary = [(s["title"], s["required"], s["satisfied_count"], s["satisfied"]) for s in partway["steps"]]
    assert summary == [("Foundations", 1, 1, True), ("Choose two", 2, 0, False), (None, 2, 1, False)]
    assert partway["steps"][0]["remaining_offering_ids"] == []
    assert partway["steps"][1]["remaining_offering_ids"] == [ids["b"], ids["c"], ids["g"]]
    assert partway["steps"][1]["elements"][2] == {
        "pathway_id": inner,
        "name": "Inner",
        "satisfied": False,
        "remaining_offering_ids": [ids["g"]],
    }
    nested_group = partway["steps"][2]["elements"][0]
    assert (nested_group["kind"], nested_group["required"], nested_group["satisfied"]) == ("n_of", 1, True)
    assert nested_group["elements"] == [
        {"offering_id": ids["e"], "satisfied": True},
        {"offering_id": ids["f"], "satisfied": False},
    ]
    assert nested_group["remaining_offering_ids"] == [], "f no longer counts once the group is satisfied"
    assert partway["remaining_offering_ids"] == [ids["b"], ids["c"], ids["g"]]

    assert finished["complete"] is True
    assert [s["satisfied"] for s in finished["steps"]] == [True, True, True]
    assert finished["steps"][1]["satisfied_count"] == 2
    assert finished["remaining_offering_ids"] == []

    assert nothing["complete"] is False
    assert nothing["remaining_offering_ids"] == [ids[t] for t in ("a", "b", "c", "d", "g", "e", "f")]
