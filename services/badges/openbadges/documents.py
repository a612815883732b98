"""The public documents of Open Badges 3.0 and 2.0, built from the service's rows.

Every id is a URL under ``PUBLIC_BASE_URL`` that the gateway routes to this service (``/ob/...``),
except the issuer's id, which is a did:web DID resolving to ``/ob/issuers/{id}/did.json``
(docs/decisions/0009-issuer-identifiers-and-keys.md). Documents carry no nulls and no empty
arrays: some verifiers reject them, and the strict OB 3.0 schema does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB3_CONTEXT = [VC_V2, OB_V3]
# A credential also names the 1EdTech extensions context: it alone defines the credentialSchema
# type OB 3.0 requires (1EdTechJsonSchemaValidator2019), which JSON-LD safe mode refuses undefined.
OB3_CREDENTIAL_CONTEXT = [VC_V2, OB_V3, OB_EXTENSIONS]
OB2_CONTEXT = "https://w3id.org/openbadges/v2"
DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
OB3_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
# The type OB 3.0 gives a credentialSchema entry (§ Verification: "the type of the CredentialSchema
# object is 1EdTechJsonSchemaValidator2019"), not VC 2.0's JsonSchema.
OB3_SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"


def email_identity(email: str, salt: str) -> str:
    """OB identity hash of an email: sha256 over the trimmed, lower-cased address + salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def iso(moment: dt.datetime) -> str:
    """XML Schema dateTime in UTC with a Z, seconds precision: what every validator parses."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact(value: Any) -> Any:
    """Drop None values and empty lists/dicts, recursively (OB documents never carry them)."""
    if isinstance(value, dict):
        out = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [compact(v) for v in value if v is not None]
    return value


@dataclass(frozen=True)
class Urls:
    """Where each public document lives, under the public base URL."""

    base: str

    @property
    def ob(self) -> str:
        return f"{self.base}/ob"

    def did(self, issuer_id: str) -> str:
        # did:web: host (port percent-encoded) then path segments joined by ':' (did:web spec §3.2).
        parts = urlsplit(self.base)
        host = quote(parts.netloc, safe="")
        segments = [s for s in parts.path.split("/") if s] + ["ob", "issuers", issuer_id]
        return "did:web:" + ":".join([host, *segments])

    def did_document(self, issuer_id: str) -> str:
        return f"{self.ob}/issuers/{issuer_id}/did.json"

    def verification_method(self, issuer_id: str, key_id: str) -> str:
        return f"{self.did(issuer_id)}#{key_id}"

    def profile(self, issuer_id: str) -> str:
        return f"{self.ob}/issuers/{issuer_id}"

    def achievement(self, achievement_id: str, version: int) -> str:
        return f"{self.ob}/achievements/{achievement_id}/versions/{version}"

    def achievement_image(self, achievement_id: str, version: int) -> str:
        return f"{self.achievement(achievement_id, version)}/image"

    def credential(self, badge_id: str) -> str:
        return f"{self.ob}/credentials/{badge_id}"

    def credential_jwt(self, badge_id: str) -> str:
        return f"{self.ob}/credentials/{badge_id}/jwt"

    def baked(self, badge_id: str, extension: str) -> str:
        """The OB 3.0 credential baked into the badge image (``png`` or ``svg``)."""
        return f"{self.credential(badge_id)}/baked.{extension}"

    def page(self, badge_id: str) -> str:
        """The badge's public page (HTML; the credential's URL shows it to browsers too)."""
        return f"{self.ob}/badges/{badge_id}"

    def status_list(self, list_id: str) -> str:
        return f"{self.ob}/status-lists/{list_id}"

    def jwk(self, key_id: str) -> str:
        return f"{self.ob}/keys/{key_id}"

    def jwks(self, issuer_id: str) -> str:
        return f"{self.ob}/issuers/{issuer_id}/jwks.json"

    def ob2_issuer(self, issuer_id: str) -> str:
        return f"{self.ob}/v2/issuers/{issuer_id}"

    def ob2_revocations(self, issuer_id: str) -> str:
        return f"{self.ob}/v2/issuers/{issuer_id}/revocations"

    def ob2_badgeclass(self, achievement_id: str, version: int) -> str:
        return f"{self.ob}/v2/badgeclasses/{achievement_id}/versions/{version}"

    def ob2_assertion(self, badge_id: str) -> str:
        return f"{self.ob}/v2/assertions/{badge_id}"

    def ob2_jws(self, badge_id: str) -> str:
        return f"{self.ob}/v2/assertions/{badge_id}/jws"

    def ob2_baked(self, badge_id: str, extension: str) -> str:
        """The OB 2.0 signed assertion baked into the badge image (``png`` or ``svg``)."""
        return f"{self.ob2_assertion(badge_id)}/baked.{extension}"

    def ob2_key(self, key_id: str) -> str:
        return f"{self.ob}/v2/keys/{key_id}"


@dataclass(frozen=True)
class IssuerFacts:
    id: str
    name: str
    url: str
    email: str
    description: str | None
    image_url: str | None
    phone: str | None
    address: dict[str, Any] | None


def ob3_profile(urls: Urls, issuer: IssuerFacts, *, with_context: bool) -> dict[str, Any]:
    address = None
    if issuer.address:
        address = {"type": ["Address"], **issuer.address}
    profile = {
        "@context": OB3_CONTEXT if with_context else None,
        "id": urls.did(issuer.id),
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "phone": issuer.phone,
        "description": issuer.description,
        "image": {"id": issuer.image_url, "type": "Image"} if issuer.image_url else None,
        "address": address,
    }
    return compact(profile)  # type: ignore[no-any-return]


def did_document(urls: Urls, issuer_id: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
    """``keys``: (key id, publicKeyMultibase) of every published Ed25519 key, newest first."""
    did = urls.did(issuer_id)
    methods = [
        {
            "id": urls.verification_method(issuer_id, key_id),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multibase,
        }
        for key_id, multibase in keys
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


def ob3_achievement(urls: Urls, achievement_id: str, version: int, content: dict[str, Any]) -> dict[str, Any]:
    """The OB 3.0 Achievement of one version (no ``@context``: it is embedded or wrapped)."""
    own = urls.achievement(achievement_id, version)
    criteria = content.get("criteria") or {}
    result_descriptions = []
    for criterion in content.get("result_descriptions") or []:
        levels = [
            {
                "id": f"{own}#{criterion['key']}.{level['key']}",
                "type": ["RubricCriterionLevel"],
                "name": level["name"],
                "description": level.get("description"),
                "level": level.get("level"),
                "points": level.get("points"),
            }
            for level in criterion["levels"]
        ]
        required = criterion.get("required_level")
        result_descriptions.append(
            {
                "id": f"{own}#{criterion['key']}",
                "type": ["ResultDescription"],
                "name": criterion["name"],
                "resultType": "RubricCriterionLevel",
                "rubricCriterionLevel": levels,
                "requiredLevel": f"{own}#{criterion['key']}.{required}" if required else None,
            }
        )
    alignments = [
        {
            "type": ["Alignment"],
            "targetType": "CFItem",
            "targetName": a["target_name"],
            "targetUrl": a["target_url"],
            "targetCode": a.get("target_code"),
            "targetFramework": a.get("target_framework"),
            "targetDescription": a.get("target_description"),
        }
        for a in content.get("alignments") or []
    ]
    document = {
        "id": own,
        "type": ["Achievement"],
        "achievementType": content.get("achievement_type"),
        "name": content["name"],
        "description": content["description"],
        "criteria": {"id": criteria.get("url"), "narrative": criteria.get("narrative")},
        "image": {"id": urls.achievement_image(achievement_id, version), "type": "Image"},
        "alignment": alignments,
        "tag": content.get("tags"),
        "creditsAvailable": content.get("credits_available"),
        "fieldOfStudy": content.get("field_of_study"),
        "humanCode": content.get("human_code"),
        "resultDescription": result_descriptions,
        "version": str(version),
    }
    return compact(document)  # type: ignore[no-any-return]


def result_ids(urls: Urls, achievement_id: str, version: int, criterion: str, level: str) -> tuple[str, str]:
    own = urls.achievement(achievement_id, version)
    return f"{own}#{criterion}", f"{own}#{criterion}.{level}"


def status_entry(urls: Urls, list_id: str, index: int, purpose: str) -> dict[str, Any]:
    list_url = urls.status_list(list_id)
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    urls: Urls, list_id: str, issuer_id: str, purpose: str, encoded: str, valid_from: dt.datetime
) -> dict[str, Any]:
    list_url = urls.status_list(list_id)
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.did(issuer_id),
        "validFrom": iso(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            # A plain string, not an array: the Digital Bazaar status checker insists on it.
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }


# --- Open Badges 2.0 ----------------------------------------------------------------------------


def ob2_issuer(urls: Urls, issuer: IssuerFacts, key_ids: list[str]) -> dict[str, Any]:
    return compact(  # type: ignore[no-any-return]
        {
            "@context": OB2_CONTEXT,
            "type": "Issuer",
            "id": urls.ob2_issuer(issuer.id),
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
            "telephone": issuer.phone,
            "description": issuer.description,
            "image": issuer.image_url,
            "publicKey": [urls.ob2_key(key_id) for key_id in key_ids],
            "revocationList": urls.ob2_revocations(issuer.id),
        }
    )


def ob2_key(urls: Urls, issuer_id: str, key_id: str, pem: str) -> dict[str, Any]:
    return {
        "@context": OB2_CONTEXT,
        "type": "CryptographicKey",
        "id": urls.ob2_key(key_id),
        "owner": urls.ob2_issuer(issuer_id),
        "publicKeyPem": pem,
    }


def ob2_badgeclass(
    urls: Urls, issuer_id: str, achievement_id: str, version: int, content: dict[str, Any]
) -> dict[str, Any]:
    criteria = content.get("criteria") or {}
    return compact(  # type: ignore[no-any-return]
        {
            "@context": OB2_CONTEXT,
            "type": "BadgeClass",
            "id": urls.ob2_badgeclass(achievement_id, version),
            "name": content["name"],
            "description": content["description"],
            "image": urls.achievement_image(achievement_id, version),
            "criteria": {"id": criteria.get("url"), "narrative": criteria.get("narrative")},
            "issuer": urls.ob2_issuer(issuer_id),
            "tags": content.get("tags"),
            "alignment": [
                {
                    "targetName": a["target_name"],
                    "targetUrl": a["target_url"],
                    "targetCode": a.get("target_code"),
                    "targetFramework": a.get("target_framework"),
                    "targetDescription": a.get("target_description"),
                }
                for a in content.get("alignments") or []
            ],
        }
    )


# OB 2.0 knows only revocation, so a suspended badge is published as revoked while the hold lasts
# (hosted assertion: 410 Gone; signed assertion: on the issuer's RevocationList), with this fixed
# reason instead of the issuer's own note, and reinstating withdraws it (ADR 0018).
OB2_SUSPENDED_REASON = (
    "Suspended: a temporary hold by the issuer, who may reinstate this assertion; it is not valid while suspended"
)


def ob2_revocation_reason(status: str, reason: str | None) -> str | None:
    """The ``revocationReason`` OB 2.0 documents give for a badge that is revoked or suspended."""
    return OB2_SUSPENDED_REASON if status == "suspended" else reason


def ob2_is_suspension(reason: Any) -> bool:
    """Whether an OB 2.0 revocation reason says the assertion is only suspended (ours, or any
    issuer's that starts its reason the same way)."""
    return isinstance(reason, str) and reason.startswith("Suspended:")


def ob2_gone(assertion_id: str, reason: str | None) -> dict[str, Any]:
    """The body of a hosted assertion that answers 410 Gone: its id, ``revoked`` and the reason."""
    return compact(  # type: ignore[no-any-return]
        {"@context": OB2_CONTEXT, "id": assertion_id, "revoked": True, "revocationReason": reason}
    )


def ob2_revocation_list(urls: Urls, issuer_id: str, revoked: list[tuple[str, str | None]]) -> dict[str, Any]:
    return {
        "@context": OB2_CONTEXT,
        "type": "RevocationList",
        "id": urls.ob2_revocations(issuer_id),
        "issuer": urls.ob2_issuer(issuer_id),
        "revokedAssertions": [
            compact({"id": assertion_id, "revocationReason": reason}) for assertion_id, reason in revoked
        ],
    }
