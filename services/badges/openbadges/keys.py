"""Issuer keys: generation and the encodings verifiers expect (storage is ``services/badges/vault.py``).

Ed25519 signs Data Integrity proofs (published as Multikey, ``publicKeyMultibase`` =
base58btc of 0xed01 + raw key); RSA-2048 signs VC-JWT and OB 2.0 JWS with RS256 (the algorithm
both 1EdTech validators accept).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
