"""The verifier: what a relying party would check, as a report of named checks.

Our own credentials are checked against the database (keys, status) without any HTTP; a foreign
one's documents (DID documents, verification methods, JWKs, status lists, hosted assertions, OB 2.0
keys, BadgeClasses, issuer profiles and revocation lists) are fetched through the SSRF guard
(shared/safefetch.py), never from loopback or private networks unless allowed. JSON-LD never
touches the network: only the bundled contexts resolve.

A key proves nothing by itself: each one is tied back to the issuer — a Data Integrity method by
its controller listing it in ``assertionMethod``, a VC-JWT key the same way (did:web) or by being
served from the issuer's own origin (a JWK URL), an OB 2.0 key by its ``owner`` and the issuer
profile's ``publicKey``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import jsonschema
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.models import Badge, IssuerKey
from services.badges.openbadges import documents as docs
from services.badges.openbadges import proofs, statuslist
from services.badges.openbadges.jsonld import REFERENCE_DIR
from services.badges.openbadges.keys import KeyError_, ed25519_from_multibase, rsa_from_jwk, rsa_from_pem
from services.badges.openbadges.rdfc import CanonicalizationError
from services.badges.schemas import Check, SchemaFinding, VerifyReport, VerifyRequest
from services.badges.verify import service
from shared.safefetch import FetchRefused, fetch

REFERENCE = REFERENCE_DIR
_CONTEXTS = json.loads((REFERENCE / "contexts.json").read_text())["contexts"]
OB3_CONTEXTS = {
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@lru_cache(maxsize=2)
def _schema(name: str) -> jsonschema.Draft201909Validator:
    schema = json.loads((REFERENCE / "schemas" / name).read_text())
    return jsonschema.Draft201909Validator(schema)


@dataclass
class Verifier:
    """Settings of the verifier, held in the app's ``BadgesState``."""

    urls: docs.Urls
    allow_private: bool
    max_bytes: int
    timeout_s: float


@dataclass
class Run:
    """One verification in progress: its checks, and documents fetched once per run."""

    verifier: Verifier
    session: AsyncSession
    checks: list[Check] = field(default_factory=list)
    status: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def check(
        self,
        name: str,
        passed: bool,
        message: str,
        *,
        severity: Literal["error", "warning"] = "error",
        findings: list[SchemaFinding] | None = None,
    ) -> bool:
        self.checks.append(Check(name=name, passed=passed, message=message, severity=severity, findings=findings or []))
        return passed

    async def fetch_json(self, url: str) -> Any:
        if url in self.cache:
            return self.cache[url]
        v = self.verifier
        got = await fetch(url, allow_private=v.allow_private, max_bytes=v.max_bytes, timeout_s=v.timeout_s)
        if got.status != 200:
            raise FetchRefused(f"{url} answered {got.status}")
        try:
            document = json.loads(got.body)
        except ValueError as exc:
            raise FetchRefused(f"{url} did not answer JSON") from exc
        self.cache[url] = document
        return document


async def verify(session: AsyncSession, verifier: Verifier, body: VerifyRequest) -> VerifyReport:
    run = Run(verifier=verifier, session=session)
    credential = body.credential
    if body.url is not None:
        return await _ob2_hosted_url(run, body.url, body.recipient)
    if isinstance(credential, str):
        try:
            jws = proofs.parse_jws(credential)
        except proofs.ProofError as exc:
            run.check("format", False, str(exc))
            return _report(run, "unknown", None)
        if "vc" in jws.payload:
            return await _ob3_jwt(run, jws, body.recipient)
        return await _ob2_jws(run, jws, body.recipient)
    assert credential is not None
    contexts = credential.get("@context")
    if contexts == docs.OB2_CONTEXT or (isinstance(contexts, list) and docs.OB2_CONTEXT in contexts):
        assertion_id = credential.get("id")
        if isinstance(assertion_id, str) and assertion_id.startswith(("https://", "http://")):
            return await _ob2_hosted_url(run, assertion_id, body.recipient)
        run.check("format", False, "an OB 2.0 assertion without an http(s) id can only be verified as a JWS")
        return _report(run, "ob2-json", None)
    return await _ob3_jsonld(run, credential, body.recipient)


def _report(run: Run, format_: str, issuer: str | None, recipient: Recipient | None = None) -> VerifyReport:
    """The report: verified when every check that is an error passed (a warning is reported and
    does not count), the recipient, when one was given, being one of the checks."""
    if recipient is not None:
        run.check("recipient", recipient.matched, recipient.message)
    verified = bool(run.checks) and all(c.passed for c in run.checks if c.severity == "error")
    return VerifyReport(
        verified=verified,
        format=format_,
        issuer=issuer,
        status=run.status,
        checks=run.checks,
        recipient_matched=recipient.matched if recipient is not None else None,
    )


