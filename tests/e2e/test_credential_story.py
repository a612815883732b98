"""The whole story through the gateway, as the dev users: a coordinator imports the district's
competency framework, publishes the 4-tier design aligned to it and the catalog offering that
leads to it; an educator starts from that offering (the credentials service checks it with the
catalog, on the educator's behalf), writes a plan that is approved, hands in tier 1, the
assessor returns it with feedback, the educator resubmits, it passes — and the award's badge,
issued by the badges service from the outbox event to the address the educator signed in with,
verifies in Digital Bazaar's verifier. Tier 2 stays closed until then; once tier 1 has passed,
the educator hands in tier 2 (a PDF artifact, a link, a reflection), it passes, and its award,
ledger entries and badge are checked the same way. Then tier 3 opens."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.badges.deps import badges_state
from services.badges.models import OutboxEvent as BadgesOutbox
from services.catalog.app import DEMO_FRAMEWORK
from services.credentials.app import demo_design
from services.credentials.deps import credentials_state
from services.credentials.models import OutboxEvent as CredentialsOutbox
from services.gateway.deps import gateway_state
from services.gateway.seed import seed_demo
from shared.outbox import DispatchPolicy, HttpEventSink, OutboxDispatcher
from tests.conftest import AppFactory
from tests.e2e.test_badges_interop import NODE, _require_tools, run_tool
from tests.services.badges.conftest import ISSUER
from tests.services.credentials.submissions.test_review_story import pdf_bytes
from tests.support import DOMAIN_SERVICES, LiveServer, free_socket

FAST = DispatchPolicy(batch_size=20, backoff_base_s=0.0, backoff_max_s=0.0, lease_s=30.0, delivery_timeout_s=10.0)
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
class World:
    base: str
    people: dict[str, httpx.AsyncClient]  # role → client signed in as that dev user
    subjects: dict[str, str]  # role → user id (the token's subject)
    lms: httpx.AsyncClient  # demo-lms, for the badges setup
    dispatch: Any


def _subject(token: str) -> str:
    part = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["sub"])


@pytest.fixture
async def world(make_app: AppFactory) -> AsyncIterator[World]:
    _require_tools()
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sockets = {name: free_socket() for name in DOMAIN_SERVICES}
    urls = {name: f"http://127.0.0.1:{s.getsockname()[1]}" for name, s in sockets.items()}
    own_settings: dict[str, dict[str, Any]] = {
        "badges": {"public_base_url": base},
        "credentials": {"catalog_url": urls["catalog"]},
        "catalog": {"credentials_url": urls["credentials"]},
    }
    apps = {name: await make_app(name, **own_settings.get(name, {})) for name in DOMAIN_SERVICES}
    services = {name: await LiveServer(app, sockets[name]).start() for name, app in apps.items()}
    gateway_app = await make_app("gateway", public_base_url=base, **{f"{n}_url": s.url for n, s in services.items()})
    async with gateway_state(gateway_app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(gateway_app).hasher)
        await session.commit()
    gateway = await LiveServer(gateway_app, sock).start()
    to_badges = HttpEventSink({"award.": services["badges"].url})
    to_credentials = HttpEventSink({"badge.": services["credentials"].url})
    dispatchers = [
        OutboxDispatcher(
            sessionmaker=credentials_state(apps["credentials"]).sessionmaker,
            model=CredentialsOutbox,
            deliver=to_badges,
            policy=FAST,
        ),
        OutboxDispatcher(
            sessionmaker=badges_state(apps["badges"]).sessionmaker,
            model=BadgesOutbox,
            deliver=to_credentials,
            policy=FAST,
        ),
    ]

    async def dispatch() -> None:
        for _ in range(5):
            if not sum([await d.run_once() for d in dispatchers]):
                return

    clients: list[httpx.AsyncClient] = []
    try:
        people, subjects = {}, {}
        for role in ("coordinator", "assessor", "educator"):
            client = httpx.AsyncClient(base_url=base, timeout=30)
            clients.append(client)
            login = await client.post(
                "/v1/auth/login",
                json={"tenant": "demo-usd", "email": f"{role}@demo.test", "password": "practicum-demo"},
            )
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            client.headers["authorization"] = f"Bearer {token}"
            people[role], subjects[role] = client, _subject(token)
        lms = httpx.AsyncClient(base_url=base, timeout=30)
        clients.append(lms)
        token = await lms.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("demo-lms", "demo-lms-secret")
        )
        lms.headers["authorization"] = f"Bearer {token.json()['access_token']}"
        yield World(base=base, people=people, subjects=subjects, lms=lms, dispatch=dispatch)
    finally:
        for client in clients:
            await client.aclose()
        await to_badges.aclose()
        await to_credentials.aclose()
        await gateway.stop()
        for server in services.values():
            await server.stop()


async def _framework_items(coordinator: httpx.AsyncClient) -> dict[str, str]:
    """The district's competency framework, imported through the gateway: item ids by code."""
    imported = await coordinator.post("/v1/frameworks", json=json.loads(DEMO_FRAMEWORK.read_text()))
    assert imported.status_code == 201, imported.text
    tree = (await coordinator.get(f"/v1/frameworks/{imported.json()['id']}")).json()["tree"]
    return {child["human_coding_scheme"]: child["id"] for domain in tree for child in domain["children"]}


