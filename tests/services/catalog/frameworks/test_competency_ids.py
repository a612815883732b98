"""One id for a competency (issue 16): wherever the catalog takes a competency — the offering
filter, an offering's alignments and prerequisites, recommendation goals — the district's own
CASE identifier (the CFItem GUID of its package) works exactly like the internal id, in the
district's own frameworks only. What is kept and shown is the internal id (with the identifier
beside it where an item is shown)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.services.catalog.test_offerings import PACKAGE, Catalog, catalog  # noqa: F401  (the fixture)

# The demo package's CFItem identifiers, by human coding scheme.
GUIDS = {str(item["humanCodingScheme"]): str(item["identifier"]) for item in PACKAGE["CFItems"]}
UNKNOWN_GUID = "0b7c3a52-2f0e-4a8e-9d55-1f0f4c2d9e61"  # shaped like one, names nothing anywhere
UNKNOWN_ID = "5d1f6f0e-8a8b-4c57-9d8e-8d1c1b3c2a10"


async def hits(catalog: Catalog, competency: list[str], tenant: str = "tenant-a") -> list[str]:  # noqa: F811
    got = await catalog.client.get(
        "/v1/offerings",
        params={"competency": competency, "limit": 100, "sort": "newest"},
        headers=catalog.as_("educator", tenant=tenant),
    )
    assert got.status_code == 200, got.text
    assert got.json()["total"] == len(got.json()["items"])
    return [hit["id"] for hit in got.json()["items"]]


async def test_the_offering_filter_takes_the_case_identifier_on_both_engines(catalog: Catalog, backend: str) -> None:  # noqa: F811
    items = await catalog.framework()
    theirs = await catalog.framework(tenant="tenant-b")  # the same package: the same GUIDs, other ids
    assessment = await catalog.offering(title="Formative Assessment", competency_ids=[items["INS.1"]])
    differentiation = await catalog.offering(title="Differentiation", competency_ids=[items["INS.3"]])
    coaching = await catalog.offering(title="Coaching", competency_ids=[items["COG.1"]])
    other_district = await catalog.offering(tenant="tenant-b", title="Theirs", competency_ids=[theirs["INS.1"]])

    # A competency alone, a domain (its descendants count), two at once; by id, by GUID, mixed.
    for codes in (["INS.1"], ["INS"], ["INS.3", "COG.1"]):
        by_id = await hits(catalog, [items[c] for c in codes])
        by_guid = await hits(catalog, [GUIDS[c] for c in codes])
        shouting = await hits(catalog, [GUIDS[c].upper() for c in codes])
        mixed = await hits(catalog, [GUIDS[codes[0]], *(items[c] for c in codes[1:])])
        assert by_id, codes
        assert by_guid == by_id == shouting == mixed, codes
    assert await hits(catalog, [GUIDS["INS"]]) == [differentiation["id"], assessment["id"]]
    assert await hits(catalog, [GUIDS["COG.1"]]) == [coaching["id"]]
    # The same GUID names each district's own item: never the other district's offering.
    assert await hits(catalog, [GUIDS["INS.1"]], tenant="tenant-b") == [other_district["id"]]
    assert await hits(catalog, [items["INS.1"]], tenant="tenant-b") == [], "another district's id names nothing"
    # Unknown: a GUID no package holds answers like an id that never existed (an empty page).
    assert await hits(catalog, [UNKNOWN_GUID]) == await hits(catalog, [UNKNOWN_ID]) == []


async def test_alignments_and_prerequisites_take_the_case_identifier_and_keep_the_id(
    catalog: Catalog,  # noqa: F811
    backend: str,
) -> None:
    items = await catalog.framework()
    h = catalog.as_()
    by_guid = await catalog.offering(
        title="By GUID",
        competency_ids=[GUIDS["INS.1"], GUIDS["COG.2"].upper()],
        prerequisites={"competency_ids": [GUIDS["IPR.1"]]},
    )
    by_id = await catalog.offering(
        title="By id",
        competency_ids=[items["INS.1"], items["COG.2"]],
        prerequisites={"competency_ids": [items["IPR.1"]]},
    )
    same_twice = await catalog.offering(title="Same twice", competency_ids=[GUIDS["INS.1"], items["INS.1"]])
    unknown = {
        name: await catalog.client.post(
            "/v1/offerings",
            json={
                "offering_type": "workshop",
                "title": "Nope",
                "modality": "in_person",
                "pacing": "cohort",
                "duration_minutes": 60,
                "provider": {"name": "Demo USD"},
                "competency_ids": [items["INS.1"], ref],
                "prerequisites": {"competency_ids": [ref]},
            },
            headers=h,
        )
        for name, ref in (("guid", UNKNOWN_GUID), ("id", UNKNOWN_ID))
    }
    patched = await catalog.client.patch(
        f"/v1/offerings/{by_id['id']}", json={"competency_ids": [GUIDS["INS.2"]]}, headers=h
    )

    for made in (by_guid, by_id):
        # Shown by coding scheme, each with its internal id and its CASE identifier.
        assert [c["id"] for c in made["competencies"]] == [items["COG.2"], items["INS.1"]]
        assert [c["identifier"] for c in made["competencies"]] == [GUIDS["COG.2"], GUIDS["INS.1"]]
        assert made["prerequisites"]["competency_ids"] == [items["IPR.1"]], "kept as the internal id"
    assert [c["id"] for c in same_twice["competencies"]] == [items["INS.1"]], "one item, named twice"
    for name, refused in unknown.items():
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/competency_ids/1"], name
    assert unknown["guid"].json()["title"] == unknown["id"].json()["title"]
    assert UNKNOWN_GUID in unknown["guid"].json()["errors"][0]["detail"]
    assert patched.status_code == 200, patched.text
    assert [(c["id"], c["identifier"]) for c in patched.json()["competencies"]] == [(items["INS.2"], GUIDS["INS.2"])]


async def test_recommendation_goals_take_the_case_identifier(catalog: Catalog, backend: str) -> None:  # noqa: F811
    items = await catalog.framework()
    both = await catalog.offering(
        title="Assessment and Differentiation", duration_minutes=360, competency_ids=[items["INS.1"], items["INS.3"]]
    )
    one = await catalog.offering(title="Formative Assessment", duration_minutes=90, competency_ids=[items["INS.1"]])

    async def recommend(*targets: dict[str, Any]) -> Any:
        return await catalog.client.post(
            "/v1/recommendations", json={"targets": list(targets)}, headers=catalog.as_("educator")
        )

    by_id = await recommend({"id": items["INS.1"], "weight": 2}, {"id": items["INS.3"]})
    by_guid = await recommend({"id": GUIDS["INS.1"], "weight": 2}, {"id": GUIDS["INS.3"].upper()})
    unknown = {
        "guid": await recommend({"id": items["INS.1"]}, {"id": UNKNOWN_GUID}),
        "id": await recommend({"id": items["INS.1"]}, {"id": UNKNOWN_ID}),
    }

    assert by_id.status_code == 200, by_id.text
    assert by_guid.json() == by_id.json()
    ranked = by_guid.json()["items"]
    assert [r["offering"]["id"] for r in ranked] == [both["id"], one["id"]]
    assert sorted(ranked[0]["covered_competency_ids"]) == sorted([items["INS.1"], items["INS.3"]]), "internal ids"
    for name, refused in unknown.items():
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/body/targets/1/id"], name
    assert unknown["guid"].json()["title"] == unknown["id"].json()["title"]


async def test_a_guid_in_two_of_a_districts_frameworks(catalog: Catalog, backend: str) -> None:  # noqa: F811
    """The same CFItem imported in two of the district's packages: the filter matches either
    item (it is one competency); where one item must be kept, a 422 asks for the internal id."""
    items = await catalog.framework()
    shared = next(i for i in PACKAGE["CFItems"] if i["humanCodingScheme"] == "INS.1")
    document = {**copy.deepcopy(PACKAGE["CFDocument"]), "identifier": str(uuid.uuid4()), "title": "Coaching model"}
    document["uri"] = document["uri"].rsplit("/", 1)[0] + "/" + document["identifier"]
    second = {"CFDocument": document, "CFItems": [copy.deepcopy(shared)], "CFAssociations": []}
    imported = await catalog.client.post("/v1/frameworks", json=second, headers=catalog.as_())
    assert imported.status_code == 201, imported.text
    listed = await catalog.client.get(f"/v1/frameworks/{imported.json()['id']}/items", headers=catalog.as_())
    [copy_of_ins1] = [i["id"] for i in listed.json()]
    assert copy_of_ins1 != items["INS.1"]

    in_first = await catalog.offering(title="First framework", competency_ids=[items["INS.1"]])
    in_second = await catalog.offering(title="Second framework", competency_ids=[copy_of_ins1])
    kept = await catalog.client.post(
        "/v1/offerings",
        json={
            "offering_type": "workshop",
            "title": "Which one?",
            "modality": "in_person",
            "pacing": "cohort",
            "duration_minutes": 60,
            "provider": {"name": "Demo USD"},
            "competency_ids": [GUIDS["INS.1"]],
        },
        headers=catalog.as_(),
    )
    goal = await catalog.client.post(
        "/v1/recommendations", json={"targets": [{"id": GUIDS["INS.1"]}]}, headers=catalog.as_("educator")
    )

    assert sorted(await hits(catalog, [GUIDS["INS.1"]])) == sorted([in_first["id"], in_second["id"]])
    assert await hits(catalog, [copy_of_ins1]) == [in_second["id"]], "the internal id still names one item"
    for refused, pointer in ((kept, "/body/competency_ids/0"), (goal, "/body/targets/0/id")):
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["pointer"] == pointer
        assert items["INS.1"] in error["detail"], "names the ids to choose from"
        assert copy_of_ins1 in error["detail"]