@dataclass(frozen=True)
class Recipient:
    """Whether the recipient a caller named is the one the credential names, and how it was told."""

    matched: bool
    message: str


# --- OB 3.0 -----------------------------------------------------------------------------------


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _contexts_ok(run: Run, credential: dict[str, Any]) -> bool:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != docs.VC_V2:
        return run.check("context", False, f"the first @context must be {docs.VC_V2}")
    unknown = [c for c in contexts if not isinstance(c, str) or c not in _CONTEXTS]
    if unknown:
        return run.check("context", False, f"contexts outside the allow-list: {unknown}")
    if not OB3_CONTEXTS & set(contexts):
        return run.check("context", False, "no Open Badges 3.0 context")
    return run.check("context", True, "VC 2.0 and Open Badges 3.0 contexts, all on the allow-list")


ACHIEVEMENT_CREDENTIAL_SCHEMA = "ob_v3p0_achievementcredential_schema.json"
_FINDINGS_SHOWN = 20


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _schema_id(validator: jsonschema.Draft201909Validator) -> str:
    schema = validator.schema
    return str(schema.get("$id")) if isinstance(schema, dict) else "the OB 3.0 AchievementCredential JSON Schema"


def _findings(validator: jsonschema.Draft201909Validator, document: dict[str, Any]) -> list[SchemaFinding]:
    schema_id = _schema_id(validator)
    errors = sorted(validator.iter_errors(document), key=lambda e: (_pointer(e.absolute_path), e.message))
    return [SchemaFinding(schema_id=schema_id, path=_pointer(e.absolute_path), message=_said(e)) for e in errors]


_JSON_TYPES = {"list": "array", "dict": "object", "str": "string", "int": "integer", "float": "number"}


def _said(error: jsonschema.ValidationError) -> str:
    """The validator's message, without a long repr of the value it is about (the path names it)."""
    shown = repr(error.instance)
    if len(shown) > 80 and error.message.startswith(shown):
        kind = _JSON_TYPES.get(type(error.instance).__name__, "value")
        return f"the {kind}{error.message[len(shown) :]}"[:300]
    return error.message[:300]


def _schema_ok(run: Run, credential: dict[str, Any]) -> bool:
    """What the official OB 3.0 AchievementCredential JSON Schema says of the document as it is.

    One refusal is known and reported as a warning rather than an error: several status entries
    as an array (revocation and suspension, ADR 0010). VC 2.0 allows the array, OB 3.0's schema
    types ``credentialStatus`` as one object. The finding is still reported as the schema gives
    it; the credential verifies only if each entry is valid in the schema's place and nothing
    else fails.
    """
    validator = _schema(ACHIEVEMENT_CREDENTIAL_SCHEMA)
    findings = _findings(validator, credential)
    if not findings:
        schema_id = _schema_id(validator)
        return run.check("schema", True, f"valid against the OB 3.0 AchievementCredential JSON Schema {schema_id}")
    statuses = credential.get("credentialStatus")
    if isinstance(statuses, list) and statuses and all(f.path == "/credentialStatus" for f in findings):
        # The array is the only refusal: is each entry what the schema wants in its place?
        entries = [
            finding.model_copy(update={"path": finding.path.replace("/credentialStatus", f"/credentialStatus/{i}", 1)})
            for i, entry in enumerate(statuses)
            for finding in _findings(validator, {**credential, "credentialStatus": entry})
            if finding.path.startswith("/credentialStatus")
        ]
        if not entries:
            purposes = ", ".join(str(s.get("statusPurpose")) if isinstance(s, dict) else "?" for s in statuses)
            return run.check(
                "schema",
                False,
                f"the official OB 3.0 AchievementCredential JSON Schema ({findings[0].schema_id}) rejects "
                f"/credentialStatus: {findings[0].message}. The credential carries {len(statuses)} status "
                f"entries ({purposes}) as an array, as VC 2.0 allows and OB 3.0 does not (ADR 0010); each entry "
                "is valid in the schema's place and nothing else fails",
                severity="warning",
                findings=findings,
            )
        findings = findings + entries
    first = findings[0]
    more = f" ({len(findings)} in all)" if len(findings) > 1 else ""
    return run.check(
        "schema",
        False,
        f"the official OB 3.0 AchievementCredential JSON Schema ({first.schema_id}) rejects the credential "
        f"at {first.path}: {first.message}{more}",
        findings=findings[:_FINDINGS_SHOWN],
    )


