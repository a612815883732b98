"""Signing and checking the three proof formats: Data Integrity ``eddsa-rdfc-2022``, VC-JWT
(RS256 signed here; RS256 or ES256 checked) and OB 2.0 signed assertions (compact JWS, RS256).

Data Integrity (W3C VC Data Integrity EdDSA Cryptosuites v1.0, §3.2 ``eddsa-rdfc-2022``): the
proof configuration (the proof without ``proofValue``, with the document's ``@context``) and the
document without its proof are each canonicalized with RDFC-1.0 and hashed with SHA-256; the
Ed25519 signature is over hash(proof configuration) ‖ hash(document), and ``proofValue`` is its
multibase base58btc encoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from services.badges.openbadges.jsonld import UnsupportedJsonLd, canonize, canonize_with_pyld
from services.badges.openbadges.keys import b58decode, b58encode, b64url, b64url_decode, rs256_sign, rs256_verify

CRYPTOSUITE = "eddsa-rdfc-2022"
# What a compact JWS may be signed with: RS256 and ES256 are what 1EdTech's validator accepts for
# VC-JWT; OB 2.0 signed assertions are RS256 only (OB 2.0 §Signed Badges).
VC_JWT_ALGORITHMS = ("RS256", "ES256")
OB2_JWS_ALGORITHMS = ("RS256",)
JwsPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class ProofError(ValueError):
    """A proof that does not hold, with a message a person can act on."""


def _proof_config(document: dict[str, Any], proof: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document["@context"]
    return config


def _signing_input(document: dict[str, Any], proof: dict[str, Any], *, general: bool = False) -> bytes:
    """``general``: JSON-LD features outside the fast canonicalizer's subset go to pyld (only
    when verifying a foreign credential; what we sign never needs it)."""
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    digests = []
    for part in (_proof_config(document, proof), unsigned):
        try:
            text = canonize(part)
        except UnsupportedJsonLd:
            if not general:
                raise
            try:
                text = canonize_with_pyld(part)
            except Exception as exc:
                # pyld raises its own untyped JsonLdError (and worse on hostile input): for a
                # foreign document any failure there means "cannot be checked", never a crash.
                reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise ProofError(f"the credential cannot be canonicalized: {reason}") from exc
        digests.append(hashlib.sha256(text.encode()).digest())
    return digests[0] + digests[1]


def sign_data_integrity(
    document: dict[str, Any], key: Ed25519PrivateKey, *, verification_method: str, created: str
) -> dict[str, Any]:
    """The document with a ``proof`` array holding one DataIntegrityProof."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_signing_input(document, proof))
    return {**document, "proof": [{**proof, "proofValue": "z" + b58encode(signature)}]}


def data_integrity_proofs(document: dict[str, Any]) -> list[dict[str, Any]]:
    proofs = document.get("proof")
    if isinstance(proofs, dict):
        proofs = [proofs]
    if not isinstance(proofs, list) or not proofs:
        raise ProofError("the credential has no proof")
    found = [p for p in proofs if isinstance(p, dict) and p.get("type") == "DataIntegrityProof"]
    if not found:
        raise ProofError("the credential has no DataIntegrityProof")
    return found


def verify_data_integrity(document: dict[str, Any], proof: dict[str, Any], key: Ed25519PublicKey) -> None:
    """Raises ``ProofError`` unless ``proof`` (one of the document's) verifies with ``key``."""
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"unsupported cryptosuite {proof.get('cryptosuite')!r}; expected {CRYPTOSUITE}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("the proof's purpose is not assertionMethod")
    if "@context" not in document:
        raise ProofError("the document has no @context, so there is nothing to canonicalize it with")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("proofValue must be multibase base58btc ('z…')")
    try:
        signature = b58decode(value[1:])
    except ValueError as exc:
        raise ProofError("proofValue is not base58btc") from exc
    others = [p for p in data_integrity_proofs(document) if p is not proof]
    # The other proofs of a set are not covered by this one (VC Data Integrity §4.3).
    subject = {**document, "proof": others} if others else {k: v for k, v in document.items() if k != "proof"}
    try:
        key.verify(signature, _signing_input(subject, proof, general=True))
    except InvalidSignature as exc:
        raise ProofError(
            "the signature does not match the credential: it was altered or signed by another key"
        ) from exc


# --- compact JWS (VC-JWT and OB 2.0 signed assertions) ---------------------------------------


@dataclass(frozen=True)
class Jws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def sign_jws(header: dict[str, Any], payload: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    def part(value: dict[str, Any]) -> str:
        return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())

    signing_input = f"{part({'alg': 'RS256', **header})}.{part(payload)}"
    return f"{signing_input}.{b64url(rs256_sign(key, signing_input.encode()))}"


def parse_jws(token: str) -> Jws:
    """Split and decode a compact JWS (no signature check yet)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ProofError("not a compact JWS: expected three base64url parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError as exc:
        raise ProofError("the JWS parts are not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ProofError("the JWS header and payload must be JSON objects")
    return Jws(header, payload, f"{parts[0]}.{parts[1]}".encode(), signature)


def jws_algorithm(jws: Jws, allowed: tuple[str, ...]) -> str:
    """The header's ``alg`` if it is one of ``allowed``; checked before any key is fetched, so
    ``none``, HMAC (a public key used as a shared secret) and the like never get that far."""
    alg = jws.header.get("alg")
    if not isinstance(alg, str) or alg not in allowed:
        raise ProofError(f"unsupported JWS algorithm {alg!r}; expected {' or '.join(allowed)}")
    if jws.header.get("crit"):
        raise ProofError("the JWS has critical header parameters this verifier does not understand")
    return alg


def verify_jws(jws: Jws, key: JwsPublicKey, *, allowed: tuple[str, ...] = OB2_JWS_ALGORITHMS) -> None:
    """Raises ``ProofError`` unless the signature holds with ``key`` under one of ``allowed``."""
    alg = jws_algorithm(jws, allowed)
    try:
        if alg == "RS256":
            if not isinstance(key, rsa.RSAPublicKey):
                raise ProofError("RS256 needs an RSA key; the issuer's key is not one")
            if key.key_size < 2048:
                raise ProofError(f"the RSA key has {key.key_size} bits; at least 2048 are required")
            rs256_verify(key, jws.signature, jws.signing_input)
        else:
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                raise ProofError("ES256 needs a P-256 key; the issuer's key is not one")
            key.verify(_es256_der(jws.signature), jws.signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ProofError("the JWS signature does not match: it was altered or signed by another key") from exc


def _es256_der(signature: bytes) -> bytes:
    # JWS carries ECDSA signatures as r ‖ s, 32 bytes each (RFC 7518 §3.4); cryptography wants DER.
    if len(signature) != 64:
        raise ProofError("an ES256 signature must be 64 bytes (r ‖ s)")
    return encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))


def p256_from_jwk(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from an EC JWK (RFC 7518 §6.2); ``ProofError`` when it is not one."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ProofError("the JWK is not an EC P-256 key")
    if "d" in jwk:
        raise ProofError("the published JWK holds a private key; it cannot be the issuer's")
    try:
        x, y = b64url_decode(str(jwk["x"])), b64url_decode(str(jwk["y"]))
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinates must be 32 bytes")
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        ).public_key()
    except (KeyError, ValueError) as exc:  # a missing coordinate, bad base64url, a point off the curve
        raise ProofError(f"the EC JWK is not a valid P-256 public key: {exc}") from exc
