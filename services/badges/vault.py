"""Issuer private keys at rest, and the signer that opens them.

Private keys are stored only sealed with AES-256-GCM under the key-encryption key (KEK) from
settings; the key's id is the associated data, so a sealed key copied onto another row does not
open. The public encodings and key generation are Open Badges matters (``openbadges/keys.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.badges.models import IssuerKey
from services.badges.openbadges.keys import KeyError_, b64url, b64url_decode, load_private, private_der
from services.badges.settings import BadgesSettings

PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey


class KeyVault:
    """Seals and opens private keys with the KEK. One instance per process (in the app's ``BadgesState``)."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(kek)
        # A separate key, derived from the KEK, for lookup digests of personal data (recipient
        # emails): a stolen database alone does not let anyone test guesses against them.
        self._lookup_key = hmac.new(kek, b"practicum/badges/recipient-lookup", hashlib.sha256).digest()
        # Another, for the pseudonymous subject ids of email-only recipients: a published id must
        # not be testable against the database's lookup digests, nor they against it.
        self._subject_key = hmac.new(kek, b"practicum/badges/recipient-subject-id", hashlib.sha256).digest()

    def seal(self, key_id: str, secret: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, secret, key_id.encode())

    def open(self, key_id: str, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], key_id.encode())
        except Exception as exc:  # InvalidTag: wrong KEK, tampered or moved ciphertext
            raise KeyError_("a private key could not be unsealed: wrong key-encryption key?") from exc

    def lookup_digest(self, value: str) -> str:
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()

    def subject_id(self, tenant_id: str, email: str) -> str:
        """The credential subject id of a recipient known only by email: ``urn:uuid:`` of an HMAC
        (keyed from the KEK) over the tenant and the trimmed, lower-cased address.

        The same recipient of one tenant gets the same id on every badge, reissue and bulk row,
        so a wallet or verifier can relate their credentials (OB 3.0 VC-JWT ``sub`` must equal
        ``credentialSubject.id``); without the key the id reveals nothing, and cannot be tested
        against guessed addresses; another tenant's id for the same person differs. Derived, not
        stored: nothing to migrate or keep in step. A UUIDv8 (RFC 9562: vendor-defined bits).
        """
        message = f"{tenant_id}\n{email.strip().lower()}".encode()
        digest = bytearray(hmac.new(self._subject_key, message, hashlib.sha256).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
        return f"urn:uuid:{uuid.UUID(bytes=bytes(digest))}"


def load_kek(settings: BadgesSettings) -> bytes:
    """The configured KEK; in dev/test without one, a random KEK kept in the data directory."""
    if settings.key_encryption_key is not None:
        try:
            kek = b64url_decode(settings.key_encryption_key.get_secret_value().strip())
        except ValueError as exc:
            raise ValueError("BADGES_KEY_ENCRYPTION_KEY must be base64url") from exc
        if len(kek) != 32:
            raise ValueError("BADGES_KEY_ENCRYPTION_KEY must decode to 32 bytes")
        return kek
    if settings.is_production:  # the settings validator already refuses this; never fall through
        raise ValueError("BADGES_KEY_ENCRYPTION_KEY is required in production")
    path: Path = settings.data_dir / "badges-kek"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(b64url(secrets.token_bytes(32)))
    return b64url_decode(path.read_text().strip())


class Signer:
    """Unseals issuer keys once per process (AES-GCM + DER parsing cost more than signing)."""

    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault
        self._cache: dict[str, PrivateKey] = {}

    def seal(self, key_id: str, key: PrivateKey) -> bytes:
        return self.vault.seal(key_id, private_der(key))

    def private(self, key: IssuerKey) -> PrivateKey:
        cached = self._cache.get(key.id)
        if cached is None:
            cached = load_private(self.vault.open(key.id, key.sealed_private_key))
            self._cache[key.id] = cached
        return cached

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)