def _window_ok(run: Run, credential: dict[str, Any], now: dt.datetime) -> bool:
    try:
        valid_from = _parse_time(credential.get("validFrom"))
        valid_until = _parse_time(credential.get("validUntil")) if "validUntil" in credential else None
    except ValueError as exc:
        return run.check("validity", False, str(exc))
    if valid_from is not None and valid_from > now:
        run.status = run.status or "not yet valid"
        return run.check("validity", False, f"not valid before {docs.iso(valid_from)}")
    if valid_until is not None and valid_until <= now:
        run.status = "expired" if run.status in (None, "active") else run.status
        return run.check("validity", False, f"expired on {docs.iso(valid_until)}")
    return run.check("validity", True, "within its validity period")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("dates must be strings")
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"the date {value!r} has no time zone")
    return moment


async def _ob3_jsonld(run: Run, credential: dict[str, Any], recipient: str | None) -> VerifyReport:
    issuer = _issuer_id(credential)
    if len(json.dumps(credential)) > run.verifier.max_bytes:
        run.check("format", False, "the credential is too large to verify")
        return _report(run, "ob3-jsonld", issuer)
    _contexts_ok(run, credential)
    _schema_ok(run, credential)
    await _data_integrity_ok(run, credential, issuer)
    await _status_ok(run, credential, issuer)
    _window_ok(run, credential, dt.datetime.now(dt.UTC))
    return _report(run, "ob3-jsonld", issuer, _recipient_matches(credential, recipient))


async def _data_integrity_ok(run: Run, document: dict[str, Any], issuer: str | None, *, name: str = "proof") -> bool:
    try:
        proof = proofs.data_integrity_proofs(document)[0]
        method = proof.get("verificationMethod")
        if not isinstance(method, str):
            raise proofs.ProofError("the proof names no verificationMethod")
        key, controller, listed = await _resolve_method(run, method)
    except (proofs.ProofError, FetchRefused, KeyError_) as exc:
        return run.check(name, False, str(exc))
    if controller != issuer:
        return run.check(name, False, f"the key's controller {controller!r} is not the issuer {issuer!r}")
    if not listed:
        return run.check(name, False, "the key is not listed in the issuer's assertionMethod (revoked?)")
    try:
        proofs.verify_data_integrity(document, proof, key)
    except proofs.ProofError as exc:
        return run.check(name, False, str(exc))
    except CanonicalizationError as exc:
        return run.check(name, False, f"the credential cannot be canonicalized: {exc}")
    return run.check(name, True, f"DataIntegrityProof eddsa-rdfc-2022 by {method}")


async def _resolve_method(run: Run, method: str) -> tuple[Ed25519PublicKey, str, bool]:
    """(public key, controller, listed in the controller's assertionMethod) for a method id."""
    own = _own_did_key(run.verifier.urls, method)
    if own is not None:
        issuer_id, key_id = own
        key = await run.session.get(IssuerKey, key_id)
        if key is None or key.issuer_id != issuer_id or key.purpose != "data_integrity":
            raise proofs.ProofError(f"the verification method {method} does not exist")
        controller = run.verifier.urls.did(issuer_id)
        return ed25519_from_multibase(key.public_key), controller, key.state != "revoked"
    if method.startswith("did:key:"):
        multibase = method.split("#", 1)[0][len("did:key:") :]
        return ed25519_from_multibase(multibase), method.split("#", 1)[0], True
    if method.startswith("did:web:"):
        entry, controller, listed = await _did_web_method(run, method)
    elif method.startswith(("https://", "http://")):
        entry, controller, listed = await _url_method(run, method)
    else:
        raise proofs.ProofError(f"the verification method {method!r} cannot be resolved (did:web, did:key or https)")
    return ed25519_from_multibase(str(entry.get("publicKeyMultibase", ""))), controller, listed


async def _did_web_method(run: Run, method: str) -> tuple[dict[str, Any], str, bool]:
    """(method entry, controller, listed in assertionMethod) from the DID document of ``method``."""
    did = method.split("#", 1)[0]
    document = await run.fetch_json(_did_web_url(did))
    if not isinstance(document, dict) or document.get("id") != did:
        raise proofs.ProofError("the DID document's id does not match the DID")
    entry = _method_entry(document, method)
    if entry is None:
        raise proofs.ProofError(f"the DID document has no verification method {method}")
    return entry, str(entry.get("controller")), method in _relation(document, "assertionMethod")


async def _url_method(run: Run, method: str) -> tuple[dict[str, Any], str, bool]:
    """A verification method published at its own http(s) URL (a Multikey or JsonWebKey
    document): it says who controls it, and only the controller's own document, listing it in
    ``assertionMethod``, makes that true — anyone can publish a key naming any controller."""
    entry = await run.fetch_json(method)
    if not isinstance(entry, dict) or entry.get("id") != method:
        raise proofs.ProofError(f"{method} does not serve a verification method with that id")
    controller = entry.get("controller")
    if not isinstance(controller, str):
        raise proofs.ProofError(f"the verification method {method} names no controller")
    if controller.startswith("did:web:"):
        controller_doc = await run.fetch_json(_did_web_url(controller.split("#", 1)[0]))
    elif controller.startswith(("https://", "http://")):
        controller_doc = await run.fetch_json(controller)
    else:
        raise proofs.ProofError(f"the key's controller {controller!r} cannot be resolved (did:web or https)")
    if not isinstance(controller_doc, dict) or controller_doc.get("id") != controller:
        raise proofs.ProofError(f"the controller's document does not carry the controller's id {controller!r}")
    return entry, controller, method in _relation(controller_doc, "assertionMethod")


