"""The fast JSON-LD -> RDFC-1.0 canonicalizer against the references: jsonld.js and pyld.

What we sign with eddsa-rdfc-2022 must canonicalize, byte for byte, as the JavaScript verifiers
(jsonld 9 + rdf-canonize 5, safe mode) canonicalize it. So every document here is compared with
``interop/node/canonize.mjs`` (all of them in one batched node call per session), and realistic
credentials are compared with pyld as well. Without ``interop/node/node_modules`` (``npm ci --prefix
interop/node``) the JavaScript comparisons are skipped and say so.

Three kinds of outcome are checked: the same N-Quads; an error on both sides (our
``InvalidJsonLd`` / ``UndefinedTerm`` / ``CanonicalizationLimitExceeded`` where jsonld.js fails);
or ``UnsupportedJsonLd`` on our side, which only ever means "use the slow path".
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.badges.openbadges import jsonld as jsonld_module
from services.badges.openbadges.jsonld import (
    ContextNotBundled,
    InvalidJsonLd,
    UndefinedTerm,
    UnsupportedJsonLd,
    canonize,
    canonize_with_pyld,
    document_loader,
    load_context,
    to_rdf,
)
from services.badges.openbadges.rdfc import (
    CanonicalizationError,
    CanonicalizationLimitExceeded,
    Limits,
    canonicalize,
    escape_iri,
    escape_literal,
)

REPO_ROOT = Path(__file__).resolve().parents[4]
NODE_DIR = REPO_ROOT / "interop" / "node"
HARNESS = NODE_DIR / "canonize.mjs"

V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
OB_CONTEXT = [V2, OB, OB_EXTENSIONS]
EX = "https://practicum.example"

# Strings a learner or issuer may well type: accents, CJK, quotes, backslashes, tabs, newlines, emoji.
AWKWARD = 'Zo\u00eb "Q" O\'Brien \\ back\tslash\nnew line \u5b66\u4e60 \U0001f393 \u00e9t\u00e9 caf\u00e9'


# --- the corpus ------------------------------------------------------------------------------


def proof_object(created: str = "2026-01-15T09:30:00Z") -> dict[str, Any]:
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": created,
        "verificationMethod": "did:web:practicum.example#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKhQCZ8mfy",
    }


def ob_credential(text: str = AWKWARD, **overrides: Any) -> dict[str, Any]:
    """An OB 3.0 AchievementCredential with most of what the badges service puts in one."""
    credential: dict[str, Any] = {
        "@context": list(OB_CONTEXT),
        "id": "urn:uuid:6a0bd5a9-6f5c-4c36-8f3e-2b1d0c9e8a71",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{text} \u2014 credential",
        "description": "Awarded for sustained work on fractions.\nSecond line.",
        "issuer": {
            "id": "did:web:practicum.example",
            "type": ["Profile"],
            "name": "Practicum Acad\u00e9mie",
            "url": f"{EX}/",
            "email": "badges@practicum.example",
            "image": {"id": f"{EX}/logo.png", "type": "Image", "caption": "Practicum \U0001f4da"},
        },
        "validFrom": "2026-01-15T09:30:00Z",
        "validUntil": "2031-01-15T09:30:00Z",
        "awardedDate": "2026-01-15T09:30:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$8c8b8f2b0d2e0d7c6e1f4b6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "pepper",
                }
            ],
            "achievement": {
                "id": f"{EX}/achievements/fractions-2",
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": f"Fractions, level 2 \u2014 {text}",
                "description": 'Adds and compares fractions with "unlike" denominators.',
                "criteria": {"narrative": "1. Explain\n2. Demonstrate\t(observed)\n3. Reflect \\o/"},
                "image": {"id": f"{EX}/achievements/fractions-2.png", "type": "Image"},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "CCSS.MATH.CONTENT.4.NF.A.2",
                        "targetUrl": "https://www.thecorestandards.org/Math/Content/4/NF/A/2/",
                        "targetCode": "4.NF.A.2",
                        "targetFramework": "Common Core",
                        "targetType": "CFItem",
                    },
                    {"type": ["Alignment"], "targetName": "Numbers \u00bd", "targetUrl": f"{EX}/framework/n1"},
                ],
                "resultDescription": [
                    {
                        "id": "urn:uuid:0c2f4a52-1f0b-4b86-a2c4-5c1a3f6a8d10",
                        "type": ["ResultDescription"],
                        "name": "Rubric level",
                        "resultType": "RubricCriterionLevel",
                        "allowedValue": ["Beginning", "Developing", "Proficient", "Exemplary"],
                        "rubricCriterionLevel": [
                            {
                                "id": "urn:uuid:7d3c",
                                "type": ["RubricCriterionLevel"],
                                "level": "Proficient",
                                "points": "3",
                            }
                        ],
                    },
                    {"type": ["ResultDescription"], "name": "Score", "resultType": "ScaledScore", "valueMax": "100"},
                ],
                "creditsAvailable": 1.5,
                "tag": ["math", "fractions", "grade 4"],
                "version": "2",
                "inLanguage": "en",
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": "urn:uuid:0c2f4a52-1f0b-4b86-a2c4-5c1a3f6a8d10",
                    "value": "Proficient",
                },
                {"type": ["Result"], "value": "87", "status": "Completed"},
            ],
            "activityStartDate": "2025-09-01",
            "activityEndDate": "2025-12-19",
            "creditsEarned": 2,
        },
        "evidence": [
            {"type": ["Evidence"], "name": "Portfolio", "narrative": "Three worked problems.", "genre": "Portfolio"},
            {"id": f"{EX}/evidence/77", "type": ["Evidence"], "name": "Video", "audience": "Teachers"},
            {"type": ["Evidence"], "name": "Observation \u2713", "description": "Observed in class."},
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
    credential.update(overrides)
    return credential


def proof_options(credential: dict[str, Any]) -> dict[str, Any]:
    """What eddsa-rdfc-2022 canonicalizes for the proof: the proof minus proofValue, with the @context."""
    options = {key: value for key, value in proof_object().items() if key != "proofValue"}
    return {"@context": credential["@context"], **options}


def status_list_credential() -> dict[str, Any]:
    return {
        "@context": [V2],
        "id": f"{EX}/status/revocation",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:web:practicum.example",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{EX}/status/revocation#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
        },
    }


def did_document() -> dict[str, Any]:
    key = {
        "id": "did:web:practicum.example#key-1",
        "type": "Multikey",
        "controller": "did:web:practicum.example",
        "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    }
    return {
        "@context": [DID_V1, MULTIKEY],
        "id": "did:web:practicum.example",
        "verificationMethod": [key],
        "assertionMethod": ["did:web:practicum.example#key-1"],
        "authentication": [key["id"]],
    }


def multikey_document() -> dict[str, Any]:
    return {
        "@context": MULTIKEY,
        "id": "did:web:practicum.example#key-1",
        "type": "Multikey",
        "controller": "did:web:practicum.example",
        "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "expires": "2030-01-01T00:00:00Z",
    }


def endorsement_credential() -> dict[str, Any]:
    return {
        "@context": OB_CONTEXT,
        "id": "urn:uuid:e1",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": "Endorsement \u00ab fractions \u00bb",
        "issuer": {"id": "did:web:district.example", "type": "Profile", "name": "District 9"},
        "validFrom": "2026-02-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{EX}/achievements/fractions-2",
            "type": "EndorsementSubject",
            "endorsementComment": 'We endorse this \u2014 "well designed".',
        },
    }


def corpus() -> dict[str, Any]:
    credential = ob_credential()
    signed = ob_credential(proof=proof_object())
    two_proofs = ob_credential(proof=[proof_object(), proof_object("2026-01-16T00:00:00Z")])
    minimal = {
        "@context": [V2, OB],
        "id": "urn:uuid:minimal",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": "did:web:practicum.example",
        "validFrom": "2026-01-15T09:30:00Z",
        "credentialSubject": {
            "type": "AchievementSubject",
            "achievement": {
                "id": f"{EX}/a/1",
                "type": "Achievement",
                "name": "Minimal",
                "criteria": {"narrative": "Do it."},
            },
        },
    }
    subject_with_id = ob_credential()
    subject_with_id["credentialSubject"]["id"] = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
    legacy = {}
    for version in ("context-3.0.2.json", "context-3.0.1.json", "context.json"):
        document = copy.deepcopy(minimal)
        document["@context"] = [V2, f"https://purl.imsglobal.org/spec/ob/v3p0/{version}"]
        if version != "context-3.0.2.json":
            # The early OB 3.0 contexts redefine the protected "description" of VC 2.0: VC 1.1 only.
            document["@context"][0] = V1
            document["issuanceDate"] = document.pop("validFrom")
        legacy[f"ob-{version}"] = document
    with_di_context = ob_credential(proof=proof_object())
    with_di_context["@context"] = [*OB_CONTEXT, DI_V2]
    status_context = ob_credential()
    status_context["@context"] = [V2, STATUS_V1, OB, OB_EXTENSIONS]
    language = ob_credential(
        description=[
            {"@value": "Fractions", "@language": "en"},
            {"@value": "\u0643\u0633\u0648\u0631", "@language": "AR", "@direction": "rtl"},
        ]
    )
    numbers = {
        "@context": [V2, {"@vocab": "https://example.org/vocab#"}],
        "type": "VerifiableCredential",
        "issuer": "did:web:practicum.example",
        "credentialSubject": {
            "id": "did:example:learner",
            "integers": [0, 1, -1, 5.0, 2**53 + 1, 2**60, 12345678901234567890],
            "doubles": [1.5, -2.5, 0.1, 1 / 3, 1e21, 1e300, 5e-324, 1.5e-7, 1 + 2**-16],
            "tiny": [1e-7, 5e-7, -5e-7, -0.0],
            "flags": [True, False],
        },
    }
    json_schema = {
        "@context": [V2],
        "type": "VerifiableCredential",
        "issuer": "did:web:practicum.example",
        "credentialSubject": {"id": "did:example:learner"},
        "credentialSchema": {
            "id": f"{EX}/schema",
            "type": "JsonSchema",
            "jsonSchema": {
                "type": "object",
                "\u00e9": [1, 2.5, 1e21, None, "x\u0001"],
                "a": {"\ue000": 1, "\U0001f600": 2},
            },
        },
    }
    presentation = {
        "@context": [V2],
        "type": "VerifiablePresentation",
        "holder": "did:example:learner",
        "verifiableCredential": [signed],
    }
    astral_order = ob_credential()
    astral_order["credentialSubject"]["achievement"]["tag"] = ["\U0001f600", "\uffff", "\ue000", "a", "\u00ff"]
    return {
        "ob-credential": credential,
        "ob-credential-signed": signed,
        "ob-credential-two-proofs": two_proofs,
        "ob-proof-options": proof_options(credential),
        "ob-minimal": minimal,
        "ob-subject-with-id": subject_with_id,
        "ob-with-data-integrity-context": with_di_context,
        "ob-with-status-context": status_context,
        "ob-language-direction": language,
        "ob-astral-sort-order": astral_order,
        "endorsement": endorsement_credential(),
        "status-list": status_list_credential(),
        "did-document": did_document(),
        "multikey": multikey_document(),
        "numbers": numbers,
        "json-schema-literal": json_schema,
        "presentation": presentation,
        **legacy,
    }


CORPUS = corpus()
# pyld 3 parts from jsonld.js on these (see test_pyld_divergences_are_real): keep them out of the
# pyld comparison only.
PYLD_DIFFERS = {"numbers", "ob-astral-sort-order"}


def control_character_documents() -> dict[str, Any]:
    documents = {}
    for code in [*range(0x20), 0x7F]:
        documents[f"U+{code:04X}"] = ob_credential(text=f"a{chr(code)}b{chr(code)}")
    documents["all"] = ob_credential(text="".join(chr(code) for code in [*range(0x20), 0x7F]))
    return documents


CONTROL = control_character_documents()


# --- randomized documents (property-based style, fixed seeds) ---------------------------------

POOL = [*"aZ 0@:_", "\u00e9", "\u5b66", '"', "\\", "<", "{", "|", "\t", "\n", "\r", "\b", "\f", "\u0000", "\u0001"]
POOL += ["\u000b", "\u001f", "\u007f", "\u0080", "\u2028", "\ue000", "\uffff", "\ufffd", "\U0001f600", "\U0001f393"]
NUMBERS = [0, -0.0, 1, -1, 1.5, 5.0, 1e21, 1e-7, 5e-7, 1.5e-7, 2**53 + 1, 1 + 2**-16, 0.1, 1 / 3, -2.5, 1e300]


def random_text(rng: random.Random, length: int | None = None) -> str:
    return "".join(rng.choice(POOL) for _ in range(rng.randint(0, 6) if length is None else length))


def random_scalar(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return random_text(rng)
    if roll < 0.8:
        return rng.choice(NUMBERS)
    if roll < 0.9:
        return rng.choice([True, False])
    return rng.choice([None, [], [random_text(rng), random_text(rng)]])


def random_credential(rng: random.Random) -> dict[str, Any]:
    """An OB credential with random optional parts, random strings, duplicates and the odd mistake."""
    document = ob_credential(text=random_text(rng))
    if rng.random() < 0.3:
        del document["id"]
    subject = document["credentialSubject"]
    achievement = subject["achievement"]
    achievement["name"] = random_scalar(rng)
    achievement["criteria"] = {"narrative": random_scalar(rng)} if rng.random() < 0.8 else {}
    achievement["creditsAvailable"] = rng.choice(NUMBERS)
    achievement["tag"] = [random_text(rng, 1) for _ in range(rng.randint(0, 4))]  # duplicates are likely
    if rng.random() < 0.5:
        achievement.pop("id")
    same = random_text(rng) if rng.random() < 0.5 else None
    subject["result"] = [
        {"type": ["Result"], "value": same if same is not None else random_text(rng)} for _ in range(rng.randint(0, 3))
    ]
    document["evidence"] = [
        {"type": ["Evidence"], "name": same if same is not None else random_text(rng)} for _ in range(rng.randint(1, 4))
    ]
    if rng.random() < 0.3:
        subject["id"] = f"did:example:{rng.randint(0, 2)}"
    if rng.random() < 0.3:
        document["proof"] = [proof_object()] * rng.randint(1, 2)
    if rng.random() < 0.2:
        document["description"] = {"@value": random_text(rng), "@language": rng.choice(["en", "EN-gb", "fr-CA"])}
    if rng.random() < 0.05:
        subject["nonsense"] = 1  # undefined: both sides must refuse
    if rng.random() < 0.05:
        achievement["type"] = ["Achievement", "NotAType"]
    return document


VOCAB_CONTEXT = {
    "@vocab": "https://example.org/v#",
    "ex": "https://example.org/",
    "lst": {"@id": "ex:lst", "@container": "@list"},
    "ref": {"@id": "ex:ref", "@type": "@id"},
    "voc": {"@id": "ex:voc", "@type": "@vocab"},
    "dt": {"@id": "ex:dt", "@type": "ex:Datatype"},
    "js": {"@id": "ex:js", "@type": "@json"},
    "gr": {"@id": "ex:gr", "@container": "@graph"},
    "en": {"@id": "ex:en", "@language": "en"},
    "T": "ex:T",
    "U": {"@id": "ex:U", "@context": {"inner": "ex:inner", "ref": {"@id": "ex:ref2", "@type": "@id"}}},
}
VOCAB_KEYS = ["a", "b", "lst", "ref", "voc", "dt", "js", "gr", "en", "ex:c", "https://o.example/p", "k\U0001f600"]
VOCAB_KEYS += ["k\uffff", "\u00c4", "inner"]
NODE_IDS = ["_:x", "_:y", "urn:n1", "urn:n2", "ex:n3"]


def random_node(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """Generic JSON-LD over an inline @vocab context: keys, value objects, lists, graphs, blank ids."""
    node: dict[str, Any] = {}
    if rng.random() < 0.4:
        node["id"] = rng.choice(NODE_IDS)
    if rng.random() < 0.4:
        node["type"] = rng.sample(["T", "U", "ex:V", "https://o.example/W"], rng.randint(1, 2))
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(VOCAB_KEYS)
        roll = rng.random()
        if key == "js":
            node[key] = rng.choice([{"b": 1, "a": [random_text(rng), 2.5]}, [1, "x"], None, 1e-7])
        elif depth > 2 or roll < 0.45:
            node[key] = random_scalar(rng) if rng.random() < 0.8 else rng.choice(NODE_IDS)
        elif roll < 0.6:
            value: dict[str, Any] = {"@value": random_scalar(rng) or "v"}
            if rng.random() < 0.3:
                value["@language"] = rng.choice(["en", "fr-CA"])
            elif rng.random() < 0.3:
                value["@type"] = rng.choice(["ex:D", "http://www.w3.org/2001/XMLSchema#double"])
            node[key] = value
        elif roll < 0.85:
            node[key] = random_node(rng, depth + 1)
        else:
            node[key] = [random_node(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    node["@context"] = [V2, VOCAB_CONTEXT] if rng.random() < 0.5 else VOCAB_CONTEXT
    if len(node) == 1:
        node["a"] = 1
    return node


BLANK_CONTEXT = {"@vocab": "https://example.org/v#"}


def random_blank_tree(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """Trees of blank nodes with identical sibling copies: the hard case for RDFC-1.0 and its bound."""
    node: dict[str, Any] = {"v": rng.choice(["a", "b"])} if rng.random() < 0.5 else {}
    if depth < 3 and rng.random() < 0.8:
        child = random_blank_tree(rng, depth + 1)
        node["p"] = [copy.deepcopy(child) for _ in range(rng.choice([1, 1, 2, 2, 3]))]
        if rng.random() < 0.3:
            node["q"] = random_blank_tree(rng, depth + 1)
    return node or {"v": "c"}


def randomized() -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for seed in (1, 2):
        rng = random.Random(seed)
        for index in range(120):
            documents[f"credential-{seed}-{index}"] = random_credential(rng)
    rng = random.Random(3)
    for index in range(250):
        documents[f"vocab-{index}"] = random_node(rng)
    rng = random.Random(4)
    for index in range(200):
        trees = [random_blank_tree(rng) for _ in range(rng.randint(1, 2))]
        documents[f"blank-tree-{index}"] = {"@context": BLANK_CONTEXT, "id": "urn:root", "p": trees}
    return documents


RANDOMIZED = randomized()


def expected_errors() -> dict[str, Any]:
    """Documents jsonld.js (safe mode) rejects: we must refuse them too, with the right exception."""
    ok = ob_credential()
    documents: dict[str, Any] = {}
    document = copy.deepcopy(ok)
    document["credentialSubject"]["undefinedThing"] = "x"
    documents["undefined-term"] = document
    document = copy.deepcopy(ok)
    document["credentialSubject"]["achievement"]["type"] = ["Achievement", "NotAType"]
    documents["undefined-type"] = document
    document = copy.deepcopy(ok)
    document["credentialSchema"][0]["type"] = "1EdTechJsonSchemaValidator2019"
    document["@context"] = [V2, OB]  # the extensions context defines that type
    documents["type-from-missing-context"] = document
    documents["relative-id"] = ob_credential(id="credential-1")
    documents["id-with-space"] = ob_credential(id="https://example.org/a b")
    documents["relative-issuer"] = ob_credential(issuer="practicum")
    documents["empty-proof"] = ob_credential(proof={})
    documents["proof-with-only-id"] = ob_credential(proof={"id": "urn:proof"})
    documents["null-value"] = ob_credential(name={"@value": None})
    documents["only-language"] = ob_credential(name={"@language": "en"})
    documents["bad-language-tag"] = ob_credential(name={"@value": "x", "@language": "en_US"})
    documents["numeric-id"] = ob_credential(id=5)
    documents["protected-redefinition"] = ob_credential(
        **{"@context": [*OB_CONTEXT, {"name": "https://example.org/n"}]}
    )
    documents["nullify-protected"] = ob_credential(**{"@context": [*OB_CONTEXT, None]})
    documents["top-level-only-id"] = {"@context": [V2], "id": "urn:nothing-else"}
    documents["ob-3.0.1-after-vc-2.0"] = ob_credential(
        **{"@context": [V2, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json", OB_EXTENSIONS]}
    )
    documents["reserved-key"] = ob_credential(**{"@foo": 1})
    return documents


ERRORS = expected_errors()


# --- the JavaScript reference ------------------------------------------------------------------


def run_harness(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("jsonld.js is not installed: run `npm ci --prefix interop/node` to compare with it")
    if not HARNESS.is_file():
        pytest.skip(f"{HARNESS.relative_to(REPO_ROOT)} is missing: no JavaScript reference to compare with")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: no JavaScript reference to compare with")
    completed = subprocess.run(
        [node, str(HARNESS)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"canonize.mjs failed ({completed.returncode}): {completed.stderr[-2000:]}"
    answers: list[dict[str, Any]] = json.loads(completed.stdout)
    assert len(answers) == len(requests)
    return answers


@pytest.fixture(scope="session")
def js() -> dict[str, dict[str, Any]]:
    """jsonld.js's answer for every document in this module, from a single batched node call."""
    named: dict[str, Any] = {}
    for group, documents in (("corpus", CORPUS), ("control", CONTROL), ("random", RANDOMIZED), ("error", ERRORS)):
        for name, document in documents.items():
            named[f"{group}/{name}"] = {"document": document}
    for name in ("ob-credential", "ob-credential-signed", "ob-proof-options", "status-list"):
        named[f"cryptosuite/{name}"] = {"document": CORPUS[name], "mode": "cryptosuite"}
    answers = run_harness(list(named.values()))
    return dict(zip(named, answers, strict=True))


