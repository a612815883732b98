"""The whole story through the gateway, as the dev users: a coordinator publishes the 4-tier
design, an educator writes a plan that is approved, hands in tier 1, the assessor returns it
with feedback, the educator resubmits, it passes — and the award's badge, issued by the badges
service from the outbox event, verifies in Digital Bazaar's verifier. Then tier 2 begins."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.badges.models import OutboxEvent as BadgesOutbox
from services.credentials.app import demo_design
from services.credentials.models import OutboxEvent as CredentialsOutbox
from services.gateway.seed import seed_demo
from shared.outbox import DispatchPolicy, HttpEventSink, OutboxDispatcher
from tests.conftest import AppFactory
from tests.e2e.test_badges_interop import NODE, _require_tools, run_tool
from tests.services.badges.conftest import ISSUER
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
    apps = {
        name: await make_app(name, **({"public_base_url": base} if name == "badges" else {}))
        for name in DOMAIN_SERVICES
    }
    services = {name: await LiveServer(app).start() for name, app in apps.items()}
    gateway_app = await make_app("gateway", public_base_url=base, **{f"{n}_url": s.url for n, s in services.items()})
    async with gateway_app.state.sessionmaker() as session:
        await seed_demo(session)
        await session.commit()
    gateway = await LiveServer(gateway_app, sock).start()
    to_badges = HttpEventSink({"award.": services["badges"].url})
    to_credentials = HttpEventSink({"badge.": services["credentials"].url})
    dispatchers = [
        OutboxDispatcher(
            sessionmaker=apps["credentials"].state.sessionmaker, model=CredentialsOutbox, deliver=to_badges, policy=FAST
        ),
        OutboxDispatcher(
            sessionmaker=apps["badges"].state.sessionmaker, model=BadgesOutbox, deliver=to_credentials, policy=FAST
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


async def test_from_design_to_a_verified_badge(world: World, backend: str) -> None:
    coordinator, assessor, educator = (world.people[r] for r in ("coordinator", "assessor", "educator"))
    # The badges the tiers award: an issuer and one achievement per tier, rubric as results.
    issuer = (await world.lms.post("/v1/issuers", json=ISSUER)).json()
    content = demo_design().model_dump(mode="json")
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

    pursuit = (
        await educator.post(
            "/v1/pursuits", json={"design_id": design.json()["id"], "recipient_email": "educator@demo.test"}
        )
    ).json()
    pid = pursuit["id"]
    assert pursuit["state"] == "planning"
    await educator.put(f"/v1/pursuits/{pid}/plan", json=PLAN)
    await educator.post(f"/v1/pursuits/{pid}/plan/submit")
    approved = await coordinator.post(f"/v1/pursuits/{pid}/plan/decision", json={"decision": "approve"})
    assert approved.json()["state"] == "active"

    async def hand_in_tier_1() -> dict[str, Any]:
        opened = await educator.post(f"/v1/pursuits/{pid}/submissions", json={"tier": "learning"})
        assert opened.status_code == 201, opened.text
        sid = opened.json()["id"]
        for requirement, n in (("summary", 540), ("next_steps", 220)):
            added = await educator.post(
                f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": " ".join(["idea"] * n)}
            )
            assert added.status_code == 201, added.text
        submitted = await educator.post(f"/v1/submissions/{sid}/submit", json={"evidence_public": True})
        assert submitted.json()["state"] == "in_review", submitted.text
        return dict(submitted.json())

    def levels(**overrides: str) -> list[dict[str, str]]:
        return [
            {"criterion": k, "level": overrides.get(k, "on_track")} for k in ("understanding", "application", "length")
        ]

    first = await hand_in_tier_1()
    (queued,) = (await assessor.get("/v1/reviews")).json()
    returned = await assessor.post(
        f"/v1/reviews/{queued['reviews'][0]['id']}/scores",
        json={"scores": levels(application="not_yet"), "comment": "Name the class you will start with."},
    )
    assert queued["id"] == first["id"]
    assert returned.json()["state"] == "returned"
    feedback = (await educator.get(f"/v1/submissions/{first['id']}")).json()["reviews"][0]["comment"]
    assert feedback == "Name the class you will start with."

    second = await hand_in_tier_1()
    passed = await assessor.post(f"/v1/reviews/{second['reviews'][0]['id']}/scores", json={"scores": levels()})
    assert passed.json()["state"] == "passed"
    await world.dispatch()  # award.granted → badges → badge.issued → credentials

    (award,) = (await educator.get("/v1/awards")).json()
    ledger = (await educator.get("/v1/ledger")).json()["items"]
    assert award["badge_status"] == "issued", award
    assert sorted((e["kind"], e["amount"]) for e in ledger) == [("pd_minutes", 300), ("stipend", 7500)]
    credential = (await world.lms.get(f"/v1/badges/{award['badge_id']}")).json()["credential"]
    (verified,) = await run_tool(
        ["node", str(NODE / "verify-di.mjs")], [{"credential": credential, "allowFetchPrefixes": [world.base + "/"]}]
    )
    assert verified["verified"] is True, verified
    assert credential["credentialSubject"]["achievement"]["name"] == "Tier 1 — Evidence of learning"

    tier_2 = await educator.post(f"/v1/pursuits/{pid}/submissions", json={"tier": "implementation"})
    assert tier_2.status_code == 201, "tier 2 opens once tier 1 is passed"
