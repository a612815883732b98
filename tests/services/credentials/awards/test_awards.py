"""A passed tier becomes an award, its ledger entries and, through the outbox, a badge — even
when the badges service is down at that moment: once it is back, the badge appears, once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.badges.models import Badge
from services.credentials.deps import credentials_state
from services.credentials.models import OutboxEvent
from shared.outbox import DispatchPolicy, HttpEventSink, OutboxDispatcher
from shared.state import ServiceState, state_of
from tests.conftest import AppFactory
from tests.services.badges.conftest import ISSUER
from tests.services.credentials.test_designs_and_pursuits import DESIGN
from tests.support import LiveServer, asgi_client, free_socket, identity_headers

FAST = DispatchPolicy(batch_size=10, backoff_base_s=0.0, backoff_max_s=0.0, lease_s=30.0, delivery_timeout_s=5.0)


async def _drain(dispatcher: OutboxDispatcher) -> int:
    delivered = 0
    for _ in range(20):
        n = await dispatcher.run_once()
        delivered += n
        if n == 0:
            break
    return delivered


async def test_awards_reach_the_badges_service_once_it_is_back(
    make_app: AppFactory, keys_dir: Path, backend: str
) -> None:
    credentials = await make_app("credentials")
    badges = await make_app("badges")
    sock = free_socket()  # where the badges service will listen, once it is up
    badges_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    credentials_server = await LiveServer(credentials).start()
    to_badges = HttpEventSink({"award.": badges_url}, timeout=2)
    to_credentials = HttpEventSink({"badge.": credentials_server.url})
    outbound = OutboxDispatcher(
        sessionmaker=credentials_state(credentials).sessionmaker, model=OutboxEvent, deliver=to_badges, policy=FAST
    )
    from services.badges.models import OutboxEvent as BadgesOutbox

    inbound = OutboxDispatcher(
        sessionmaker=state_of(badges, ServiceState).sessionmaker,
        model=BadgesOutbox,
        deliver=to_credentials,
        policy=FAST,
    )

    def who(service: str, role: str, subject: str) -> dict[str, str]:
        return identity_headers(keys_dir, service, roles=frozenset({role}), tenant_id="tenant-a", subject=subject)

    coordinator = who("credentials", "coordinator", "user:c1")
    educator = who("credentials", "educator", "user:e1")
    server = None
    try:
        async with asgi_client(credentials) as c, asgi_client(badges) as b:
            issuer = (await b.post("/v1/issuers", json=ISSUER, headers=who("badges", "coordinator", "user:c1"))).json()
            achievements = {}
            for tier in DESIGN["tiers"][:1]:
                criteria = tier["rubric"]["criteria"]
                created = await b.post(
                    "/v1/achievements",
                    json={
                        "issuer_id": issuer["id"],
                        "name": tier["title"],
                        "description": tier["description"],
                        "criteria": {"narrative": "Meet every criterion."},
                        "result_descriptions": [
                            {
                                "key": cr["key"],
                                "name": cr["name"],
                                "levels": [{"key": lv["key"], "name": lv["name"]} for lv in cr["levels"]],
                                "required_level": cr["passing_level"],
                            }
                            for cr in criteria
                        ],
                    },
                    headers=who("badges", "coordinator", "user:c1"),
                )
                assert created.status_code == 201, created.text
                achievements[tier["key"]] = created.json()["id"]
            body: dict[str, Any] = copy.deepcopy(DESIGN)
            body["settings"]["learning_plan_required"] = False
            body["tiers"][0]["achievement_id"] = achievements["learning"]
            design = (await c.post("/v1/credential-designs", json=body, headers=coordinator)).json()
            await c.post(f"/v1/credential-designs/{design['id']}/publish", headers=coordinator)
            await c.put("/v1/assessors/user:a1", json={}, headers=coordinator)
            # The SIS's display name reaches the badge, where it stays hidden until the educator shows it.
            profile = {"display_name": "Ed\tEducator"}
            assert (await c.put("/v1/educators/user:e1/profile", json=profile, headers=coordinator)).status_code == 200
            pursuit = (
                await c.post(
                    "/v1/pursuits",
                    json={"design_id": design["id"], "recipient_email": "Educator@Demo.test"},
                    headers=educator,
                )
            ).json()
            sid = (
                await c.post(f"/v1/pursuits/{pursuit['id']}/submissions", json={"tier": "learning"}, headers=educator)
            ).json()["id"]
            for requirement, n in (("summary", 550), ("next_steps", 200)):
                await c.post(
                    f"/v1/submissions/{sid}/evidence",
                    data={"requirement": requirement, "text": " ".join(["word"] * n)},
                    headers=educator,
                )
            submitted = (await c.post(f"/v1/submissions/{sid}/submit", headers=educator)).json()
            review = submitted["reviews"][0]
            levels = [{"criterion": k, "level": "on_track"} for k in ("understanding", "application", "length")]
            passed = await c.post(
                f"/v1/reviews/{review['id']}/scores",
                json={"scores": levels},
                headers=who("credentials", "assessor", "user:a1"),
            )
            assert passed.json()["state"] == "passed"
            (award,) = (await c.get("/v1/awards", headers=educator)).json()
            ledger = (await c.get("/v1/ledger", headers=educator)).json()["items"]
            assert award["badge_status"] == "pending"
            assert award["results"] == levels
            assert sorted((e["kind"], e["amount"], e["status"]) for e in ledger) == [
                ("pd_minutes", 300, "recorded"),
                ("stipend", 7500, "pending"),
            ]

            # Badges is down: the event waits, nothing is lost.
            assert await _drain(outbound) == 0
            async with credentials_state(credentials).sessionmaker() as session:
                (event,) = list(
                    await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "award.granted"))
                )
                assert (event.status, event.attempts) == ("pending", 1)
                event.available_at = event.created_at  # retry now, not after the back-off
                await session.commit()

            server = await LiveServer(badges, sock).start()
            assert await _drain(outbound) == 1
            # Delivered again (an at-least-once redelivery): still one badge.
            async with credentials_state(credentials).sessionmaker() as session:
                await session.execute(
                    OutboxEvent.__table__.update().values(status="pending", available_at=event.created_at)
                )
                await session.commit()
            await _drain(outbound)
            assert await _drain(inbound) >= 1
            async with state_of(badges, ServiceState).sessionmaker() as session:
                issued = list(await session.scalars(select(Badge).where(Badge.tenant_id == "tenant-a")))
            (after,) = (await c.get("/v1/awards", headers=educator)).json()
            assert len(issued) == 1, "one award, one badge, however often the event came"
            sharing = (issued[0].earner_id, issued[0].recipient_name, issued[0].show_name, issued[0].show_evidence)
            assert sharing == ("user:e1", "Ed Educator", False, False), "the earner is known; nothing personal shown"
            assert after["badge_status"] == "issued"
            assert after["badge_id"] == issued[0].id
            assert after["badge_links"]["credential"].endswith(issued[0].id)
            subject = issued[0].credential["credentialSubject"]
            assert [r["achievedLevel"].rsplit("#", 1)[-1] for r in subject["result"]] == [
                "understanding.on_track",
                "application.on_track",
                "length.on_track",
            ], "the rubric results are the badge's results"

            # Revoking the award revokes its badge; the unpaid stipend is void.
            revoked = await c.post(
                f"/v1/awards/{award['id']}/revoke", json={"reason": "integrity"}, headers=coordinator
            )
            assert revoked.json()["status"] == "revoked"
            await _drain(outbound)
            async with state_of(badges, ServiceState).sessionmaker() as session:
                badge = await session.get(Badge, issued[0].id, populate_existing=True)
                assert badge is not None
                assert badge.status == "revoked"
            stipend = next(
                e for e in (await c.get("/v1/ledger", headers=educator)).json()["items"] if e["kind"] == "stipend"
            )
            assert stipend["status"] == "void"
    finally:
        await to_badges.aclose()
        await to_credentials.aclose()
        if server is not None:
            await server.stop()
        await credentials_server.stop()