def reference_nquads(js: dict[str, dict[str, Any]], key: str) -> str:
    answer = js[key]
    assert "nquads" in answer, f"jsonld.js refused {key}: {answer.get('error')}"
    nquads: str = answer["nquads"]
    return nquads


# --- corpus: equal to jsonld.js and to pyld -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_matches_jsonld_js(name: str, js: dict[str, dict[str, Any]]) -> None:
    assert canonize(CORPUS[name]) == reference_nquads(js, f"corpus/{name}")


@pytest.mark.parametrize("name", ["ob-credential", "ob-credential-signed", "ob-proof-options", "status-list"])
def test_corpus_matches_what_the_cryptosuite_hashes(name: str, js: dict[str, dict[str, Any]]) -> None:
    assert canonize(CORPUS[name]) == reference_nquads(js, f"cryptosuite/{name}")


@pytest.mark.parametrize("name", sorted(set(CORPUS) - PYLD_DIFFERS))
def test_corpus_matches_pyld(name: str) -> None:
    assert canonize(CORPUS[name]) == canonize_with_pyld(CORPUS[name])


def test_a_signed_credential_has_its_proof_in_a_named_graph() -> None:
    lines = canonize(CORPUS["ob-credential-signed"]).splitlines()
    proof_link = [line for line in lines if "<https://w3id.org/security#proof>" in line]
    assert len(proof_link) == 1
    graph = proof_link[0].split()[2]
    assert graph.startswith("_:c14n")
    in_graph = [line for line in lines if line.endswith(f" {graph} .")]
    assert any("eddsa-rdfc-2022" in line for line in in_graph)
    assert any("<https://w3id.org/security#proofValue>" in line for line in in_graph)