async def _verified(world: World, award: dict[str, Any]) -> dict[str, Any]:
    """The award's badge as issued, after Digital Bazaar's verifier accepted it."""
    credential: dict[str, Any] = (await world.lms.get(f"/v1/badges/{award['badge_id']}")).json()["credential"]
    (verified,) = await run_tool(
        ["node", str(NODE / "verify-di.mjs")], [{"credential": credential, "allowFetchPrefixes": [world.base + "/"]}]
    )
    assert verified["verified"] is True, verified
    return credential


async def test_from_design_to_verified_badges_tier_after_tier(world: World, backend: str) -> None:
    coordinator, assessor, educator = (world.people[r] for r in ("coordinator", "assessor", "educator"))
    competencies = await _framework_items(coordinator)
    # The badges the tiers award: an issuer and one achievement per tier, rubric as results.
    issuer = (await world.lms.post("/v1/issuers", json=ISSUER)).json()
    content = demo_design().model_dump(mode="json")
    content["competency_ids"] = [competencies["INS.1"], competencies["INS.2"]]
    for tier in content["tiers"]:
        made = await world.lms.post(
            "/v1/achievements",
            json={
                "issuer_id": issuer["id"],
                "name": tier["title"],
                "description": tier["description"],
                "criteria": {"narrative": "Meet every criterion of the tier's rubric."},
                "achievement_type": "MicroCredential",
                "result_descriptions": [
                    {
                        "key": c["key"],
                        "name": c["name"],
                        "levels": [{"key": lv["key"], "name": lv["name"]} for lv in c["levels"]],
                        "required_level": c["passing_level"],
                    }
                    for c in tier["rubric"]["criteria"]
                ],
            },
        )
        assert made.status_code == 201, made.text
        tier["achievement_id"] = made.json()["id"]

    design = await coordinator.post("/v1/credential-designs", json=content)
    assert design.status_code == 201, design.text
    published = await coordinator.post(f"/v1/credential-designs/{design.json()['id']}/publish")
    assert published.json()["published_version"] == 1
    pool = await coordinator.put(f"/v1/assessors/{world.subjects['assessor']}", json={})
    assert pool.status_code == 200, pool.text
    offering = await coordinator.post(
        "/v1/offerings",
        json={
            "offering_type": "micro_credential",
            "title": "Formative Assessment in Everyday Teaching",
            "modality": "blended",
            "pacing": "self_paced",
            "group_format": "individual",
            "duration_minutes": 1800,
            "provider": {"name": "Demo Unified School District", "number": "DUSD-PD-0107"},
            "competency_ids": content["competency_ids"],
            "credential_design_id": design.json()["id"],
        },
    )
    assert offering.status_code == 201, offering.text
    assert (await coordinator.post(f"/v1/offerings/{offering.json()['id']}/publish")).status_code == 200

    # Started from the catalog offering, with no address given: the badges name the sign-in's.
    started = await educator.post(
        "/v1/pursuits", json={"design_id": design.json()["id"], "offering_id": offering.json()["id"]}
    )
    assert started.status_code == 201, started.text
    pursuit = started.json()
    pid = pursuit["id"]
    assert pursuit["state"] == "planning"
    assert pursuit["recipient_email"] == "educator@demo.test"
    assert (pursuit["offering_title"], pursuit["provider_number"]) == (offering.json()["title"], "DUSD-PD-0107")
    await educator.put(f"/v1/pursuits/{pid}/plan", json=PLAN)
    await educator.post(f"/v1/pursuits/{pid}/plan/submit")
    approved = await coordinator.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "approve"})
    assert approved.json()["state"] == "active"
    too_early = await educator.post(f"/v1/pursuits/{pid}/submissions", json={"tier": "implementation"})
    assert too_early.status_code == 409, "tier 2 builds on tier 1"
    assert too_early.json()["allowed_actions"] == ["submit:learning"]

    async def hand_in(tier: str, evidence: list[dict[str, Any]]) -> dict[str, Any]:
        opened = await educator.post(f"/v1/pursuits/{pid}/submissions", json={"tier": tier})
        assert opened.status_code == 201, opened.text
        sid = opened.json()["id"]
        for item in evidence:
            added = await educator.post(f"/v1/submissions/{sid}/evidence", **item)
            assert added.status_code == 201, added.text
        submitted = await educator.post(f"/v1/submissions/{sid}/submit", json={"evidence_public": True})
        assert submitted.json()["state"] == "in_review", submitted.text
        return dict(submitted.json())

    def reflection(requirement: str, n: int) -> dict[str, Any]:
        return {"data": {"requirement": requirement, "text": " ".join(["idea"] * n)}}

    tier_1 = [reflection("summary", 540), reflection("next_steps", 220)]

    def levels(*criteria: str, **overrides: str) -> list[dict[str, str]]:
        return [{"criterion": k, "level": overrides.get(k, "on_track")} for k in criteria]

    first = await hand_in("learning", tier_1)
    (queued,) = (await assessor.get("/v1/reviews")).json()
    returned = await assessor.post(
        f"/v1/reviews/{queued['reviews'][0]['id']}/scores",
        json={
            "scores": levels("understanding", "application", "length", application="not_yet"),
            "comment": "Name the class you will start with.",
        },
    )
    assert queued["id"] == first["id"]
    assert returned.json()["state"] == "returned"
    feedback = (await educator.get(f"/v1/submissions/{first['id']}")).json()["reviews"][0]["comment"]
    assert feedback == "Name the class you will start with."

    second = await hand_in("learning", tier_1)
    passed = await assessor.post(
        f"/v1/reviews/{second['reviews'][0]['id']}/scores",
        json={"scores": levels("understanding", "application", "length")},
    )
    assert passed.json()["state"] == "passed"
    await world.dispatch()  # award.granted → badges → badge.issued → credentials

    (award,) = (await educator.get("/v1/awards")).json()
    ledger = (await educator.get("/v1/ledger")).json()["items"]
    assert award["badge_status"] == "issued", award
    assert sorted((e["kind"], e["amount"]) for e in ledger) == [("pd_minutes", 300), ("stipend", 7500)]
    credential = await _verified(world, award)
    assert credential["credentialSubject"]["achievement"]["name"] == "Tier 1 — Evidence of learning"

    # Tier 2, now open: a PDF artifact (sniffed), an optional video link, a reflection.
    video = "https://video.example/exit-tickets-lesson"
    implementation = await hand_in(
        "implementation",
        [
            {
                "data": {"requirement": "artifacts"},
                "files": {"file": ("exit-tickets.pdf", pdf_bytes(), "application/pdf")},
            },
            {"data": {"requirement": "video", "url": video}},
            reflection("reflection", 300),
        ],
    )
    passed_2 = await assessor.post(
        f"/v1/reviews/{implementation['reviews'][0]['id']}/scores",
        json={"scores": levels("fidelity", "adjustment", adjustment="exemplary")},
    )
    assert passed_2.json()["state"] == "passed", passed_2.text
    await world.dispatch()

    awards = {a["tier_key"]: a for a in (await educator.get("/v1/awards")).json()}
    ledger = (await educator.get("/v1/ledger")).json()["items"]
    assert set(awards) == {"learning", "implementation"}
    award_2 = awards["implementation"]
    assert (award_2["badge_status"], award_2["pd_minutes"], award_2["stipend_cents"]) == ("issued", 600, 7500)
    assert award_2["results"] == levels("fidelity", "adjustment", adjustment="exemplary")
    assert award_2["badge_id"] != award["badge_id"]
    assert sorted((e["kind"], e["amount"]) for e in ledger) == [
        ("pd_minutes", 300),
        ("pd_minutes", 600),
        ("stipend", 7500),
        ("stipend", 7500),
    ]
    # The provider copied from the catalog offering at the start is what HR exports.
    assert {(e["provider_name"], e["provider_number"]) for e in ledger} == {
        ("Demo Unified School District", "DUSD-PD-0107")
    }
    credential_2 = await _verified(world, award_2)
    assert credential_2["credentialSubject"]["achievement"]["name"] == "Tier 2 — Evidence of implementation"
    assert video in json.dumps(credential_2.get("evidence", [])), "the educator made the evidence public"
    for issued in (credential, credential_2):  # both name the address the educator signed in with
        (identity,) = issued["credentialSubject"]["identifier"]
        expected = hashlib.sha256(("educator@demo.test" + identity["salt"]).encode()).hexdigest()
        assert identity["identityHash"] == f"sha256${expected}"

    record = (await educator.get(f"/v1/educators/{world.subjects['educator']}/record")).json()
    assert record["competency_ids"] == sorted(content["competency_ids"]), "competencies the awards demonstrated"
    tier_3 = await educator.post(f"/v1/pursuits/{pid}/submissions", json={"tier": "impact"})
    assert tier_3.status_code == 201, "tier 3 opens once tier 2 is passed"
