"""Designs (drafts, frozen versions, the checks) and pursuits with their learning plan."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.credentials.app import demo_design
from services.credentials.seed import DEMO_DESIGN
from tests.conftest import AppFactory
from tests.support import asgi_client, identity_headers

DESIGN: dict[str, Any] = json.loads(DEMO_DESIGN.read_text())
for _tier in DESIGN["tiers"]:
    _tier["achievement_id"] = f"ach-{_tier['key']}"
PLAN = {
    "topic": "Exit tickets in grade 7 science",
    "smart_goal": "By March, use an exit ticket in 4 of 5 lessons and regroup students the next day.",
    "resources": [
        {"title": "Inside the Black Box", "kind": "research_text"},
        {"title": "District formative assessment workshop", "kind": "event"},
    ],
    "implementation_plan": "Weeks 1-2 try two exit-ticket formats; weeks 3-6 regroup from the results.",
}


@dataclass
class Credentials:
    app: FastAPI
    client: httpx.AsyncClient
    keys_dir: Path

    def as_(
        self,
        role: str = "coordinator",
        subject: str = "user:coordinator",
        tenant: str = "tenant-a",
        *,
        email: str | None = None,
    ) -> dict[str, str]:
        # As the gateway sends it by default: also good for asking the catalog on the caller's behalf.
        return identity_headers(
            self.keys_dir,
            "credentials",
            roles=frozenset({role}),
            tenant_id=tenant,
            subject=subject,
            email=email,
            delegates=("catalog",),
        )

    async def published(self, **settings: Any) -> dict[str, Any]:
        body = copy.deepcopy(DESIGN)
        body["settings"].update(settings)
        created = await self.client.post("/v1/credential-designs", json=body, headers=self.as_())
        assert created.status_code == 201, created.text
        published = await self.client.post(f"/v1/credential-designs/{created.json()['id']}/publish", headers=self.as_())
        assert published.status_code == 200, published.text
        return dict(published.json())


@pytest.fixture
async def credentials(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Credentials]:
    app = await make_app("credentials")
    async with asgi_client(app) as client:
        yield Credentials(app=app, client=client, keys_dir=keys_dir)


async def test_designs_are_checked_versioned_and_frozen_once_published(credentials: Credentials, backend: str) -> None:
    c, h = credentials.client, credentials.as_()
    broken = copy.deepcopy(DESIGN)
    broken["tiers"][1]["key"] = "learning"
    broken["tiers"][0]["prerequisite_tiers"] = ["impact"]
    broken["tiers"][0]["rubric"]["criteria"][0]["passing_level"] = "stellar"
    broken["tiers"][0]["evidence"][0]["min_words"] = 900
    broken["tiers"][1]["evidence"][0]["allowed_types"] = ["application/x-msdownload"]
    refused = await c.post("/v1/credential-designs", json=broken, headers=h)
    no_achievement = copy.deepcopy(DESIGN)
    del no_achievement["tiers"][2]["achievement_id"]
    draft = await c.post("/v1/credential-designs", json=no_achievement, headers=h)
    design_id = draft.json()["id"]
    unpublishable = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=h)
    educator_sees_draft = await c.get(
        f"/v1/credential-designs/{design_id}", headers=credentials.as_("educator", "user:e1")
    )
    fixed = await c.put(f"/v1/credential-designs/{design_id}", json=DESIGN, headers=h)
    v1 = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=h)
    nothing_to_publish = await c.post(f"/v1/credential-designs/{design_id}/publish", headers=h)
    edited = await c.put(
        f"/v1/credential-designs/{design_id}", json={**DESIGN, "name": "Formative Assessment, revised"}, headers=h
    )
    versions = await c.get(f"/v1/credential-designs/{design_id}/versions", headers=h)
    educator_versions = await c.get(
        f"/v1/credential-designs/{design_id}/versions", headers=credentials.as_("educator", "user:e1")
    )
    by_educator = await c.post("/v1/credential-designs", json=DESIGN, headers=credentials.as_("educator", "user:e1"))
    other_tenant = await c.get(f"/v1/credential-designs/{design_id}", headers=credentials.as_(tenant="tenant-b"))

    assert refused.status_code == 422
    assert {e["pointer"] for e in refused.json()["errors"]} == {
        "/body/tiers/1/key",
        "/body/tiers/0/prerequisite_tiers/0",
        "/body/tiers/2/prerequisite_tiers/0",  # "implementation" is gone: tier 1 was renamed
        "/body/tiers/0/rubric/criteria/0/passing_level",
        "/body/tiers/0/evidence/0/max_words",
        "/body/tiers/1/evidence/0/allowed_types/0",
    }
    assert draft.status_code == 201
    assert draft.json()["draft"]["version"] == 1
    assert unpublishable.status_code == 422
    assert unpublishable.json()["errors"][0]["pointer"] == "/body/tiers/2/achievement_id"
    assert educator_sees_draft.status_code == 404, "unpublished designs are the coordinators' business"
    assert fixed.status_code == 200
    assert (v1.json()["published_version"], v1.json()["draft"]) == (1, None)
    assert nothing_to_publish.status_code == 409
    assert edited.json()["draft"]["version"] == 2
    assert edited.json()["published"]["content"]["name"] == DESIGN["name"], "version 1 is frozen"
    assert [(v["version"], v["status"]) for v in versions.json()] == [(1, "published"), (2, "draft")]
    assert [v["version"] for v in educator_versions.json()] == [1]
    assert by_educator.status_code == 403
    assert other_tenant.status_code == 404
    student_data = v1.json()["published"]["content"]["tiers"][2]["evidence"][0]
    assert student_data["contains_student_information"] is True, "student data is always flagged"


async def test_a_pursuit_follows_its_plan_through_the_state_machine(credentials: Credentials, backend: str) -> None:
    design = await credentials.published(learning_plan_required=True, min_plan_resources=2)
    c = credentials.client
    educator, coordinator = credentials.as_("educator", "user:e1"), credentials.as_()
    started = await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=educator)
    pid = started.json()["id"]
    early = await c.post(f"/v1/pursuits/{pid}/plan/submit", headers=educator)
    thin = {**PLAN, "resources": PLAN["resources"][:1]}
    await c.put(f"/v1/pursuits/{pid}/plan", json=thin, headers=educator)
    too_few = await c.post(f"/v1/pursuits/{pid}/plan/submit", headers=educator)
    await c.put(f"/v1/pursuits/{pid}/plan", json=PLAN, headers=educator)
    submitted = await c.post(f"/v1/pursuits/{pid}/plan/submit", headers=educator)
    self_approval = await c.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "approve"}, headers=educator)
    bare_return = await c.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "return"}, headers=coordinator)
    returned = await c.post(
        f"/v1/pursuits/{pid}/plan/decision",
        json={"decision": "return", "comments": "Name the class and the week you start."},
        headers=coordinator,
    )
    edit_while_returned = await c.put(f"/v1/pursuits/{pid}/plan", json=PLAN, headers=educator)
    resubmitted = await c.post(f"/v1/pursuits/{pid}/plan/submit", headers=educator)
    approved = await c.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "approve"}, headers=coordinator)
    edit_after = await c.put(f"/v1/pursuits/{pid}/plan", json=PLAN, headers=educator)
    someone_else = await c.get(f"/v1/pursuits/{pid}", headers=credentials.as_("educator", "user:e2"))
    mine = await c.get("/v1/pursuits", headers=educator)
    theirs = await c.get("/v1/pursuits", headers=credentials.as_("educator", "user:e2"))

    assert started.status_code == 201, started.text
    assert started.json()["state"] == "planning"
    assert started.json()["allowed_actions"] == ["save_plan", "submit_plan", "withdraw"]
    assert early.status_code == 422
    assert too_few.status_code == 422
    assert "at least 2" in too_few.json()["detail"]
    assert submitted.json()["state"] == "plan_review"
    assert self_approval.status_code == 403, "an educator never approves their own plan"
    assert bare_return.status_code == 422
    assert returned.json()["state"] == "planning"
    assert returned.json()["plan"]["comments"] == "Name the class and the week you start."
    assert edit_while_returned.status_code == 200
    assert resubmitted.json()["state"] == "plan_review"
    assert approved.json()["state"] == "active"
    assert approved.json()["plan"]["status"] == "approved"
    assert edit_after.status_code == 409
    assert edit_after.json()["current_state"] == "active"
    assert edit_after.json()["allowed_actions"] == ["withdraw"]
    assert someone_else.status_code == 404
    assert [p["id"] for p in mine.json()] == [pid]
    assert theirs.json() == []
    steps = [(e["action"], e["to_state"]) for e in approved.json()["history"]]
    assert steps == [
        ("start", "planning"),
        ("save_plan", "planning"),
        ("save_plan", "planning"),
        ("submit_plan", "plan_review"),
        ("return_plan", "planning"),
        ("save_plan", "planning"),
        ("submit_plan", "plan_review"),
        ("approve_plan", "active"),
    ]


async def test_pursuits_start_on_the_published_version_and_stay_on_it(credentials: Credentials, backend: str) -> None:
    design = await credentials.published(learning_plan_required=False)
    c, h = credentials.client, credentials.as_("educator", "user:e1")
    first = (await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=h)).json()
    await c.put(f"/v1/credential-designs/{design['id']}", json={**DESIGN, "name": "Renamed"}, headers=credentials.as_())
    await c.post(f"/v1/credential-designs/{design['id']}/publish", headers=credentials.as_())
    # One open pursuit per educator and design: the second start waits for the first to end.
    refused = await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=h)
    again = (await c.get(f"/v1/pursuits/{first['id']}", headers=h)).json()
    withdrawn = await c.post(f"/v1/pursuits/{first['id']}/withdraw", json={"note": "moving schools"}, headers=h)
    twice = await c.post(f"/v1/pursuits/{first['id']}/withdraw", headers=h)
    second = (await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=h)).json()
    retired = await c.post(f"/v1/credential-designs/{design['id']}/retire", headers=credentials.as_())
    late = await c.post("/v1/pursuits", json={"design_id": design["id"]}, headers=h)
    assert first["state"] == "active", "no plan required: straight to work"
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/credentials/already-pursuing")
    assert (refused.json()["pursuit_id"], refused.json()["current_state"]) == (first["id"], "active")
    assert (first["design_version"], second["design_version"]) == (1, 2)
    assert (again["design_version"], again["design_name"]) == (1, DESIGN["name"])
    assert withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["ended_at"] is not None
    assert twice.status_code == 409
    assert retired.json()["retired"] is True
    assert late.status_code == 422


def test_the_demo_design_is_valid_and_its_tiers_award_the_demo_achievements() -> None:
    from services.badges.seed import DEMO_ACHIEVEMENTS
    from services.credentials.designs.content import content_errors
    from services.credentials.seed import DEMO_ACHIEVEMENT_IDS

    content = demo_design()
    assert content_errors(content, publishing=True) == []
    achievements = {a["key"]: a for a in json.loads(DEMO_ACHIEVEMENTS.read_text())["achievements"]}
    assert [t.key for t in content.tiers] == list(achievements)
    for tier in content.tiers:
        assert tier.achievement_id == DEMO_ACHIEVEMENT_IDS[tier.key]
        # The badge's results name the tier's rubric: the same criteria, levels and passing level.
        described = {
            d["key"]: ([level["key"] for level in d["levels"]], d["required_level"])
            for d in achievements[tier.key]["result_descriptions"]
        }
        rubric = {c.key: ([level.key for level in c.levels], c.passing_level) for c in tier.rubric.criteria}
        assert described == rubric
    stipends = [t.stipend_cents for t in content.tiers]
    assert [sum(stipends[: i + 1]) for i in range(4)] == [7500, 15000, 22500, 30000], "cumulative 75/150/225/300"