def test_canonical_output_is_independent_of_key_and_array_order_of_objects() -> None:
    credential = ob_credential()
    shuffled = json.loads(json.dumps(credential))
    shuffled = dict(reversed(list(shuffled.items())))
    shuffled["evidence"] = list(reversed(shuffled["evidence"]))
    shuffled["credentialStatus"] = list(reversed(shuffled["credentialStatus"]))
    assert canonize(shuffled) == canonize(credential)


# --- literal escaping ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONTROL))
def test_control_characters_match_jsonld_js(name: str, js: dict[str, dict[str, Any]]) -> None:
    assert canonize(CONTROL[name]) == reference_nquads(js, f"control/{name}")


def test_literal_escaping_is_that_of_rdf_canonize() -> None:
    short = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
    for code in range(0x80):
        expected = short.get(code, f"\\u{code:04X}" if code < 0x20 or code == 0x7F else chr(code))
        assert escape_literal(chr(code)) == expected, f"U+{code:04X}"
    assert escape_literal("\u0001\u0008\u000c\u007f") == "\\u0001\\b\\f\\u007F"
    for raw in ("\u0080", "\u00a0", "\u2028", "\ufeff", "\U0001f393", "\u5b66"):
        assert escape_literal(raw) == raw
    assert (
        escape_iri('a b<>"{}|^`\\\u0001')
        == "a\\u0020b\\u003C\\u003E\\u0022\\u007B\\u007D\\u007C\\u005E\\u0060\\u005C\\u0001"
    )