def _object(value: Any) -> dict[str, Any]:
    # Foreign documents may hold anything where an object belongs; treat it as an empty one (the
    # schema check reports the shape) rather than fail on it.
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _absolute(document: dict[str, Any], method_id: Any) -> Any:
    # DID documents may name their methods relative to the document ("#key-1").
    if isinstance(method_id, str) and method_id.startswith("#"):
        return f"{document.get('id')}{method_id}"
    return method_id


def _relation(document: dict[str, Any], name: str) -> set[str]:
    """The ids a verification relationship (``assertionMethod``…) lists, references or embedded."""
    ids = (_absolute(document, m.get("id") if isinstance(m, dict) else m) for m in _as_list(document.get(name)))
    return {i for i in ids if isinstance(i, str)}


def _method_entry(document: dict[str, Any], method: str) -> dict[str, Any] | None:
    candidates = _as_list(document.get("verificationMethod")) + _as_list(document.get("assertionMethod"))
    for entry in candidates:
        if isinstance(entry, dict) and _absolute(document, entry.get("id")) == method:
            return entry
    return None


def _own_did_key(urls: docs.Urls, method: str) -> tuple[str, str] | None:
    prefix = urls.did("ISSUER").rsplit("ISSUER", 1)[0]
    match = re.fullmatch(re.escape(prefix) + f"({_UUID})#({_UUID})", method)
    return (match.group(1), match.group(2)) if match else None


def _own_id(prefix: str, url: str) -> str | None:
    """The id in one of our own document URLs (``prefix`` + UUID), else None: someone else's."""
    match = re.fullmatch(re.escape(prefix) + f"({_UUID})", url)
    return match.group(1) if match else None


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _issuer_origin(issuer: str | None) -> tuple[str, str, int] | None:
    """Where the issuer's own documents live: its did:web host, or its URL's origin."""
    if issuer is None:
        return None
    if issuer.startswith("did:web:"):
        return _origin(_did_web_url(issuer.split("#", 1)[0]))
    return _origin(issuer)


def _did_web_url(did: str) -> str:
    parts = did[len("did:web:") :].split(":")
    host = unquote(parts[0])
    path = "/".join(parts[1:]) or ".well-known"
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    return f"{scheme}://{host}/{path}/did.json"


async def _status_ok(run: Run, credential: dict[str, Any], issuer: str | None) -> None:
    entries = credential.get("credentialStatus")
    if entries is None:
        run.status = "active"
        run.check("status", True, "the credential has no status entries")
        return
    if isinstance(entries, dict):
        entries = [entries]
    states = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            run.check("status", False, "unsupported credentialStatus type")
            continue
        purpose, list_url = entry.get("statusPurpose"), entry.get("statusListCredential")
        try:
            index = int(str(entry.get("statusListIndex")), 10)
            is_set = await _status_bit(run, str(list_url), index, str(purpose), issuer)
        except (ValueError, FetchRefused, statuslist.StatusListError, proofs.ProofError) as exc:
            run.check("status", False, f"{purpose} status could not be checked: {exc}")
            continue
        if is_set:
            states.append("revoked" if purpose == "revocation" else "suspended")
            run.check("status", False, f"the credential is {states[-1]}")
        else:
            run.check("status", True, f"not {'revoked' if purpose == 'revocation' else 'suspended'}")
    run.status = "revoked" if "revoked" in states else "suspended" if states else "active"


async def _status_bit(run: Run, list_url: str, index: int, purpose: str, issuer: str | None) -> bool:
    urls = run.verifier.urls
    list_id = _own_id(urls.status_list(""), list_url)
    if list_id is not None:
        # Ours: read the status from the database rather than the list (same answer, no HTTP).
        status, wanted = await service.status_at(run.session, list_id, index, purpose)
        if status is None:
            raise statuslist.StatusListError("the status list has no such entry")
        return status == wanted
    document = await run.fetch_json(list_url)
    if not isinstance(document, dict):
        raise statuslist.StatusListError("the status list is not a JSON object")
    if _issuer_id(document) != issuer:
        raise statuslist.StatusListError("the status list was issued by someone else")
    if not await _data_integrity_ok(run, document, issuer, name="status list proof"):
        raise proofs.ProofError("the status list's proof does not hold")
    subject = _object(document.get("credentialSubject"))
    if subject.get("statusPurpose") != purpose:
        raise statuslist.StatusListError("the status list's purpose differs from the entry's")
    bits = statuslist.decode(str(subject.get("encodedList", "")))
    if len(bits) * 8 < 131_072:
        raise statuslist.StatusListError("the status list is shorter than 131,072 entries")
    return statuslist.bit(bits, index)


