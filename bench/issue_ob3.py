"""Issuing speed: credentials per second per core, for each proof format and end to end.

Prints medians of several rounds (these machines are shared and noisy) and ratios measured in
the same run. Never part of `make test`; run with `.venv/bin/python bench/issue_ob3.py`.

- Data Integrity signing alone (eddsa-rdfc-2022 on a realistic credential): the fast exact
  canonicalizer, and pyld in the same run for the ratio.
- VC-JWT (RS256) and OB 2.0 JWS (RS256) signing alone.
- Verification of a Data Integrity proof.
- End to end through the badges API in-process (POST /v1/badges: validation, status index,
  all four representations, database write), on SQLite, one request at a time (one core).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def credential() -> dict[str, Any]:
    base = "https://badges.demo-usd.example"
    did = "did:web:badges.demo-usd.example:ob:issuers:8d9e0f4c-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    achievement = f"{base}/ob/achievements/0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f/versions/1"
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"{base}/ob/credentials/3f2e1d0c-9b8a-4766-8554-433221100fed",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Formative Assessment — Tier 1",
        "issuer": {
            "id": did,
            "type": ["Profile"],
            "name": "Demo Unified School District",
            "url": "https://demo-usd.example",
            "email": "pl@demo-usd.example",
        },
        "validFrom": "2026-11-23T00:00:00Z",
        "awardedDate": "2026-11-23T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$" + "ab" * 32,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "0123456789abcdef",
                }
            ],
            "achievement": {
                "id": achievement,
                "type": ["Achievement"],
                "achievementType": "MicroCredential",
                "name": "Formative Assessment — Tier 1",
                "description": "Shows evidence of planning formative assessment.",
                "criteria": {"narrative": "Submit a **lesson plan** and a reflection."},
                "image": {"id": f"{achievement}/image", "type": "Image"},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetType": "CFItem",
                        "targetName": "Uses formative assessment",
                        "targetUrl": "https://case.example/uri/1b1f1c8e-0000-4000-8000-000000000001",
                        "targetCode": "1b1f1c8e-0000-4000-8000-000000000001",
                    }
                ],
                "tag": ["assessment", "tier-1"],
                "creditsAvailable": 1.5,
                "resultDescription": [
                    {
                        "id": f"{achievement}#plan",
                        "type": ["ResultDescription"],
                        "name": "Lesson plan",
                        "resultType": "RubricCriterionLevel",
                        "rubricCriterionLevel": [
                            {"id": f"{achievement}#plan.developing", "type": ["RubricCriterionLevel"], "name": "Dev"},
                            {"id": f"{achievement}#plan.proficient", "type": ["RubricCriterionLevel"], "name": "Pro"},
                        ],
                        "requiredLevel": f"{achievement}#plan.proficient",
                    }
                ],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": f"{achievement}#plan",
                    "achievedLevel": f"{achievement}#plan.proficient",
                }
            ],
        },
        "evidence": [{"id": "https://portfolio.example/ed/1", "type": ["Evidence"], "name": "Lesson plan"}],
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "JsonSchema",
            }
        ],
        "credentialStatus": [
            {
                "id": f"{base}/ob/status-lists/1#42",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": "42",
                "statusListCredential": f"{base}/ob/status-lists/1",
            }
            for purpose in ("revocation", "suspension")
        ],
    }


def per_second(fn: Callable[[], object], *, seconds: float = 1.0) -> float:
    """Median calls per second over ROUNDS rounds of about ``seconds`` each."""
    fn()  # warm caches
    rates = []
    for _ in range(ROUNDS):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            fn()
            count += 1
        rates.append(count / elapsed)
    return statistics.median(rates)


def signing() -> dict[str, float]:
    from services.badges import jsonld, proofs
    from services.badges.crypto import new_ed25519, new_rsa

    ed, rs = new_ed25519(), new_rsa()
    doc = credential()
    vm = doc["issuer"]["id"] + "#key-1"

    def sign_di() -> object:
        return proofs.sign_data_integrity(doc, ed, verification_method=vm, created="2026-11-23T00:00:00Z")

    signed = sign_di()
    assert isinstance(signed, dict)
    results = {"Data Integrity sign (our canonicalizer)": per_second(sign_di)}
    # The same signer with pyld's canonicalization swapped in, for the ratio in this run.
    proofs.canonize = jsonld.canonize_with_pyld  # type: ignore[attr-defined]
    try:
        results["Data Integrity sign (pyld, same run)"] = per_second(sign_di)
    finally:
        proofs.canonize = jsonld.canonize  # type: ignore[attr-defined]
    proof = signed["proof"][0]
    results["Data Integrity verify"] = per_second(lambda: proofs.verify_data_integrity(signed, proof, ed.public_key()))
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    payload = {"iss": vm, "jti": doc["id"], "nbf": 0, "vc": unsigned}
    results["VC-JWT sign (RS256)"] = per_second(lambda: proofs.sign_jws({"typ": "JWT", "kid": vm}, payload, rs))
    assertion = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "urn:uuid:x"}
    results["OB 2.0 JWS sign (RS256)"] = per_second(lambda: proofs.sign_jws({}, assertion, rs))
    return results


def end_to_end() -> float:
    """POST /v1/badges in-process, one at a time, on a fresh SQLite database."""
    from services.badges.settings import BadgesSettings
    from shared.migrations import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = BadgesSettings(data_dir=Path(tmp), outbox_enabled=False, environment="test")
        upgrade("badges", settings.database_url)
        return asyncio.run(_end_to_end(settings))


async def _end_to_end(settings: Any) -> float:
    import httpx

    from services.badges.app import create_app
    from services.gateway.keys import write_key
    from services.gateway.tokens import AccessClaims, TokenService
    from shared.auth import IDENTITY_HEADER, PublicKeyRing

    key = write_key(settings.keys_dir)
    if key:
        tokens = TokenService(
            key=key, key_ring=PublicKeyRing(settings.keys_dir), issuer="bench", access_ttl_s=900, internal_ttl_s=60
        )
        claims = AccessClaims(
            subject="client:bench",
            tenant_id="bench",
            kind="client",
            roles=(),
            scopes=("badges:issue", "badges:read"),
            client_id="bench",
            expires_at=0,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

                def headers() -> dict[str, str]:
                    return {IDENTITY_HEADER: tokens.internal(claims, audience="badges", request_id=None)}

                issuer = (
                    await client.post(
                        "/v1/issuers",
                        json={"name": "Bench District", "url": "https://bench.example", "email": "b@bench.example"},
                        headers=headers(),
                    )
                ).json()
                achievement = (
                    await client.post(
                        "/v1/achievements",
                        json={
                            "issuer_id": issuer["id"],
                            "name": "Bench badge",
                            "description": "Measured.",
                            "criteria": {"narrative": "Be measured."},
                        },
                        headers=headers(),
                    )
                ).json()
                body = {"achievement_id": achievement["id"], "recipient": {"email": "e@bench.example"}}
                rates = []
                for _ in range(ROUNDS):
                    count, start = 0, time.perf_counter()
                    while (elapsed := time.perf_counter() - start) < 2.0:
                        response = await client.post("/v1/badges", json=body, headers=headers())
                        assert response.status_code == 201, response.text
                        count += 1
                    rates.append(count / elapsed)
    return statistics.median(rates)


def main() -> None:
    print(f"rounds per figure: {ROUNDS} (median); one process, one core")
    results = signing()
    for name, rate in results.items():
        print(f"{name:45s} {rate:10.1f} /s   ({1000 / rate:.3f} ms)")
    pyld = results.get("Data Integrity sign (pyld, same run)")
    if pyld:
        ratio = results["Data Integrity sign (our canonicalizer)"] / pyld
        print(f"{'ratio our canonicalizer / pyld (same run)':45s} {ratio:10.2f}x")
    rate = end_to_end()
    print(f"{'end to end POST /v1/badges (SQLite, in-process)':45s} {rate:10.1f} /s   ({1000 / rate:.3f} ms)")


if __name__ == "__main__":
    main()