def test_pyld_divergences_are_real() -> None:
    """Why we do not sign with pyld: on these inputs its output is not what jsonld.js computes."""
    # Escaping: pyld writes U+0001, U+0008, U+000C, U+007F raw.
    document = ob_credential(text="a\u0001\u0008\u000c\u007fb")
    assert canonize(document) != canonize_with_pyld(document)
    assert "a\\u0001\\b\\f\\u007Fb" in canonize(document)
    # Numbers: toExponential rounds 1 + 2**-16 half up, pyld half to even; and jsonld.js calls 1e-7 an
    # integer (String(1e-7) has no "."), so it becomes "0", where pyld writes a double.
    ours, theirs = canonize(CORPUS["numbers"]), canonize_with_pyld(CORPUS["numbers"])
    assert '"1.000015258789063E0"^^' in ours
    assert '"1.000015258789062E0"^^' in theirs
    assert '"0"^^<http://www.w3.org/2001/XMLSchema#integer>' in ours
    assert '"1.0E-7"^^' in theirs
    # Order: JavaScript sorts by UTF-16 code unit, so an emoji (a surrogate pair) sorts before U+FFFF.
    ours = canonize(CORPUS["ob-astral-sort-order"])
    assert ours.index('"\U0001f600"') < ours.index('"\uffff"')
    theirs = canonize_with_pyld(CORPUS["ob-astral-sort-order"])
    assert theirs.index('"\U0001f600"') > theirs.index('"\uffff"')


