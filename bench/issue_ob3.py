"""Issuing speed: credentials per second per core, for each proof format and end to end.

Prints medians of several rounds (these machines are shared and noisy) and ratios measured in
the same run. Never part of `make test`; run with `.venv/bin/python bench/issue_ob3.py`.

- Data Integrity signing alone (eddsa-rdfc-2022 on realistic credentials, each different: its
  own id, recipient hash, salt, status index and text, some of it non-ASCII): the fast exact
  canonicalizer, and pyld in the same run for the ratio. A sample of the credentials signed is
  then verified, by this project's verifier and by Digital Bazaar's (``interop/node``, which
  ``make interop`` installs; the DID document is given to it offline), and the count printed.
- VC-JWT (RS256) and OB 2.0 JWS (RS256) signing alone.
- Verification of a Data Integrity proof.
- End to end through the badges API in-process (POST /v1/badges: validation, status index,
  all four representations, database write), on SQLite, one request at a time (one core).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


ROOT = Path(__file__).resolve().parent.parent
SAMPLE = int(os.environ.get("BENCH_VERIFY_SAMPLE", "50"))
VARIANTS = 500
NAMES = ("Formative Assessment — Tier 1", "Évaluation formative", "Data-driven PLC — “Tier 2”", "Coaching Cycle")


def credential(n: int = 0) -> dict[str, Any]:
    """The ``n``-th of a family of realistic credentials: no two share an id, a recipient hash, a
    salt or a status index, and their names and evidence vary (non-ASCII among them)."""
    rng = random.Random(n)
    base = "https://badges.demo-usd.example"
    did = "did:web:badges.demo-usd.example:ob:issuers:8d9e0f4c-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    achievement = f"{base}/ob/achievements/0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f/versions/1"
    salt = rng.getrandbits(64).to_bytes(8, "big").hex()
    digest = hashlib.sha256(f"educator{n}@demo-usd.example{salt}".encode()).hexdigest()
    index = str(rng.randrange(131_072))
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
        "id": f"{base}/ob/credentials/3f2e1d0c-9b8a-4766-8554-{n:012x}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": NAMES[n % len(NAMES)],
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
            # a pseudonymous subject id, as for an email-only recipient (every subject has one)
            "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$" + digest,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
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
        "evidence": [
            {
                "id": f"https://portfolio.example/ed/{n}",
                "type": ["Evidence"],
                "name": rng.choice(("Lesson plan", "Plan de leçon", "Unterrichtsplan №2", "Reflection")),
            }
        ],
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
        "credentialStatus": [
            {
                "id": f"{base}/ob/status-lists/1#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": index,
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
    from services.badges.openbadges import jsonld, proofs
    from services.badges.openbadges.keys import new_ed25519, new_rsa

    ed, rs = new_ed25519(), new_rsa()
    family = [credential(n) for n in range(VARIANTS)]  # built before timing: only signing is timed
    doc = family[0]
    vm = doc["issuer"]["id"] + "#key-1"
    turn = iter(range(1 << 62))
    produced: list[dict[str, Any]] = []

    def sign_di() -> object:
        n = next(turn)
        signed = proofs.sign_data_integrity(
            family[n % VARIANTS], ed, verification_method=vm, created="2026-11-23T00:00:00Z"
        )
        if n < VARIANTS:
            produced.append(signed)
        return signed

    results = {"Data Integrity sign (our canonicalizer)": per_second(sign_di)}
    sample = random.Random(7).sample(produced, min(SAMPLE, len(produced)))
    results["verified sample: ours"], results["verified sample: Digital Bazaar"] = verify_sample(
        sample, vm, ed.public_key()
    )
    signed = produced[0]
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


def verify_sample(sample: list[dict[str, Any]], vm: str, public: Any) -> tuple[float, float]:
    """How many of the sample verify with our verifier, and with Digital Bazaar's (NaN when its
    harness is not installed: ``make interop``)."""
    from services.badges.openbadges import proofs
    from services.badges.openbadges.documents import DID_CONTEXT
    from services.badges.openbadges.keys import ed25519_multibase

    ours = 0
    for signed in sample:
        try:
            proofs.verify_data_integrity(signed, signed["proof"][0], public)
            ours += 1
        except proofs.ProofError as exc:  # a failure is a figure to print, not a crash of the bench
            print(f"  our verifier refused {signed['id']}: {exc}")
    did = vm.split("#")[0]
    did_document = {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": [
            {"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": ed25519_multibase(public)}
        ],
        "assertionMethod": [vm],
    }
    harness = ROOT / "interop" / "node"
    if not (harness / "node_modules").is_dir():
        print("  Digital Bazaar harness not installed (make interop): its count is not measured")
        return float(ours), float("nan")
    requests = [{"credential": c, "checkStatus": False, "documents": {did: did_document}} for c in sample]
    done = subprocess.run(
        ["node", str(harness / "verify-di.mjs")], input=json.dumps(requests), capture_output=True, text=True, check=True
    )
    answers = json.loads(done.stdout)
    for request, answer in zip(requests, answers, strict=True):
        if not answer.get("verified"):
            print(f"  Digital Bazaar refused {request['credential']['id']}: {answer.get('errors')}")
    return float(ours), float(sum(1 for answer in answers if answer.get("verified")))


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
    from services.gateway.identity.keys import write_key
    from services.gateway.identity.tokens import AccessClaims, TokenService
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
        if name.startswith("verified sample"):
            print(f"{name:45s} {rate:10.0f} of {SAMPLE} different credentials signed above")
        else:
            print(f"{name:45s} {rate:10.1f} /s   ({1000 / rate:.3f} ms)")
    pyld = results.get("Data Integrity sign (pyld, same run)")
    if pyld:
        ratio = results["Data Integrity sign (our canonicalizer)"] / pyld
        print(f"{'ratio our canonicalizer / pyld (same run)':45s} {ratio:10.2f}x")
    rate = end_to_end()
    print(f"{'end to end POST /v1/badges (SQLite, in-process)':45s} {rate:10.1f} /s   ({1000 / rate:.3f} ms)")


if __name__ == "__main__":
    main()