def _recipient_matches(credential: dict[str, Any], recipient: str | None) -> Recipient | None:
    """The subject's ``id``, then its identifiers (hashed ones salted as OB 3.0 says), against the
    recipient given; a mismatch says what it was compared with (never a hash or salt)."""
    if recipient is None:
        return None
    subject = _object(credential.get("credentialSubject"))
    compared = []
    subject_id = subject.get("id")
    if isinstance(subject_id, str):
        if subject_id == recipient:
            return Recipient(True, "the recipient given is the credential subject's id")
        compared.append(f"the subject's id {subject_id}")
    for identity in _as_list(subject.get("identifier")):
        if not isinstance(identity, dict):
            continue
        kind = str(identity.get("identityType") or "identity")
        value = str(identity.get("identityHash", ""))
        if identity.get("hashed"):
            if value == docs.email_identity(recipient, str(identity.get("salt") or "")):
                return Recipient(True, f"the recipient given matches the subject's hashed {kind} identifier")
            compared.append(f"a hashed {kind} identifier")
        else:
            if value.strip().lower() == recipient.strip().lower():
                return Recipient(True, f"the recipient given is the subject's {kind} identifier")
            compared.append(f"the {kind} identifier {value}")
    if not compared:
        return Recipient(False, "the credential names no recipient to compare with (no subject id or identifier)")
    return Recipient(
        False, "the recipient given is not the one the credential names: compared with " + ", ".join(compared)
    )


async def _ob3_jwt(run: Run, jws: proofs.Jws, recipient: str | None) -> VerifyReport:
    credential = jws.payload.get("vc")
    if not isinstance(credential, dict):
        run.check("format", False, "the VC-JWT's vc claim is not an object")
        return _report(run, "ob3-vc-jwt", None)
    issuer = _issuer_id(credential)
    try:
        # The algorithm first: a token claiming none or HMAC is refused before any key is fetched.
        alg = proofs.jws_algorithm(jws, proofs.VC_JWT_ALGORITHMS)
        key = await _jwt_key(run, jws, issuer)
        proofs.verify_jws(jws, key, allowed=proofs.VC_JWT_ALGORITHMS)
        run.check("proof", True, f"VC-JWT {alg} signature by {jws.header.get('kid')}")
    except (proofs.ProofError, FetchRefused, KeyError_, ValueError, UnsupportedAlgorithm) as exc:
        run.check("proof", False, str(exc))
    differ = _jwt_claims_differ(jws.payload, credential, issuer)
    run.check(
        "jwt claims",
        not differ,
        "iss, jti, sub and nbf (and exp) match the credential"
        if not differ
        else "the JWT claims do not match the credential (OB 3.0 JWT Payload Format): " + "; ".join(differ),
    )
    _contexts_ok(run, credential)
    _schema_ok(run, credential)
    await _status_ok(run, credential, issuer)
    _window_ok(run, credential, dt.datetime.now(dt.UTC))
    return _report(run, "ob3-vc-jwt", issuer, _recipient_matches(credential, recipient))


def _jwt_claims_differ(payload: dict[str, Any], credential: dict[str, Any], issuer: str | None) -> list[str]:
    """OB 3.0 § Verify a Credential VC-JWT Signature: ``iss``, ``sub``, ``nbf`` and ``jti`` are
    required and equal ``issuer.id``, ``credentialSubject.id``, ``validFrom`` and ``id``; an
    ``exp`` equals ``validUntil``. What differs, said per claim."""
    subject = _object(credential.get("credentialSubject")).get("id")
    expected = {
        "iss": ("issuer.id", issuer),
        "sub": ("credentialSubject.id", subject),
        "jti": ("id", credential.get("id")),
    }
    differ = []
    for claim, (named, value) in expected.items():
        if claim not in payload:
            differ.append(f"no {claim} claim")
        elif value is None or payload[claim] != value:
            differ.append(f"{claim} is not the credential's {named}")
    for claim, date_field, required in (("nbf", "validFrom", True), ("exp", "validUntil", False)):
        if claim not in payload:
            if required or date_field in credential:
                differ.append(f"no {claim} claim")
            continue
        if _epoch(credential.get(date_field)) != payload[claim]:
            differ.append(f"{claim} is not the credential's {date_field}")
    return differ


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())