# --- undefined terms, invalid and unsupported input -----------------------------------------------


def test_undefined_term_raises_with_its_path() -> None:
    with pytest.raises(UndefinedTerm) as raised:
        canonize(ERRORS["undefined-term"])
    assert raised.value.path == "$.credentialSubject.undefinedThing"
    assert "undefinedThing" in str(raised.value)


def test_undefined_type_raises_with_its_path() -> None:
    with pytest.raises(UndefinedTerm) as raised:
        canonize(ERRORS["undefined-type"])
    assert raised.value.path == "$.credentialSubject.achievement.type[1]"


def test_type_needing_a_missing_context_raises() -> None:
    with pytest.raises(UndefinedTerm, match="1EdTechJsonSchemaValidator2019"):
        canonize(ERRORS["type-from-missing-context"])


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_what_jsonld_js_rejects_we_reject(name: str, js: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(InvalidJsonLd):
        canonize(ERRORS[name])
    assert "error" in js[f"error/{name}"], js[f"error/{name}"]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (ob_credential(**{"@context": [*OB_CONTEXT, "https://example.org/unknown-context"]}), '$["@context"]'),
        (ob_credential(**{"@context": [*OB_CONTEXT, {"r": {"@reverse": "https://example.org/r"}}]}), '$["@context"]'),
        (
            ob_credential(**{"@context": [*OB_CONTEXT, {"m": {"@id": "https://e.org/m", "@container": "@language"}}]}),
            '$["@context"]',
        ),
        (ob_credential(**{"@included": [{"id": "urn:x", "name": "x"}]}), '$["@included"]'),
        (ob_credential(name={"@list": ["a"]}), '$.name["@list"]'),
        (ob_credential(name="a\ud800"), "$.name"),
    ],
)
def test_unsupported_input_raises_with_its_path(document: dict[str, Any], path: str) -> None:
    with pytest.raises(UnsupportedJsonLd) as raised:
        canonize(document)
    assert raised.value.path == path


