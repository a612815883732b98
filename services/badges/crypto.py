"""Issuer keys: generation, encryption at rest, and the encodings verifiers expect.

Private keys are stored only sealed with AES-256-GCM under the key-encryption key (KEK) from
settings; the key's id is the associated data, so a sealed key copied onto another row does not
open. Ed25519 signs Data Integrity proofs (published as Multikey, ``publicKeyMultibase`` =
base58btc of 0xed01 + raw key); RSA-2048 signs VC-JWT and OB 2.0 JWS with RS256 (the algorithm
both 1EdTech validators accept).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.badges.settings import BadgesSettings

ED25519_MULTICODEC = b"\xed\x01"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


class KeyError_(Exception):
    """A key that cannot be used: unsealing failed, or an encoding is wrong."""


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58[rem])
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise KeyError_(f"not base58btc: {char!r}")
        number = number * 58 + _B58_INDEX[char]
    leading = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading + body


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ed25519_multibase(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(ED25519_MULTICODEC + raw)


def ed25519_from_multibase(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise KeyError_("publicKeyMultibase must be base58btc ('z…')")
    decoded = b58decode(value[1:])
    if len(decoded) != 34 or not decoded.startswith(ED25519_MULTICODEC):
        raise KeyError_("publicKeyMultibase is not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(decoded[2:])


def rsa_jwk(public: rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    numbers = public.public_numbers()

    def uint(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": uint(numbers.n), "e": uint(numbers.e), "kid": kid, "alg": "RS256", "use": "sig"}


def rsa_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA":
        raise KeyError_("the JWK is not an RSA key")
    n = int.from_bytes(b64url_decode(str(jwk["n"])), "big")
    e = int.from_bytes(b64url_decode(str(jwk["e"])), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def rsa_from_pem(pem: str) -> rsa.RSAPublicKey:
    public = serialization.load_pem_public_key(pem.encode())
    if not isinstance(public, rsa.RSAPublicKey):
        raise KeyError_("the stored key is not an RSA public key")
    return public


def rsa_pem(public: rsa.RSAPublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rs256_sign(private: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private.sign(data, padding.PKCS1v15(), hashes.SHA256())


def rs256_verify(public: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    """Raises ``cryptography.exceptions.InvalidSignature`` when it does not verify."""
    public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def new_ed25519() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_der(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private(der: bytes) -> Ed25519PrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise KeyError_("unsupported private key type")
    return key


class KeyVault:
    """Seals and opens private keys with the KEK. One instance per process (``app.state``)."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(kek)
        # A separate key, derived from the KEK, for lookup digests of personal data (recipient
        # emails): a stolen database alone does not let anyone test guesses against them.
        self._lookup_key = hmac.new(kek, b"practicum/badges/recipient-lookup", hashlib.sha256).digest()

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
