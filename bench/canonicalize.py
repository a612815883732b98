"""What eddsa-rdfc-2022 signing costs per core: pyld versus ``services.badges.openbadges.jsonld``.

For one typical Open Badges 3.0 credential (issuer profile, achievement with criteria, alignments,
result descriptions and image, two results, three evidence items, two status entries, a schema,
non-ASCII text) this measures, single-threaded and pinned to one CPU when the OS allows it:

* canonicalization alone -- JSON-LD expansion + toRdf + RDFC-1.0 to canonical N-Quads -- with pyld
  (``jsonld.normalize``, URDNA2015, warm context caches) and with our fast path (``canonize``);
* the whole eddsa-rdfc-2022 signature, each way: canonicalize the proof options (the proof without
  ``proofValue``, with the credential's ``@context``) and the credential without ``proof``, SHA-256
  both, Ed25519-sign hash(proof options) || hash(credential) with ``cryptography``, multibase-encode.

Each figure is the median of ``--rounds`` rounds of about ``--seconds`` each; the two implementations
alternate round by round so that drift on a shared machine hits both alike. The ratio fast/pyld is of
medians measured in the same run. The target (issue: >= 400 signatures/s per core) is reported as met
or missed, never asserted: the exit code is 0 whenever the measurement ran.

Run from the repository root: ``.venv/bin/python bench/canonicalize.py [--rounds 7] [--seconds 1]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Run as a script from anywhere: make the repository importable.
    sys.path.insert(0, str(REPO_ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from services.badges.openbadges.jsonld import canonize, canonize_with_pyld  # noqa: E402

TARGET_SIGNATURES_PER_SECOND = 400
EX = "https://practicum.example"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def typical_credential() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
        "id": "urn:uuid:6a0bd5a9-6f5c-4c36-8f3e-2b1d0c9e8a71",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Formative Assessment \u2014 Tier 1",
        "issuer": {
            "id": "did:web:practicum.example",
            "type": ["Profile"],
            "name": "Demo Unified School District",
            "url": "https://demo-usd.example",
            "email": "pl@demo-usd.example",
            "image": {"id": f"{EX}/logo.png", "type": "Image", "caption": "Logo"},
        },
        "validFrom": "2026-01-15T09:30:00Z",
        "validUntil": "2031-01-15T09:30:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"{EX}/achievements/fa-1",
                "type": ["Achievement"],
                "achievementType": "MicroCredential",
                "name": "Formative Assessment \u2014 Tier 1",
                "description": "Shows evidence of planning formative assessment.",
                "criteria": {"narrative": "Submit a **lesson plan** and a reflection.\n\n1. Plan\n2. Reflect"},
                "image": {"id": f"{EX}/achievements/fa-1.png", "type": "Image"},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "Uses formative assessment",
                        "targetUrl": "https://case.example/uri/1b1f1c8e-0000-4000-8000-000000000001",
                        "targetCode": "1b1f1c8e-0000-4000-8000-000000000001",
                        "targetFramework": "Practicum Educator Competencies",
                    }
                ],
                "resultDescription": [
                    {
                        "id": "urn:uuid:0c2f4a52-1f0b-4b86-a2c4-5c1a3f6a8d10",
                        "type": ["ResultDescription"],
                        "name": "Rubric level",
                        "resultType": "RubricCriterionLevel",
                        "allowedValue": ["Beginning", "Developing", "Proficient", "Exemplary"],
                    }
                ],
                "creditsAvailable": 1.5,
                "tag": ["assessment", "tier-1"],
                "humanCode": "FA-1",
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": "urn:uuid:0c2f4a52-1f0b-4b86-a2c4-5c1a3f6a8d10",
                    "value": "Proficient",
                },
                {"type": ["Result"], "status": "Completed"},
            ],
        },
        "evidence": [
            {"type": ["Evidence"], "name": "Lesson plan", "narrative": "Fractions, week 3 (\u00bd and \u00bc)."},
            {"type": ["Evidence"], "name": "Reflection", "genre": "Essay"},
            {"id": f"{EX}/evidence/77", "type": ["Evidence"], "name": "Observation video"},
        ],
        "credentialStatus": [
            {
                "id": f"{EX}/status/revocation#94567",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "94567",
                "statusListCredential": f"{EX}/status/revocation",
            },
            {
                "id": f"{EX}/status/suspension#94567",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
                "statusListIndex": "94567",
                "statusListCredential": f"{EX}/status/suspension",
            },
        ],
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
    }


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = B58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def make_signer(canon: Callable[[Any], str], key: Ed25519PrivateKey) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def sign(credential: dict[str, Any]) -> dict[str, Any]:
        unsecured = {name: value for name, value in credential.items() if name != "proof"}
        proof = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-15T09:30:00Z",
            "verificationMethod": "did:web:practicum.example#key-1",
            "proofPurpose": "assertionMethod",
        }
        options = {"@context": unsecured["@context"], **proof}
        to_sign = hashlib.sha256(canon(options).encode()).digest() + hashlib.sha256(canon(unsecured).encode()).digest()
        return {**unsecured, "proof": {**proof, "proofValue": "z" + base58btc(key.sign(to_sign))}}

    return sign


def rate(function: Callable[[], object], seconds: float) -> float:
    """Calls per second over about ``seconds`` (batches sized from a first estimate)."""
    start = time.perf_counter()
    function()
    estimate = max(time.perf_counter() - start, 1e-6)
    calls = max(1, int(seconds / estimate))
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return calls / (time.perf_counter() - start)


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per measurement (default 7)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (default 1.0)")
    args = parser.parse_args()

    pinning = pin_to_one_cpu()
    credential = typical_credential()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    sign_pyld = make_signer(canonize_with_pyld, key)
    sign_fast = make_signer(canonize, key)

    # Warm caches (pyld's resolved contexts, our processed contexts) and check both agree.
    fast_nquads = canonize(credential)
    pyld_nquads = canonize_with_pyld(credential)
    for _ in range(20):
        canonize(credential)
        canonize_with_pyld(credential)
    signed_fast = sign_fast(credential)
    signed_pyld = sign_pyld(credential)

    measurements: dict[str, Callable[[], object]] = {
        "canonize, pyld": lambda: canonize_with_pyld(credential),
        "canonize, fast": lambda: canonize(credential),
        "sign eddsa-rdfc-2022, pyld": lambda: sign_pyld(credential),
        "sign eddsa-rdfc-2022, fast": lambda: sign_fast(credential),
    }
    results: dict[str, list[float]] = {name: [] for name in measurements}
    for round_number in range(args.rounds):
        names = list(measurements)
        if round_number % 2:
            names = [names[1], names[0], names[3], names[2]]
        for name in names:
            results[name].append(rate(measurements[name], args.seconds))

    print(f"Python {platform.python_version()} on {platform.machine()}, {pinning}; {os.cpu_count()} CPUs")
    print(f"credential: {len(fast_nquads.splitlines())} canonical quads, {len(fast_nquads.encode())} bytes")
    print(f"fast and pyld canonical N-Quads identical: {fast_nquads == pyld_nquads}")
    print(f"fast and pyld signatures identical: {signed_fast['proof'] == signed_pyld['proof']}")
    print(f"{args.rounds} rounds of ~{args.seconds:g} s each, medians per core:\n")
    print(f"{'':28} {'median /s':>10} {'min /s':>10} {'max /s':>10} {'ms each':>9}")
    medians = {}
    for name, rates in results.items():
        medians[name] = statistics.median(rates)
        print(f"{name:28} {medians[name]:10.0f} {min(rates):10.0f} {max(rates):10.0f} {1000 / medians[name]:9.3f}")
    canonize_ratio = medians["canonize, fast"] / medians["canonize, pyld"]
    sign_ratio = medians["sign eddsa-rdfc-2022, fast"] / medians["sign eddsa-rdfc-2022, pyld"]
    print(f"\nratio fast/pyld: canonize x{canonize_ratio:.1f}, sign x{sign_ratio:.1f}")
    fast_sign = medians["sign eddsa-rdfc-2022, fast"]
    verdict = "met" if fast_sign >= TARGET_SIGNATURES_PER_SECOND else "MISSED"
    print(f"target >= {TARGET_SIGNATURES_PER_SECOND} signatures/s per core: {verdict} ({fast_sign:.0f}/s)")


if __name__ == "__main__":
    main()