def test_unknown_context_is_not_fetched() -> None:
    with pytest.raises(ContextNotBundled, match="not one of the bundled contexts"):
        canonize(ob_credential(**{"@context": [V2, "https://example.org/context.json"]}))


def test_errors_are_canonicalization_errors_and_value_errors() -> None:
    for error in (UnsupportedJsonLd, InvalidJsonLd, UndefinedTerm, ContextNotBundled, CanonicalizationLimitExceeded):
        assert issubclass(error, CanonicalizationError)
        assert issubclass(error, ValueError)


# --- complexity bounds ----------------------------------------------------------------------------


def twin_blank_nodes(children: int) -> dict[str, Any]:
    """Two identical evidence items each with identical blank children: beyond maxWorkFactor 1 at 2 children."""
    alignment = {"type": "Alignment", "targetName": "same"}
    evidence = {"type": "Evidence", "name": "same", "alignment": [alignment] * children}
    return ob_credential(evidence=[evidence, evidence])


def test_work_bound_matches_the_javascript_verifier(js: dict[str, dict[str, Any]]) -> None:
    canonize(twin_blank_nodes(1))  # within the bound: fine
    with pytest.raises(CanonicalizationLimitExceeded, match="maxWorkFactor"):
        canonize(twin_blank_nodes(2))
    answers = run_harness([{"document": twin_blank_nodes(1)}, {"document": twin_blank_nodes(2)}])
    assert answers[0]["nquads"] == canonize(twin_blank_nodes(1))
    assert "Maximum deep iterations exceeded" in answers[1]["error"]