async def _jwt_key(run: Run, jws: proofs.Jws, issuer: str | None) -> proofs.JwsPublicKey:
    kid = jws.header.get("kid")
    if isinstance(jws.header.get("jwk"), dict) and kid is None:
        raise proofs.ProofError("an embedded jwk is not trusted: the key must be the issuer's (kid)")
    if not isinstance(kid, str):
        raise proofs.ProofError("the JOSE header has no kid")
    key_id = _own_id(run.verifier.urls.jwk(""), kid)
    if key_id is not None:
        key = await _own_jose_key(run, key_id)
        if issuer != run.verifier.urls.did(key.issuer_id):
            raise proofs.ProofError(f"the key {kid} belongs to another issuer than {issuer!r}")
        return rsa_from_pem(key.public_key)
    if kid.startswith("did:web:"):
        entry, controller, listed = await _did_web_method(run, kid)
        if controller != issuer:
            raise proofs.ProofError(f"the key's controller {controller!r} is not the issuer {issuer!r}")
        if not listed:
            raise proofs.ProofError("the key is not listed in the issuer's assertionMethod (revoked?)")
        jwk = entry.get("publicKeyJwk")
        if not isinstance(jwk, dict):
            raise proofs.ProofError(f"the verification method {kid} has no publicKeyJwk")
        return _jwk_key(jwk, jws)
    if kid.startswith(("https://", "http://")):
        # A bare JWK names no controller: only being served from the issuer's own origin ties it to
        # the issuer (VC-JOSE-COSE: the verifier must establish that the issuer controls the key).
        if _origin(kid) is None or _origin(kid) != _issuer_origin(issuer):
            raise proofs.ProofError(
                f"the key {kid} is not served from the issuer's origin, so nothing ties it to {issuer!r}"
            )
        jwk = await run.fetch_json(kid)
        if not isinstance(jwk, dict):
            raise proofs.ProofError(f"{kid} does not serve a JWK")
        return _jwk_key(jwk, jws)
    raise proofs.ProofError(f"the kid {kid!r} cannot be resolved (a JWK URL or a did:web verification method)")


def _jwk_key(jwk: dict[str, Any], jws: proofs.Jws) -> proofs.JwsPublicKey:
    alg = jws.header.get("alg")
    # A JWK that names its algorithm is only good for that one (no RS256 key used as ES256…).
    if "alg" in jwk and jwk["alg"] != alg:
        raise proofs.ProofError(f"the key is for {jwk['alg']!r}, but the JWT is signed with {alg!r}")
    if jwk.get("use", "sig") != "sig":
        raise proofs.ProofError("the JWK is not a signing key (its use is not sig)")
    kty = jwk.get("kty")
    if kty == "EC":
        return proofs.p256_from_jwk(jwk)
    if kty == "RSA":
        try:
            return rsa_from_jwk(jwk)
        except (KeyError, ValueError) as exc:  # a missing n or e, bad base64url, an invalid key
            raise proofs.ProofError(f"the RSA JWK is not a valid public key: {exc}") from exc
    raise proofs.ProofError(f"unsupported JWK key type {kty!r}; expected RSA or EC (P-256)")


async def _own_jose_key(run: Run, key_id: str) -> IssuerKey:
    key = await run.session.get(IssuerKey, key_id)
    if key is None or key.purpose != "jose" or key.state == "revoked":
        raise proofs.ProofError("the signing key is unknown or revoked")
    return key


# --- OB 2.0 -----------------------------------------------------------------------------------


# OB 2.0 has only revocation: a suspended assertion is published as revoked with a reason that
# says it is a hold (ADR 0018), and reported here as suspended, as OB 3.0's suspension entry is.
_OB2_SUSPENDED = "the assertion is suspended: a temporary hold, not valid while it lasts"


async def _ob2_hosted_url(run: Run, url: str, recipient: str | None) -> VerifyReport:
    urls = run.verifier.urls
    badge_id = _own_id(urls.ob2_assertion(""), url)
    if badge_id is not None:
        badge = await run.session.get(Badge, badge_id)
        if badge is None or badge.ob2_assertion is None:
            run.check("hosted", False, "no such hosted assertion")
            return _report(run, "ob2-hosted", None)
        issuer = urls.ob2_issuer(badge.issuer_id)
        if badge.status == "revoked":
            run.status = "revoked"
            run.check("hosted", False, "the assertion is revoked (410 Gone)")
        elif badge.status == "suspended":
            run.status = "suspended"
            run.check("hosted", False, _OB2_SUSPENDED + " (410 Gone until it is reinstated)")
        else:
            run.status = badge.status
            run.check("hosted", True, "the hosted assertion is served at its id")
        _ob2_window(run, badge.ob2_assertion)
        return _report(run, "ob2-hosted", issuer, _ob2_recipient(badge.ob2_assertion, recipient))
    v = run.verifier
    try:
        got = await fetch(url, allow_private=v.allow_private, max_bytes=v.max_bytes, timeout_s=v.timeout_s)
    except FetchRefused as exc:
        run.check("hosted", False, str(exc))
        return _report(run, "ob2-hosted", None)
    if got.status == 410:
        try:
            gone = json.loads(got.body)
        except ValueError:
            gone = None
        if docs.ob2_is_suspension(gone.get("revocationReason") if isinstance(gone, dict) else None):
            run.status = "suspended"
            run.check("hosted", False, _OB2_SUSPENDED + " (the issuer answers 410 Gone, saying so)")
        else:
            run.status = "revoked"
            run.check("hosted", False, "the issuer answers 410 Gone: revoked")
        return _report(run, "ob2-hosted", None)
    try:
        assertion = json.loads(got.body) if got.status == 200 else None
    except ValueError:
        assertion = None
    if not isinstance(assertion, dict) or assertion.get("id") != url:
        run.check("hosted", False, f"{url} does not serve an assertion with that id (status {got.status})")
        return _report(run, "ob2-hosted", None)
    run.check("hosted", True, "the hosted assertion is served at its id")
    run.status = "active"
    _ob2_window(run, assertion)
    return _report(run, "ob2-hosted", None, _ob2_recipient(assertion, recipient))


