"""Badges verify in verifiers this project did not write, through the gateway, on real sockets.

- OB 3.0 Data Integrity: Digital Bazaar's @digitalbazaar/vc + eddsa-rdfc-2022 cryptosuite and
  vc-bitstring-status-list, run by Node (interop/node), fetching every document (did.json,
  status lists) from the gateway at PUBLIC_BASE_URL; contexts only from the bundle.
- OB 3.0 schema: the official JSON Schema, both published variants.
- VC-JWT: jose (Node), with the key dereferenced from the JOSE header's kid.
- OB 2.0: the IMS validator (openbadges 1.1.2, interop/ob2) against the hosted assertion served
  on loopback and against the signed JWS.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.gateway.deps import gateway_state
from services.gateway.seed import seed_demo
from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER, issuing_as_of
from tests.support import DOMAIN_SERVICES, LiveServer, free_socket

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "interop" / "node"
OB2_PYTHON = ROOT / ".venv-ob2" / "bin" / "python"
SCHEMAS = ROOT / "services" / "badges" / "openbadges" / "reference" / "schemas"


def _require_tools() -> None:
    missing = []
    if not (NODE / "node_modules").is_dir():
        missing.append("interop/node/node_modules (npm ci --prefix interop/node)")
    if not OB2_PYTHON.exists():
        missing.append(".venv-ob2 (interop/ob2/setup.sh)")
    if missing:
        message = "interop verifiers not installed: " + ", ".join(missing) + " — `make interop` installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def run_tool(argv: list[str], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run a harness without blocking the event loop (the servers it fetches from live in it)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(json.dumps(requests).encode()), timeout=120)
    assert process.returncode == 0, f"{argv[-1]} failed ({process.returncode}): {err.decode()[-2000:]}"
    answers = json.loads(out)
    assert isinstance(answers, list)
    return answers


@dataclass
class Stack:
    base: str
    client: httpx.AsyncClient  # through the gateway, as demo-lms

    async def node(self, script: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for request in requests:
            request.setdefault("allowFetchPrefixes", [self.base + "/"])
        return await run_tool(["node", str(NODE / script)], requests)

    async def ob2(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await run_tool([str(OB2_PYTHON), str(ROOT / "interop" / "ob2" / "validate.py")], requests)

    def path(self, url: str) -> str:
        assert url.startswith(self.base), url
        return url[len(self.base) :]

    async def verify_di(self, credential: dict[str, Any]) -> dict[str, Any]:
        return (await self.node("verify-di.mjs", [{"credential": credential}]))[0]

    async def issue(self, achievement_id: str, key: str | None = None, **overrides: Any) -> dict[str, Any]:
        body = {
            "achievement_id": achievement_id,
            "recipient": {"email": "Educator@Demo.Test"},
            "results": [{"criterion": "plan", "level": "proficient"}],
            "evidence": [{"url": "https://portfolio.example/ed/lesson-1", "name": "Lesson plan", "genre": "plan"}],
            **overrides,
        }
        headers = {"idempotency-key": key} if key else {}
        response = await self.client.post("/v1/badges", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
async def stack(make_app: AppFactory) -> AsyncIterator[Stack]:
    _require_tools()
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    services = {
        name: await LiveServer(await make_app(name, **({"public_base_url": base} if name == "badges" else {}))).start()
        for name in DOMAIN_SERVICES
    }
    urls = {f"{name}_url": server.url for name, server in services.items()}
    # One test verifies every form of a badge in three states: more than the public verifier's
    # per-address burst, which these tests do not exercise (tests/services/gateway/proxy/test_ratelimit.py does).
    gateway_app = await make_app("gateway", public_base_url=base, rate_limit_verify_burst=100, **urls)
    async with gateway_state(gateway_app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(gateway_app).hasher)
        await session.commit()
    gateway = await LiveServer(gateway_app, sock).start()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            token = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "badges:issue badges:read"},
                auth=("demo-lms", "demo-lms-secret"),
            )
            client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
            yield Stack(base=base, client=client)
    finally:
        await gateway.stop()
        for server in services.values():
            await server.stop()


async def _issuer_and_achievement(
    stack: Stack, *, suspendable: bool = False, **achievement: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    issuer = await stack.client.post("/v1/issuers", json={**ISSUER, "suspendable": suspendable})
    assert issuer.status_code == 201, issuer.text
    created = await stack.client.post(
        "/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer.json()["id"], **achievement}
    )
    assert created.status_code == 201, created.text
    return issuer.json(), created.json()


OB3_SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"


async def check_ob3_conformance(
    stack: Stack, credential: dict[str, Any], jwt: str, jwk: dict[str, Any], *, now: str | None = None
) -> None:
    """What a strict OB 3.0 verifier checks beyond the proof (issue 16).

    - every ``credentialSchema`` entry has the type OB 3.0 requires;
    - jsonld.js expands the credential in safe mode with the bundled contexts only, so every
      term and type (that one included) is defined; without the extensions context it cannot;
    - the VC-JWT's claims are the spec's JWT Payload table: ``iss`` = ``issuer.id``, ``jti`` =
      ``id``, ``nbf`` = ``validFrom``, ``sub`` = ``credentialSubject.id`` (checked by jose too).
    """
    assert [entry["type"] for entry in credential["credentialSchema"]] == [OB3_SCHEMA_VALIDATOR]
    without_extensions = {**credential, "@context": [c for c in credential["@context"] if c != OB_EXTENSIONS]}
    safe, undefined = await stack.node("expand.mjs", [{"document": credential}, {"document": without_extensions}])
    assert "error" not in safe, safe
    assert {source for _url, source in safe["loaded"]} == {"bundled"}, safe["loaded"]
    assert OB_EXTENSIONS in [url for url, _source in safe["loaded"]]
    (expanded,) = safe["expanded"]
    schema_types = [
        t for entry in expanded["https://www.w3.org/2018/credentials#credentialSchema"] for t in entry["@type"]
    ]
    assert schema_types == ["https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019"]
    assert undefined.get("eventCode") == "relative @type reference", undefined
    assert OB3_SCHEMA_VALIDATOR in undefined["error"]

    subject = credential["credentialSubject"]["id"]
    (jose,) = await stack.node(
        "verify-jwt.mjs",
        [
            {
                "jwt": jwt,
                "jwk": jwk,
                "issuer": credential["issuer"]["id"],
                "subject": subject,
                "requiredClaims": ["iss", "jti", "nbf", "sub"],
                **({"currentDate": now} if now else {}),
            }
        ],
    )
    assert jose["verified"] is True, jose
    valid_from = dt.datetime.fromisoformat(credential["validFrom"])
    assert {claim: jose["payload"][claim] for claim in ("iss", "jti", "nbf", "sub")} == {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": int(valid_from.timestamp()),
        "sub": subject,
    }
    if "validUntil" in credential:
        assert jose["payload"]["exp"] == int(dt.datetime.fromisoformat(credential["validUntil"]).timestamp())
    else:
        assert "exp" not in jose["payload"]


def _schema_errors(credential: dict[str, Any]) -> dict[str, list[str]]:
    errors = {}
    for name in ("ob_v3p0_achievementcredential_schema.json", "ob_v3p0_achievementcredential_schema.strict-2024.json"):
        validator = jsonschema.Draft201909Validator(json.loads((SCHEMAS / name).read_text()))
        errors[name] = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(credential)]
    return errors


async def test_a_fresh_badge_verifies_everywhere_and_revocation_reaches_every_verifier(
    stack: Stack, backend: str
) -> None:
    _issuer, achievement = await _issuer_and_achievement(stack)
    badge = await stack.issue(achievement["id"], key="award-1")
    replay = await stack.issue(achievement["id"], key="award-1")
    changed = await stack.client.post(
        "/v1/badges",
        json={"achievement_id": achievement["id"], "recipient": {"email": "other@demo.test"}},
        headers={"idempotency-key": "award-1"},
    )
    credential = badge["credential"]
    links = badge["links"]
    jwt = (await stack.client.get(stack.path(links["jwt"]))).text

    assert replay["id"] == badge["id"], "the same Idempotency-Key and body give the same badge"
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"
    # A default issuer publishes one status entry (revocation), so the credential validates
    # completely against both variants of the official schema (ADR 0010).
    assert _schema_errors(credential) == {
        "ob_v3p0_achievementcredential_schema.json": [],
        "ob_v3p0_achievementcredential_schema.strict-2024.json": [],
    }

    (fresh_di,) = await stack.node("verify-di.mjs", [{"credential": credential}])
    kid = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "==="))["kid"]
    jwk = (await stack.client.get(stack.path(kid))).json()
    (fresh_jwt,) = await stack.node("verify-jwt.mjs", [{"jwt": jwt, "jwk": jwk, "issuer": credential["issuer"]["id"]}])
    jws = (await stack.client.get(stack.path(links["ob2_jws"]))).text
    hosted, signed = await stack.ob2(
        [
            {"hosted_url": links["ob2_assertion"], "recipient": "educator@demo.test"},
            {"jws": jws, "recipient": "educator@demo.test"},
        ]
    )
    ours = (await stack.client.post("/v1/verify", json={"credential": credential})).json()

    assert fresh_di["verified"] is True, fresh_di
    assert fresh_jwt["verified"] is True, fresh_jwt
    await check_ob3_conformance(stack, credential, jwt, jwk)
    assert credential["credentialSubject"]["id"].startswith("urn:uuid:"), "an email-only recipient's pseudonym"
    assert hosted["valid"] is True, hosted
    assert signed["valid"] is True, signed
    assert ours["verified"] is True, ours
    assert ours["status"] == "active"

    revoked = await stack.client.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "issued in error"})
    assert revoked.json()["status"] == "revoked"
    (revoked_di,) = await stack.node("verify-di.mjs", [{"credential": credential}])
    (revoked_jwt,) = await stack.node(
        "verify-jwt.mjs", [{"jwt": jwt, "jwk": jwk, "issuer": credential["issuer"]["id"], "checkStatus": True}]
    )
    hosted_gone = await stack.client.get(stack.path(links["ob2_assertion"]))
    hosted_after, signed_after = await stack.ob2([{"hosted_url": links["ob2_assertion"]}, {"jws": jws}])
    ours_after = (await stack.client.post("/v1/verify", json={"credential": credential})).json()
    ours_jwt = (await stack.client.post("/v1/verify", json={"credential": jwt})).json()

    assert revoked_di["verified"] is False
    assert [r["set"] for r in revoked_di["statusResults"] if r["purpose"] == "revocation"] == [True]
    assert revoked_jwt["verified"] is False, revoked_jwt
    assert hosted_gone.status_code == 410
    assert (hosted_after["valid"], hosted_after["revoked"]) == (False, True)
    assert (signed_after["valid"], signed_after["revoked"]) == (False, True)
    assert (ours_after["verified"], ours_after["status"]) == (False, "revoked")
    assert (ours_jwt["verified"], ours_jwt["status"]) == (False, "revoked")


@dataclass
class Forms:
    """Every form of one badge, fetched once: they are signed and never change; only what the
    verifiers fetch (status lists, the revocation list, the hosted assertion) follows the status."""

    credential: dict[str, Any]
    jwt: str
    jwk: dict[str, Any]
    ob2_hosted: str
    ob2_jws: str
    images: dict[str, bytes]  # "png", "svg" (OB 3.0, Data Integrity), "ob2 png", "ob2 svg"


async def _forms(stack: Stack, badge: dict[str, Any]) -> Forms:
    links = badge["links"]
    jwt = (await stack.client.get(stack.path(links["jwt"]))).text
    kid = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "==="))["kid"]
    images = {}
    for name, link in (
        ("png", "baked_png"),
        ("svg", "baked_svg"),
        ("ob2 png", "ob2_baked_png"),
        ("ob2 svg", "ob2_baked_svg"),
    ):
        got = await stack.client.get(stack.path(links[link]))
        assert got.status_code == 200, got.text
        images[name] = got.content
    return Forms(
        credential=badge["credential"],
        jwt=jwt,
        jwk=(await stack.client.get(stack.path(kid))).json(),
        ob2_hosted=links["ob2_assertion"],
        ob2_jws=(await stack.client.get(stack.path(links["ob2_jws"]))).text,
        images=images,
    )


async def _everywhere(stack: Stack, forms: Forms) -> dict[str, dict[str, Any]]:
    """Every form in every verifier the tests run: "<form> / <verifier>" -> that verifier's answer
    (Digital Bazaar and jose for OB 3.0, the IMS validator for OB 2.0, ours for all)."""
    from tests.e2e.test_baked_badges import png_text, svg_json  # that module imports this one

    issuer = forms.credential["issuer"]["id"]
    di_json, di_png, di_svg = await stack.node(
        "verify-di.mjs",
        [
            {"credential": forms.credential},
            {"credential": json.loads(png_text(forms.images["png"]))},
            {"credential": svg_json(forms.images["svg"])},
        ],
    )
    (jose,) = await stack.node(
        "verify-jwt.mjs", [{"jwt": forms.jwt, "jwk": forms.jwk, "issuer": issuer, "checkStatus": True}]
    )
    ims_hosted, ims_jws, ims_png, ims_svg = await stack.ob2(
        [
            {"hosted_url": forms.ob2_hosted, "recipient": "educator@demo.test"},
            {"jws": forms.ob2_jws, "recipient": "educator@demo.test"},
            *(
                {"image": base64.b64encode(forms.images[name]).decode(), "recipient": "educator@demo.test"}
                for name in ("ob2 png", "ob2 svg")
            ),
        ]
    )
    answers = {
        "OB 3.0 JSON-LD / Digital Bazaar": di_json,
        "OB 3.0 baked PNG / Digital Bazaar": di_png,
        "OB 3.0 baked SVG / Digital Bazaar": di_svg,
        "VC-JWT / jose + Digital Bazaar status": jose,
        "OB 2.0 hosted / IMS": ims_hosted,
        "OB 2.0 JWS / IMS": ims_jws,
        "OB 2.0 baked PNG / IMS": ims_png,
        "OB 2.0 baked SVG / IMS": ims_svg,
    }
    ours = {
        "OB 3.0 JSON-LD / ours": {"credential": forms.credential},
        "VC-JWT / ours": {"credential": forms.jwt},
        "OB 2.0 hosted / ours": {"url": forms.ob2_hosted},
        "OB 2.0 JWS / ours": {"credential": forms.ob2_jws},
    }
    for name, body in ours.items():
        answers[name] = (await stack.client.post("/v1/verify", json=body)).json()
    for form, image in forms.images.items():
        files = {"file": ("badge", image, "application/octet-stream")}
        label = f"{'OB 2.0' if form.startswith('ob2') else 'OB 3.0'} baked {form.split()[-1].upper()} / ours"
        answers[label] = (await stack.client.post("/v1/verify", files=files)).json()
    return answers


def _valid(answer: dict[str, Any]) -> bool:
    return bool(answer["valid"] if "valid" in answer else answer["verified"])


async def test_suspension_is_reversible_and_tampering_and_expiry_are_caught(stack: Stack, backend: str) -> None:
    _issuer, achievement = await _issuer_and_achievement(stack, suspendable=True)
    badge = await stack.issue(achievement["id"])
    with issuing_as_of(dt.datetime(2020, 6, 1, tzinfo=dt.UTC)):
        expired = await stack.issue(
            achievement["id"], valid_from="2020-01-01T00:00:00Z", valid_until="2021-01-01T00:00:00Z"
        )
    credential = badge["credential"]
    forms = await _forms(stack, badge)
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["achievement"]["name"] = "Something else"
    learner = "did:web:learner.example"
    by_did = await stack.issue(achievement["id"], recipient={"id": learner, "email": "educator@demo.test"})
    jwts = {
        name: (await stack.client.get(stack.path(issued["links"]["jwt"]))).text
        for name, issued in (("email", badge), ("expired", expired), ("did", by_did))
    }
    kid = json.loads(base64.urlsafe_b64decode(jwts["email"].split(".")[0] + "==="))["kid"]
    jwk = (await stack.client.get(stack.path(kid))).json()
    # Every credential, whatever its issuer, recipient or validity, is what a strict verifier wants.
    await check_ob3_conformance(stack, credential, jwts["email"], jwk)
    await check_ob3_conformance(stack, expired["credential"], jwts["expired"], jwk, now="2020-06-01T00:00:00Z")
    await check_ob3_conformance(stack, by_did["credential"], jwts["did"], jwk)
    assert by_did["credential"]["credentialSubject"]["id"] == learner
    assert credential["credentialSubject"]["id"] == expired["credential"]["credentialSubject"]["id"], (
        "one email-only recipient, one pseudonymous id on all their badges"
    )

    before = await _everywhere(stack, forms)
    await stack.client.post(f"/v1/badges/{badge['id']}/suspend", json={"reason": "under review"})
    suspended_everywhere = await _everywhere(stack, forms)
    hosted_suspended = await stack.client.get(stack.path(forms.ob2_hosted))
    revocations = (await stack.client.get(stack.path(badge["links"]["ob2_issuer"] + "/revocations"))).json()
    again = await stack.client.post(f"/v1/badges/{badge['id']}/suspend")
    await stack.client.post(f"/v1/badges/{badge['id']}/reinstate")
    reinstated_everywhere = await _everywhere(stack, forms)
    hosted_reinstated = await stack.client.get(stack.path(forms.ob2_hosted))
    revocations_after = (await stack.client.get(stack.path(badge["links"]["ob2_issuer"] + "/revocations"))).json()
    reinstated, tampered_di, expired_di = await stack.node(
        "verify-di.mjs", [{"credential": credential}, {"credential": tampered}, {"credential": expired["credential"]}]
    )
    ours = {
        name: (await stack.client.post("/v1/verify", json={"credential": doc})).json()
        for name, doc in (("reinstated", credential), ("tampered", tampered), ("expired", expired["credential"]))
    }

    # Every form in every verifier: valid before, valid in none while suspended, valid again in
    # all once reinstated (ADR 0018: OB 2.0 sees the hold as a revocation that says it is one).
    assert len(before) == 16
    assert {name: _valid(a) for name, a in before.items()} == dict.fromkeys(before, True), before
    assert {name: _valid(a) for name, a in suspended_everywhere.items()} == dict.fromkeys(before, False), (
        suspended_everywhere
    )
    assert {name: _valid(a) for name, a in reinstated_everywhere.items()} == dict.fromkeys(before, True), (
        reinstated_everywhere
    )
    for name, answer in suspended_everywhere.items():
        if name.endswith("/ ours"):
            # Ours says suspended, as it does for OB 3.0, with a failing check that says so.
            assert answer["status"] == "suspended", (name, answer)
            failed = [c["message"] for c in answer["checks"] if not c["passed"] and c["severity"] == "error"]
            assert len(failed) == 1, (name, failed)
            assert "suspended" in failed[0], (name, failed)
            assert "revoked" not in failed[0], (name, failed)
            assert reinstated_everywhere[name]["status"] == "active", name
        elif name.endswith("/ IMS"):
            # OB 2.0 has only revocation: the IMS validator sees a revocation whose reason is the hold.
            assert answer["revoked"] is True, (name, answer)
            assert any("Suspended: a temporary hold" in e for e in answer["errors"]), (name, answer["errors"])
            assert reinstated_everywhere[name]["revoked"] is False, name
        else:
            suspension = [r["set"] for r in answer["statusResults"] if r["purpose"] == "suspension"]
            revocation = [r["set"] for r in answer["statusResults"] if r["purpose"] == "revocation"]
            assert (suspension, revocation) == ([True], [False]), (name, answer["statusResults"])
    assert hosted_suspended.status_code == 410
    assert hosted_suspended.headers["cache-control"] == "no-cache"
    assert hosted_suspended.json()["revoked"] is True
    assert hosted_suspended.json()["revocationReason"].startswith("Suspended: a temporary hold")
    assert "under review" not in hosted_suspended.text, "the issuer's own note about the hold is not published"
    assert [e["id"] for e in revocations["revokedAssertions"]] == [
        json.loads(base64.urlsafe_b64decode(forms.ob2_jws.split(".")[1] + "==="))["id"]
    ]
    assert hosted_reinstated.status_code == 200
    assert hosted_reinstated.json()["id"] == forms.ob2_hosted
    assert revocations_after["revokedAssertions"] == []

    # A suspendable issuer's two entries make credentialStatus an array: the one thing the
    # official schema refuses, by design (ADR 0010).
    assert all(
        len(errors) == 1 and errors[0].startswith("['credentialStatus']")
        for errors in _schema_errors(credential).values()
    ), _schema_errors(credential)
    # Our verifier reports that one finding as the official schema gives it, as a warning: the
    # credential verifies, and never as "valid against the schema".
    schema_checks = [c for c in ours["reinstated"]["checks"] if c["name"] == "schema"]
    assert [(c["passed"], c["severity"]) for c in schema_checks] == [(False, "warning")]
    assert [f["path"] for f in schema_checks[0]["findings"]] == ["/credentialStatus"]
    assert "valid against" not in schema_checks[0]["message"]
    assert again.status_code == 409, "suspending a suspended badge is refused"
    assert reinstated["verified"] is True, reinstated
    assert tampered_di["verified"] is False
    assert tampered_di["checks"]["proof"] is not True
    assert expired_di["verified"] is False
    assert any(e.startswith("expiry") for e in expired_di["errors"]), expired_di
    assert ours["reinstated"]["verified"] is True, ours["reinstated"]
    assert ours["tampered"]["verified"] is False
    # Only the proof fails (the schema's warning about the status array is no failure).
    assert [c["name"] for c in ours["tampered"]["checks"] if not c["passed"] and c["severity"] == "error"] == ["proof"]
    assert (ours["expired"]["verified"], ours["expired"]["status"]) == (False, "expired")


async def test_rotated_keys_keep_old_badges_verifying_and_a_revoked_key_stops_them(stack: Stack, backend: str) -> None:
    issuer, achievement = await _issuer_and_achievement(stack)
    before = await stack.issue(achievement["id"])
    rotated = await stack.client.post(f"/v1/issuers/{issuer['id']}/keys", json={"purpose": "data_integrity"})
    after = await stack.issue(achievement["id"])
    both = await stack.node(
        "verify-di.mjs", [{"credential": before["credential"]}, {"credential": after["credential"]}]
    )
    old_key = before["credential"]["proof"][0]["verificationMethod"].split("#")[1]
    revoked = await stack.client.post(
        f"/v1/issuers/{issuer['id']}/keys/{old_key}/revoke", json={"reason": "laptop stolen"}
    )
    old_now, new_now = await stack.node(
        "verify-di.mjs", [{"credential": before["credential"]}, {"credential": after["credential"]}]
    )
    ours_old = (await stack.client.post("/v1/verify", json={"credential": before["credential"]})).json()

    assert rotated.status_code == 201
    assert after["credential"]["proof"][0]["verificationMethod"].endswith(rotated.json()["id"])
    assert [r["verified"] for r in both] == [True, True], both
    assert revoked.json()["state"] == "revoked"
    assert old_now["verified"] is False
    assert new_now["verified"] is True, new_now
    assert ours_old["verified"] is False


async def test_unusual_text_verifies_in_the_javascript_stack_or_is_refused(stack: Stack, backend: str) -> None:
    hostile = 'Évaluation «formative» — 形成性評価 👩‍🏫 "quotes" \\back\\slash\ttab\nnewline\rcr \u007f del'
    _issuer, achievement = await _issuer_and_achievement(stack, name=hostile[:200], description=hostile)
    badge = await stack.issue(achievement["id"], narrative=hostile)
    (verified,) = await stack.node("verify-di.mjs", [{"credential": badge["credential"]}])
    refused = await stack.client.post(
        "/v1/achievements", json={**ACHIEVEMENT, "issuer_id": achievement["issuer_id"], "name": "bell \u0007"}
    )
    assert verified["verified"] is True, verified
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/body/name"