def test_size_bounds_raise() -> None:
    credential = ob_credential()
    with pytest.raises(CanonicalizationLimitExceeded, match="quads"):
        canonize(credential, limits=Limits(max_quads=20))
    with pytest.raises(CanonicalizationLimitExceeded, match="blank nodes"):
        canonicalize(to_rdf(credential), Limits(max_blank_nodes=3))
    nested: dict[str, Any] = {"v": "leaf"}
    for _ in range(80):
        nested = {"p": nested}
    with pytest.raises(CanonicalizationLimitExceeded, match="deeper"):
        canonize({"@context": BLANK_CONTEXT, "id": "urn:root", **nested})


def test_permutation_bound_raises_even_when_work_factor_allows_more() -> None:
    document = twin_blank_nodes(4)
    with pytest.raises(CanonicalizationLimitExceeded, match="permutations"):
        canonize(document, limits=Limits(max_work_factor=4, max_permutations=50))


# --- randomized documents against jsonld.js --------------------------------------------------------


def outcome(document: Any) -> tuple[str, str]:
    try:
        return "nquads", canonize(document)
    except UnsupportedJsonLd as error:
        return "unsupported", str(error)
    except CanonicalizationError as error:
        return "error", f"{type(error).__name__}: {error}"


def test_randomized_documents_match_jsonld_js(js: dict[str, dict[str, Any]]) -> None:
    mismatches = []
    counts = {"nquads": 0, "error": 0, "unsupported": 0, "limit": 0}
    for name, document in RANDOMIZED.items():
        kind, text = outcome(document)
        counts[kind] += 1
        counts["limit"] += text.startswith("CanonicalizationLimitExceeded")
        answer = js[f"random/{name}"]
        if kind == "nquads" and answer.get("nquads") != text:
            mismatches.append(f"{name}: output differs (jsonld.js: {answer.get('error', 'other N-Quads')})")
        elif kind == "error" and "error" not in answer:
            mismatches.append(f"{name}: we refused ({text}) but jsonld.js did not")
    assert not mismatches, "\n".join(mismatches[:10])
    # The generators must keep producing all three kinds of case, or the test proves little.
    assert counts["nquads"] > 350, counts
    assert counts["error"] > 150, counts
    assert counts["limit"] > 50, counts


