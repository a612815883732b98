"""Recommendations: ranked by how much of the educator's goals an offering covers, then by fit;
each reason states the facts behind its score."""

from __future__ import annotations

import datetime as dt

from tests.services.catalog.test_offerings import SOON, Catalog, catalog  # noqa: F401  (the fixture)


async def test_ranking_and_reasons_follow_the_input(catalog: Catalog, backend: str) -> None:  # noqa: F811
    items = await catalog.framework()
    both = await catalog.offering(
        title="Assessment and Differentiation Academy",
        offering_type="academy",
        modality="online_asynchronous",
        pacing="self_paced",
        duration_minutes=360,
        competency_ids=[items["INS.1"], items["INS.3"]],
    )
    one = await catalog.offering(
        title="Formative Assessment Workshop", duration_minutes=90, competency_ids=[items["INS.1"]]
    )
    await catalog.session(one["id"], capacity=5)
    too_long = await catalog.offering(title="Degree", duration_minutes=6000, competency_ids=[items["INS.1"]])
    done = await catalog.offering(title="Already done", duration_minutes=60, competency_ids=[items["INS.3"]])
    unrelated = await catalog.offering(title="Family Partnerships", competency_ids=[items["IPR.1"]])
    draft = await catalog.offering(publish=False, title="Draft", competency_ids=[items["INS.1"]])
    body = {
        "targets": [{"id": items["INS.1"], "weight": 2}, {"id": items["INS.3"]}, {"id": items["COG.1"]}],
        "preferences": {"modalities": ["online_asynchronous"], "max_minutes": 600},
        "completed_offering_ids": [done["id"]],
    }
    got = await catalog.client.post("/v1/recommendations", json=body, headers=catalog.as_("educator"))
    domain = await catalog.client.post(
        "/v1/recommendations", json={"targets": [{"id": items["INS"]}]}, headers=catalog.as_("educator")
    )
    unknown = await catalog.client.post(
        "/v1/recommendations", json={"targets": [{"id": "nope"}]}, headers=catalog.as_("educator")
    )
    other_tenant = await catalog.client.post("/v1/recommendations", json=body, headers=catalog.as_(tenant="tenant-b"))

    assert got.status_code == 200, got.text
    ranked = got.json()["items"]
    assert [r["offering"]["id"] for r in ranked] == [both["id"], one["id"]]
    excluded = {too_long["id"], done["id"], unrelated["id"], draft["id"]}
    assert not excluded & {r["offering"]["id"] for r in ranked}
    first, second = ranked
    assert first["reason"] == "covers 2 of your 3 goal competencies · online asynchronous · 6 h · start any time"
    assert second["reason"] == (
        f"covers 1 of your 3 goal competencies · in person · 1.5 h · seats open {SOON.date().isoformat()}"
    )
    assert sorted(first["covered_competency_ids"]) == sorted([items["INS.1"], items["INS.3"]])
    assert first["score_parts"]["coverage"] == 75.0, "weights 2 + 1 of 4"
    assert second["score_parts"]["coverage"] == 50.0
    assert first["score_parts"]["modality"] == 10.0
    assert second["score_parts"]["modality"] == 0.0
    assert first["score"] == sum(first["score_parts"].values())
    # One goal, covered by all four published ones: availability, then brevity decide.
    expected = [one["id"], both["id"], done["id"], too_long["id"]]
    assert [r["offering"]["id"] for r in domain.json()["items"]] == expected, "a goal's narrower competencies serve it"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/body/targets/0/id"
    assert other_tenant.status_code == 422, "tenant-a's competencies are unknown to tenant-b"


async def test_the_date_window_decides_whether_seats_are_open(catalog: Catalog, backend: str) -> None:  # noqa: F811
    items = await catalog.framework()
    workshop = await catalog.offering(title="Workshop", competency_ids=[items["COG.1"]])
    await catalog.session(workshop["id"], capacity=3)
    window = {"available_from": (SOON + dt.timedelta(days=30)).isoformat()}
    body = {"targets": [{"id": items["COG.1"]}], "preferences": window}
    got = (await catalog.client.post("/v1/recommendations", json=body, headers=catalog.as_("educator"))).json()
    (only,) = got["items"]
    assert only["reason"].endswith("no open seats in your window")
    assert only["score_parts"]["availability"] == 0.0