async def _ob2_jws(run: Run, jws: proofs.Jws, recipient: str | None) -> VerifyReport:
    assertion = jws.payload
    verification = assertion.get("verification")
    creator = verification.get("creator") if isinstance(verification, dict) else None
    if not isinstance(creator, str):
        run.check("proof", False, "the signed assertion names no verification.creator key")
        _ob2_window(run, assertion)
        return _report(run, "ob2-jws", None, _ob2_recipient(assertion, recipient))
    urls = run.verifier.urls
    key_id = _own_id(urls.ob2_key(""), creator)
    if key_id is None:
        return await _ob2_foreign_jws(run, jws, creator, recipient)
    issuer: str | None = None
    try:
        key = await _own_jose_key(run, key_id)
        issuer = urls.ob2_issuer(key.issuer_id)
        proofs.verify_jws(jws, rsa_from_pem(key.public_key))
        run.check("proof", True, f"JWS RS256 signature by {creator}, a key the issuer publishes")
    except proofs.ProofError as exc:
        run.check("proof", False, str(exc))
    signed_id = assertion.get("id")
    status = await service.ob2_status(run.session, signed_id)
    if status == "revoked":
        run.status = "revoked"
        run.check("status", False, "the assertion is on the issuer's revocation list")
    elif status == "suspended":
        run.status = "suspended"
        run.check("status", False, _OB2_SUSPENDED + " (on the issuer's revocation list until it is reinstated)")
    else:
        run.status = status or None
        run.check("status", status is not None, "not revoked" if status else "unknown assertion id")
    _ob2_window(run, assertion)
    return _report(run, "ob2-jws", issuer, _ob2_recipient(assertion, recipient))


async def _ob2_foreign_jws(run: Run, jws: proofs.Jws, creator: str, recipient: str | None) -> VerifyReport:
    """OB 2.0 "Signed Badges" verification: the key (``verification.creator``) must be owned by
    the badge's issuer and listed in the issuer profile's ``publicKey``; the signature must hold
    with its ``publicKeyPem``; the assertion must not be on the issuer's ``revocationList``."""
    assertion = jws.payload
    try:
        proofs.jws_algorithm(jws, proofs.OB2_JWS_ALGORITHMS)
        issuer, profile = await _ob2_issuer(run, assertion.get("badge"))
    except (proofs.ProofError, FetchRefused) as exc:
        run.check("proof", False, str(exc))
        run.check("status", False, "the revocation list could not be checked without the issuer's profile")
        _ob2_window(run, assertion)
        return _report(run, "ob2-jws", None, _ob2_recipient(assertion, recipient))
    try:
        key = await _ob2_document(run, creator, "the signing key", {"CryptographicKey"})
        owner = _ref(key.get("owner"))
        if owner != issuer:
            raise proofs.ProofError(f"the key's owner {owner!r} is not the badge's issuer {issuer!r}")
        if creator not in _ob2_ids(profile.get("publicKey")):
            raise proofs.ProofError(f"the issuer's profile does not list {creator} in publicKey (withdrawn?)")
        pem = key.get("publicKeyPem")
        if not isinstance(pem, str):
            raise proofs.ProofError(f"the key {creator} has no publicKeyPem")
        proofs.verify_jws(jws, rsa_from_pem(pem), allowed=proofs.OB2_JWS_ALGORITHMS)
        run.check("proof", True, f"JWS RS256 signature by {creator}, a key the issuer publishes")
    except (proofs.ProofError, FetchRefused, KeyError_, ValueError, UnsupportedAlgorithm) as exc:
        # ValueError and UnsupportedAlgorithm: a publicKeyPem that is not a PEM public key.
        run.check("proof", False, str(exc) or f"the key {creator} cannot be read")
    await _ob2_revocation(run, issuer, profile, assertion)
    _ob2_window(run, assertion)
    return _report(run, "ob2-jws", issuer, _ob2_recipient(assertion, recipient))