# --- the document loader ------------------------------------------------------------------------


def test_every_bundled_context_loads_and_is_cached() -> None:
    manifest = json.loads(
        (REPO_ROOT / "services/badges/openbadges/reference/contexts.json").read_text(encoding="utf-8")
    )
    for url in manifest["contexts"]:
        document = load_context(url)
        assert isinstance(document, dict)
        assert "@context" in document
        assert load_context(url) is document


def test_pyld_loader_returns_private_copies() -> None:
    first = document_loader(V2)
    second = document_loader(V2)
    assert set(first) == {"contentType", "contextUrl", "documentUrl", "document"}
    assert first["documentUrl"] == V2
    assert first["document"] == load_context(V2)
    assert first["document"] is not second["document"]
    assert first["document"] is not load_context(V2)


def test_loader_refuses_other_urls() -> None:
    with pytest.raises(ContextNotBundled):
        document_loader("https://www.w3.org/ns/credentials/v2/")  # a trailing slash is another URL
    with pytest.raises(ContextNotBundled):
        load_context("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile_schema.json")


def test_importing_changes_no_pyld_global() -> None:
    pyld = pytest.importorskip("pyld.jsonld")
    loader: Callable[..., Any] = pyld.get_document_loader()
    assert loader is not document_loader
    assert jsonld_module.document_loader is document_loader


# --- the RDF layer on its own --------------------------------------------------------------------


def test_to_rdf_gives_serialized_terms_in_jsonld_js_order() -> None:
    document = {
        "@context": [V2],
        "type": "VerifiableCredential",
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:learner", "name": "Ada \u00e9"},
        "validFrom": "2026-01-01T00:00:00Z",
    }
    assert to_rdf(document) == [
        (
            "_:b0",
            "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>",
            "<https://www.w3.org/2018/credentials#VerifiableCredential>",
            "",
        ),
        ("_:b0", "<https://www.w3.org/2018/credentials#credentialSubject>", "<did:example:learner>", ""),
        ("_:b0", "<https://www.w3.org/2018/credentials#issuer>", "<did:example:issuer>", ""),
        (
            "_:b0",
            "<https://www.w3.org/2018/credentials#validFrom>",
            '"2026-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>',
            "",
        ),
        ("<did:example:learner>", "<https://schema.org/name>", '"Ada \u00e9"', ""),
    ]


def test_canonicalize_labels_blank_nodes_canonically() -> None:
    quads = [
        ("_:x", "<https://e.org/p>", "_:y", ""),
        ("_:y", "<https://e.org/p>", "_:x", ""),
        ("_:x", "<https://e.org/v>", '"a"', ""),
    ]
    swap = {"_:x": "_:y", "_:y": "_:x"}
    relabelled = [(swap.get(s, s), p, swap.get(o, o), g) for s, p, o, g in quads]
    expected = canonicalize(quads)
    assert canonicalize(relabelled) == expected
    assert sorted(set(re.findall(r"_:\w+", expected))) == ["_:c14n0", "_:c14n1"]
