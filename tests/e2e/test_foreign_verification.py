"""The verifier on a credential it did not issue: every document comes over HTTP from the issuer.

Two badges services on real sockets, each with its own public base URL: one issues, the other
verifies (allowed to fetch from loopback for the test; by default it refuses private addresses).
Issuers this project does not run are played by a plain web server on loopback serving documents
the test builds, signed with keys the test generates.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from services.badges.openbadges import proofs
from services.badges.openbadges.documents import OB3_CONTEXT
from services.badges.openbadges.keys import ed25519_multibase
from tests.conftest import AppFactory
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER
from tests.support import LiveServer, free_socket, identity_headers

OB2 = "https://w3id.org/openbadges/v2"


@dataclass
class Pair:
    issuer: httpx.AsyncClient  # the issuing service, as a coordinator of tenant-a
    verifier: httpx.AsyncClient  # another deployment's public verifier
    strict: httpx.AsyncClient  # a verifier with the default SSRF guard


async def _live(make_app: AppFactory, **settings: Any) -> tuple[LiveServer, str]:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = await LiveServer(await make_app("badges", public_base_url=base, **settings), sock).start()
    return server, base


@pytest.fixture
async def pair(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Pair]:
    issuing, issuing_url = await _live(make_app)
    verifying, verifying_url = await _live(make_app, verify_allow_private=True)
    strict, strict_url = await _live(make_app)
    headers = identity_headers(keys_dir, "badges", roles=frozenset({"coordinator"}), tenant_id="tenant-a")
    try:
        async with (
            httpx.AsyncClient(base_url=issuing_url, headers=headers, timeout=30) as a,
            httpx.AsyncClient(base_url=verifying_url, timeout=30) as b,
            httpx.AsyncClient(base_url=strict_url, timeout=30) as c,
        ):
            yield Pair(issuer=a, verifier=b, strict=c)
    finally:
        for server in (issuing, verifying, strict):
            await server.stop()


async def _badge(pair: Pair) -> dict[str, Any]:
    issuer = (await pair.issuer.post("/v1/issuers", json=ISSUER)).json()
    achievement = (await pair.issuer.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer["id"]})).json()
    issued = await pair.issuer.post(
        "/v1/badges",
        json={
            "achievement_id": achievement["id"],
            "recipient": {"email": "educator@demo.test"},
            "results": [{"criterion": "plan", "level": "proficient"}],
        },
    )
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def failed(report: dict[str, Any]) -> list[str]:
    return [f"{c['name']}: {c['message']}" for c in report["checks"] if not c["passed"]]


async def test_a_foreign_credential_is_verified_from_the_issuers_own_documents(pair: Pair, backend: str) -> None:
    badge = await _badge(pair)
    credential = badge["credential"]
    jwt = (await pair.issuer.get(f"/ob/credentials/{badge['id']}/jwt")).text
    fresh = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    fresh_jwt = (await pair.verifier.post("/v1/verify", json={"credential": jwt})).json()
    hosted = (await pair.verifier.post("/v1/verify", json={"url": badge["links"]["ob2_assertion"]})).json()
    refused = (await pair.strict.post("/v1/verify", json={"credential": credential})).json()

    await pair.issuer.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "error"})
    revoked = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    revoked_jwt = (await pair.verifier.post("/v1/verify", json={"credential": jwt})).json()
    gone = (await pair.verifier.post("/v1/verify", json={"url": badge["links"]["ob2_assertion"]})).json()

    assert fresh["verified"] is True, failed(fresh)
    assert fresh["status"] == "active"
    assert fresh_jwt["verified"] is True, failed(fresh_jwt)
    assert hosted["verified"] is True, failed(hosted)
    assert refused["verified"] is False
    assert any("private, loopback or reserved" in message for message in failed(refused)), failed(refused)
    assert (revoked["verified"], revoked["status"]) == (False, "revoked")
    assert (revoked_jwt["verified"], revoked_jwt["status"]) == (False, "revoked")
    assert (gone["verified"], gone["status"]) == (False, "revoked")


async def test_a_foreign_credential_signed_by_a_withdrawn_key_or_altered_fails(pair: Pair, backend: str) -> None:
    badge = await _badge(pair)
    credential = badge["credential"]
    altered = {**credential, "name": "A grander title"}
    issuer_id = badge["issuer_id"]
    key_id = credential["proof"][0]["verificationMethod"].split("#", 1)[1]
    altered_report = (await pair.verifier.post("/v1/verify", json={"credential": altered})).json()
    await pair.issuer.post(f"/v1/issuers/{issuer_id}/keys", json={"purpose": "data_integrity"})
    await pair.issuer.post(f"/v1/issuers/{issuer_id}/keys/{key_id}/revoke", json={"reason": "compromised"})
    withdrawn = (await pair.verifier.post("/v1/verify", json={"credential": credential})).json()
    assert altered_report["verified"] is False
    assert [c["name"] for c in altered_report["checks"] if not c["passed"]] == ["proof"]
    assert withdrawn["verified"] is False
    assert any(m.startswith("proof:") for m in failed(withdrawn)), failed(withdrawn)


# --- a foreign issuer: documents on loopback, keys made here -----------------------------------


@dataclass
class Foreign:
    """A web server for an issuer this project does not run; the test publishes its documents."""

    base: str
    served: dict[str, Any] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def publish(self, path: str, document: Any) -> str:
        self.served[path] = document
        return f"{self.base}{path}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


def _foreign_app(foreign: Foreign) -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def serve(path: str) -> Response:
        foreign.hits.append(f"/{path}")
        if f"/{path}" not in foreign.served:
            return Response(status_code=404)
        return JSONResponse(foreign.served[f"/{path}"])

    return app


@pytest.fixture
async def foreign() -> AsyncIterator[Foreign]:
    sock = free_socket()
    site = Foreign(base=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = await LiveServer(_foreign_app(site), sock).start()
    try:
        yield site
    finally:
        await server.stop()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _compact(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS made here, independently of the service's signer."""
    signing_input = f"{_part(header)}.{_part(payload)}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _rs256(key: rsa.RSAPrivateKey) -> Callable[[bytes], bytes]:
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _es256(key: ec.EllipticCurvePrivateKey) -> Callable[[bytes], bytes]:
    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _tampered(token: str, **changes: Any) -> str:
    """The same header and signature over a payload changed after signing."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{_part({**claims, **changes})}.{signature}"


def _p256_jwk(key: ec.EllipticCurvePrivateKey, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
        **extra,
    }


def _rsa_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": _b64(numbers.n.to_bytes(256, "big")), "e": _b64(numbers.e.to_bytes(3, "big"))}


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rehomed(credential: dict[str, Any], issuer_id: str) -> dict[str, Any]:
    """One of our credentials, unsigned, as if another issuer had made it (no status entries:
    that issuer publishes no status list)."""
    unsigned = {k: v for k, v in credential.items() if k not in ("proof", "credentialStatus")}
    return {**unsigned, "id": f"urn:uuid:{uuid.uuid4()}", "issuer": {**credential["issuer"], "id": issuer_id}}


async def _verify(pair: Pair, credential: dict[str, Any] | str, **extra: Any) -> dict[str, Any]:
    response = await pair.verifier.post("/v1/verify", json={"credential": credential, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- OB 2.0 signed assertions from another issuer ----------------------------------------------


async def test_a_foreign_ob2_signed_assertion_is_verified_and_its_revocation_seen(pair: Pair, backend: str) -> None:
    badge = await _badge(pair)
    links = badge["links"]
    jws = (await pair.issuer.get(links["ob2_jws"])).text
    fresh = await _verify(pair, jws, recipient="educator@demo.test")
    other_recipient = await _verify(pair, jws, recipient="someone@else.test")
    tampered = await _verify(pair, _tampered(jws, issuedOn="2001-01-01T00:00:00Z"))

    await pair.issuer.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "error"})
    revoked = await _verify(pair, jws)

    assert fresh["verified"] is True, failed(fresh)
    assert (fresh["format"], fresh["issuer"], fresh["status"]) == ("ob2-jws", links["ob2_issuer"], "active")
    assert fresh["recipient_matched"] is True
    # A recipient given is checked last, as a check of its own (and recipient_matched says it too).
    assert [c["name"] for c in fresh["checks"]] == ["proof", "status", "validity", "recipient"]
    assert (other_recipient["verified"], other_recipient["recipient_matched"]) == (False, False)
    assert failed(other_recipient) == [
        "recipient: the recipient given is not the one the assertion names: its hashed email identity differs"
    ]
    assert tampered["verified"] is False
    assert [m.split(":")[0] for m in failed(tampered)] == ["proof"], failed(tampered)
    assert "signature does not match" in failed(tampered)[0]
    assert (revoked["verified"], revoked["status"]) == (False, "revoked")
    assert failed(revoked) == ["status: the assertion is on the issuer's revocation list: error"], failed(revoked)


async def test_another_deployment_sees_a_suspended_ob2_badge_as_suspended_until_reinstated(
    pair: Pair, backend: str
) -> None:
    issuer = (await pair.issuer.post("/v1/issuers", json={**ISSUER, "suspendable": True})).json()
    achievement = (await pair.issuer.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer["id"]})).json()
    issued = await pair.issuer.post(
        "/v1/badges", json={"achievement_id": achievement["id"], "recipient": {"email": "educator@demo.test"}}
    )
    assert issued.status_code == 201, issued.text
    badge = issued.json()
    links = badge["links"]
    jws = (await pair.issuer.get(links["ob2_jws"])).text

    await pair.issuer.post(f"/v1/badges/{badge['id']}/suspend", json={"reason": "integrity review"})
    held_jws = await _verify(pair, jws)
    held_hosted = (await pair.verifier.post("/v1/verify", json={"url": links["ob2_assertion"]})).json()
    await pair.issuer.post(f"/v1/badges/{badge['id']}/reinstate")
    back_jws = await _verify(pair, jws)
    back_hosted = (await pair.verifier.post("/v1/verify", json={"url": links["ob2_assertion"]})).json()

    # The other deployment reads only the OB 2.0 documents (the revocation list, the 410 body) and
    # tells a hold from a revocation by the reason they give (ADR 0018).
    assert (held_jws["verified"], held_jws["status"]) == (False, "suspended")
    assert failed(held_jws) == [
        "status: the assertion is suspended: a temporary hold, not valid while it lasts"
        " (on the issuer's revocation list, saying so)"
    ]
    assert (held_hosted["verified"], held_hosted["status"]) == (False, "suspended")
    assert failed(held_hosted) == [
        "hosted: the assertion is suspended: a temporary hold, not valid while it lasts"
        " (the issuer answers 410 Gone, saying so)"
    ]
    assert (back_jws["verified"], back_jws["status"]) == (True, "active"), failed(back_jws)
    assert (back_hosted["verified"], back_hosted["status"]) == (True, "active"), failed(back_hosted)


@dataclass
class Ob2Issuer:
    """An OB 2.0 issuer on the foreign server: profile, BadgeClass, revocation list and keys."""

    site: Foreign
    id: str
    badge_class: str
    keys: dict[str, tuple[str, rsa.RSAPrivateKey]]

    def assertion(self, key: str, **changes: Any) -> str:
        creator, private = self.keys[key]
        payload = {
            "@context": OB2,
            "type": "Assertion",
            "id": f"urn:uuid:{uuid.uuid4()}",
            "recipient": {"type": "email", "hashed": False, "identity": "educator@demo.test"},
            "badge": self.badge_class,
            "issuedOn": _now(),
            "verification": {"type": "SignedBadge", "creator": creator},
            **changes,
        }
        return _compact({"alg": "RS256"}, payload, _rs256(private))


def _ob2_issuer(site: Foreign) -> Ob2Issuer:
    issuer, stranger = site.url("/ob2/issuer"), site.url("/ob2/stranger")
    keys: dict[str, tuple[str, rsa.RSAPrivateKey]] = {}
    # "own": the issuer's; "stranger's": listed by the issuer but owned by someone else;
    # "unlisted": claims the issuer as owner, but the issuer's profile does not list it.
    for name, path, owner in (
        ("own", "/ob2/keys/own", issuer),
        ("stranger's", "/ob2/keys/stranger", stranger),
        ("unlisted", "/ob2/keys/unlisted", issuer),
    ):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        url = site.url(path)
        site.publish(
            path,
            {"@context": OB2, "type": "CryptographicKey", "id": url, "owner": owner, "publicKeyPem": _pem(private)},
        )
        keys[name] = (url, private)
    keys["missing"] = (site.url("/ob2/keys/missing"), keys["own"][1])
    for path, url, listed in (
        ("/ob2/issuer", issuer, [keys["own"][0], keys["stranger's"][0]]),
        ("/ob2/stranger", stranger, [keys["stranger's"][0]]),
    ):
        site.publish(
            path,
            {
                "@context": OB2,
                "type": "Issuer",
                "id": url,
                "name": "Another Academy",
                "url": "https://another.example",
                "email": "badges@another.example",
                "publicKey": listed,
                "revocationList": site.url("/ob2/revocations"),
            },
        )
    badge_class = site.publish(
        "/ob2/badgeclass",
        {
            "@context": OB2,
            "type": "BadgeClass",
            "id": site.url("/ob2/badgeclass"),
            "name": "Coaching — Tier 1",
            "description": "Coached a peer through one cycle.",
            "image": "https://another.example/badge.png",
            "criteria": {"narrative": "One observed coaching cycle."},
            "issuer": issuer,
        },
    )
    site.publish(
        "/ob2/revocations",
        # Plain ids and objects with a reason are both allowed by OB 2.0.
        {
            "@context": OB2,
            "type": "RevocationList",
            "id": site.url("/ob2/revocations"),
            "issuer": issuer,
            "revokedAssertions": ["urn:uuid:00000000-0000-4000-8000-00000000dead"],
        },
    )
    return Ob2Issuer(site=site, id=issuer, badge_class=badge_class, keys=keys)


async def test_a_foreign_ob2_signed_assertion_needs_a_key_the_issuer_owns_and_lists(
    pair: Pair, foreign: Foreign, backend: str
) -> None:
    other = _ob2_issuer(foreign)
    good = await _verify(pair, other.assertion("own"))
    strangers = await _verify(pair, other.assertion("stranger's"))
    unlisted = await _verify(pair, other.assertion("unlisted"))
    missing = await _verify(pair, other.assertion("missing"))
    revoked = await _verify(pair, other.assertion("own", id="urn:uuid:00000000-0000-4000-8000-00000000dead"))
    expired = await _verify(pair, other.assertion("own", expires="2020-01-01T00:00:00Z"))
    foreign.served.pop("/ob2/revocations")
    unknown_status = await _verify(pair, other.assertion("own"))

    assert good["verified"] is True, failed(good)
    assert (good["format"], good["issuer"], good["status"]) == ("ob2-jws", other.id, "active")
    assert failed(strangers) == [
        f"proof: the key's owner {foreign.url('/ob2/stranger')!r} is not the badge's issuer {other.id!r}"
    ]
    assert failed(unlisted) == [
        f"proof: the issuer's profile does not list {other.keys['unlisted'][0]} in publicKey (withdrawn?)"
    ]
    assert failed(missing) == [f"proof: {other.keys['missing'][0]} answered 404"]
    assert (revoked["verified"], revoked["status"]) == (False, "revoked")
    assert failed(revoked) == ["status: the assertion is on the issuer's revocation list"]
    assert (expired["verified"], expired["status"]) == (False, "expired")
    assert failed(expired) == ["validity: expired on 2020-01-01T00:00:00Z"]
    assert unknown_status["verified"] is False
    assert failed(unknown_status) == [
        f"status: the revocation list could not be checked: {foreign.url('/ob2/revocations')} answered 404"
    ]


# --- VC-JWT signed with ES256 by another issuer ------------------------------------------------


async def test_a_foreign_es256_vc_jwt_is_verified_with_the_key_its_kid_names(
    pair: Pair, foreign: Foreign, backend: str
) -> None:
    credential = (await _badge(pair))["credential"]
    did = f"did:web:{foreign.host.replace(':', '%3A')}:es"
    key, unlisted_key, intruder = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign.publish(
        "/es/did.json",
        {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
            "id": did,
            "verificationMethod": [
                {"id": f"{did}#p256", "type": "JsonWebKey", "controller": did, "publicKeyJwk": _p256_jwk(key)},
                {"id": "#unlisted", "type": "JsonWebKey", "controller": did, "publicKeyJwk": _p256_jwk(unlisted_key)},
            ],
            "assertionMethod": ["#p256"],
        },
    )
    jwk_url = foreign.publish("/es/keys/p256.json", _p256_jwk(key, alg="ES256", use="sig"))
    rsa_url = foreign.publish("/es/keys/rsa.json", _rsa_jwk(rsa_key))
    vc = _rehomed(credential, did)
    # OB 3.0's JWT Payload Format: iss, jti, nbf and sub are the credential's own values.
    nbf = int(dt.datetime.fromisoformat(vc["validFrom"]).timestamp())
    claims = {"iss": did, "jti": vc["id"], "nbf": nbf, "sub": vc["credentialSubject"]["id"], "vc": vc}

    def jwt(
        kid: str | None,
        signer: Callable[[bytes], bytes],
        alg: str = "ES256",
        payload: dict[str, Any] | None = None,
        **header: Any,
    ) -> str:
        return _compact(
            {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {}), **header}, payload or claims, signer
        )

    by_did = jwt(f"{did}#p256", _es256(key))
    reports = {
        "by did": await _verify(pair, by_did),
        "by jwk url": await _verify(pair, jwt(jwk_url, _es256(key))),
        "wrong key": await _verify(pair, jwt(f"{did}#p256", _es256(intruder))),
        "tampered": await _verify(pair, _tampered(by_did, vc={**vc, "name": "A grander title"})),
        "unlisted": await _verify(pair, jwt(f"{did}#unlisted", _es256(unlisted_key))),
        "elsewhere": await _verify(pair, jwt(jwk_url.replace("127.0.0.1", "localhost"), _es256(key))),
        "rsa key": await _verify(pair, jwt(rsa_url, _es256(key))),
    }
    # Signed by the right key, but claims that are not the credential's (OB 3.0 verification).
    mismatched = {
        "other sub": {**claims, "sub": "did:example:someone-else"},
        "no sub": {k: v for k, v in claims.items() if k != "sub"},
        "nbf now": {**claims, "nbf": nbf + 3600},
    }
    claim_reports = {
        name: await _verify(pair, jwt(f"{did}#p256", _es256(key), payload=payload))
        for name, payload in mismatched.items()
    }
    before = len(foreign.hits)
    public = json.dumps(_p256_jwk(key)).encode()
    refused = {
        "none": await _verify(pair, jwt(f"{did}#p256", lambda _: b"", alg="none")),
        "hmac": await _verify(
            pair, jwt(jwk_url, lambda data: hmac.new(public, data, hashlib.sha256).digest(), alg="HS256")
        ),
        "embedded jwk": await _verify(pair, jwt(None, _es256(intruder), jwk=_p256_jwk(intruder))),
    }

    for name in ("by did", "by jwk url"):
        assert reports[name]["verified"] is True, (name, failed(reports[name]))
        assert (reports[name]["format"], reports[name]["issuer"]) == ("ob3-vc-jwt", did)
        assert "VC-JWT ES256 signature" in next(c["message"] for c in reports[name]["checks"] if c["name"] == "proof")
    said = {"other sub": "sub is not the credential's credentialSubject.id", "no sub": "no sub claim"}
    said["nbf now"] = "nbf is not the credential's validFrom"
    for name, message in said.items():
        report = claim_reports[name]
        assert report["verified"] is False, name
        assert [c["name"] for c in report["checks"] if not c["passed"]] == ["jwt claims"], (name, failed(report))
        assert message in failed(report)[0], (name, failed(report))
    expected = {
        "wrong key": "signature does not match",
        "tampered": "signature does not match",
        "unlisted": "not listed in the issuer's assertionMethod",
        "elsewhere": "is not served from the issuer's origin",
        "rsa key": "ES256 needs a P-256 key",
        "none": "unsupported JWS algorithm 'none'",
        "hmac": "unsupported JWS algorithm 'HS256'",
        "embedded jwk": "an embedded jwk is not trusted",
    }
    for name, message in expected.items():
        report = {**reports, **refused}[name]
        assert report["verified"] is False, name
        assert [m.split(":")[0] for m in failed(report)] == ["proof"], (name, failed(report))
        assert message in failed(report)[0], (name, failed(report))
    assert foreign.hits[before:] == [], "a refused algorithm or an embedded key made the verifier fetch"


# --- Data Integrity with a verification method at an https URL (Multikey) ---------------------


async def test_a_foreign_credential_verifies_with_a_multikey_document_its_issuer_lists(
    pair: Pair, foreign: Foreign, backend: str
) -> None:
    credential = (await _badge(pair))["credential"]
    issuer_id, someone_else = foreign.url("/mk/issuer"), foreign.url("/mk/someone-else")
    keys = {name: Ed25519PrivateKey.generate() for name in ("listed", "unlisted", "theirs", "moved")}

    def multikey(name: str, controller: str, *, id_: str | None = None) -> str:
        url = foreign.url(f"/mk/keys/{name}")
        foreign.publish(
            f"/mk/keys/{name}",
            {
                "@context": "https://w3id.org/security/multikey/v1",
                "id": id_ or url,
                "type": "Multikey",
                "controller": controller,
                "publicKeyMultibase": ed25519_multibase(keys[name].public_key()),
            },
        )
        return url

    listed = multikey("listed", issuer_id)
    unlisted = multikey("unlisted", issuer_id)
    theirs = multikey("theirs", someone_else)
    # Serves the listed key's id with another key: a document must live at its own id.
    moved = multikey("moved", issuer_id, id_=listed)
    for url, methods in ((issuer_id, [listed, moved]), (someone_else, [theirs])):
        foreign.publish(
            urlsplit(url).path,
            {
                "@context": OB3_CONTEXT,
                "id": url,
                "type": ["Profile"],
                "name": "Another Academy",
                "assertionMethod": methods,
            },
        )

    def signed(name: str, method: str) -> dict[str, Any]:
        return proofs.sign_data_integrity(
            _rehomed(credential, issuer_id), keys[name], verification_method=method, created=_now()
        )

    good = signed("listed", listed)
    reports = {
        "good": await _verify(pair, good),
        "tampered": await _verify(pair, {**good, "name": "A grander title"}),
        "unlisted": await _verify(pair, signed("unlisted", unlisted)),
        "theirs": await _verify(pair, signed("theirs", theirs)),
        "moved": await _verify(pair, signed("moved", foreign.url("/mk/keys/moved"))),
        "gone": await _verify(pair, signed("listed", foreign.url("/mk/keys/gone"))),
    }

    assert reports["good"]["verified"] is True, failed(reports["good"])
    assert (reports["good"]["issuer"], reports["good"]["status"]) == (issuer_id, "active")
    assert f"eddsa-rdfc-2022 by {listed}" in next(
        c["message"] for c in reports["good"]["checks"] if c["name"] == "proof"
    )
    expected = {
        "tampered": "the signature does not match the credential",
        "unlisted": "the key is not listed in the issuer's assertionMethod",
        "theirs": f"the key's controller {someone_else!r} is not the issuer {issuer_id!r}",
        "moved": f"{foreign.url('/mk/keys/moved')} does not serve a verification method with that id",
        "gone": f"{foreign.url('/mk/keys/gone')} answered 404",
    }
    for name, message in expected.items():
        assert reports[name]["verified"] is False, name
        assert [m.split(":")[0] for m in failed(reports[name])] == ["proof"], (name, failed(reports[name]))
        assert message in failed(reports[name])[0], (name, failed(reports[name]))