async def _ob2_issuer(run: Run, badge: Any) -> tuple[str, dict[str, Any]]:
    """(issuer id, issuer profile) of an assertion's ``badge``: a BadgeClass URL or embedded (the
    signature covers it). The profile always comes from the issuer's own URL: only there do its
    ``publicKey`` and ``revocationList`` speak for the issuer."""
    badge_class = (
        badge if isinstance(badge, dict) else await _ob2_document(run, badge, "the BadgeClass", {"BadgeClass"})
    )
    issuer = _ref(badge_class.get("issuer"))
    if issuer is None:
        raise proofs.ProofError("the BadgeClass names no issuer")
    profile = await _ob2_document(run, issuer, "the issuer profile", {"Issuer", "Profile"})
    return issuer, profile


async def _ob2_document(run: Run, url: Any, what: str, types: set[str]) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise proofs.ProofError(f"{what} must be an http(s) URL, not {url!r}")
    document = await run.fetch_json(url)
    if not isinstance(document, dict) or document.get("id") != url:
        raise proofs.ProofError(f"{url} does not serve {what} with that id")
    if not types & {t for t in _as_list(document.get("type")) if isinstance(t, str)}:
        raise proofs.ProofError(f"{url} is not {what} (type {document.get('type')!r})")
    return document


def _ref(value: Any) -> str | None:
    """An OB 2.0 node reference: its id, whether given as a string or an embedded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _ob2_ids(value: Any) -> set[str]:
    return {i for i in (_ref(v) for v in _as_list(value)) if i is not None}


async def _ob2_revocation(run: Run, issuer: str, profile: dict[str, Any], assertion: dict[str, Any]) -> None:
    list_url = profile.get("revocationList")
    if list_url is None:
        run.status = "active"
        run.check("status", True, "the issuer publishes no revocation list")
        return
    assertion_id = assertion.get("id")
    if not isinstance(assertion_id, str):
        run.check("status", False, "the assertion has no id to look up in the revocation list")
        return
    try:
        revocations = await _ob2_document(run, list_url, "the revocation list", {"RevocationList"})
        if revocations.get("issuer") is not None and _ref(revocations.get("issuer")) != issuer:
            raise proofs.ProofError("the revocation list was published by another issuer")
    except (proofs.ProofError, FetchRefused) as exc:
        run.check("status", False, f"the revocation list could not be checked: {exc}")
        return
    # Entries are assertion ids, or objects with an id (OB 1.1 signed badges: a uid) and a reason.
    wanted = {assertion_id} | ({assertion["uid"]} if isinstance(assertion.get("uid"), str) else set())
    for entry in _as_list(revocations.get("revokedAssertions")):
        listed = entry.get("id") or entry.get("uid") if isinstance(entry, dict) else entry
        if isinstance(listed, str) and listed in wanted:
            reason = entry.get("revocationReason") if isinstance(entry, dict) else None
            if docs.ob2_is_suspension(reason):
                run.status = "suspended"
                run.check("status", False, _OB2_SUSPENDED + " (on the issuer's revocation list, saying so)")
                return
            run.status = "revoked"
            run.check(
                "status", False, "the assertion is on the issuer's revocation list" + (f": {reason}" if reason else "")
            )
            return
    run.status = "active"
    run.check("status", True, "not on the issuer's revocation list")


def _ob2_window(run: Run, assertion: dict[str, Any]) -> None:
    try:
        expires = _parse_time(assertion.get("expires"))
    except ValueError as exc:
        run.check("validity", False, str(exc))
        return
    if expires is not None and expires <= dt.datetime.now(dt.UTC):
        run.status = "expired" if run.status in (None, "active") else run.status
        run.check("validity", False, f"expired on {docs.iso(expires)}")
    else:
        run.check("validity", True, "not expired")


def _ob2_recipient(assertion: dict[str, Any], recipient: str | None) -> Recipient | None:
    if recipient is None:
        return None
    given = _object(assertion.get("recipient"))
    identity = str(given.get("identity", ""))
    kind = str(given.get("type") or "identity")
    if given.get("hashed"):
        if identity == docs.email_identity(recipient, str(given.get("salt") or "")):
            return Recipient(True, f"the recipient given matches the assertion's hashed {kind} identity")
        return Recipient(
            False, f"the recipient given is not the one the assertion names: its hashed {kind} identity differs"
        )
    if identity.strip().lower() == recipient.strip().lower():
        return Recipient(True, f"the recipient given is the assertion's {kind} identity")
    return Recipient(
        False, f"the recipient given is not the one the assertion names: its {kind} identity is {identity}"
    )
