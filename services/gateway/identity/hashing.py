"""Hashing of client secrets and passwords: argon2id (RFC 9106 profile) via argon2-cffi.

Verification is constant-time inside argon2. An unknown client or user is checked against a
dummy hash so a caller cannot tell "no such client" from "wrong secret" by timing.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("practicum-timing-equaliser")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_client_secret() -> str:
    """256 bits, URL-safe; shown to its owner once and stored only as a hash."""
    return secrets.token_urlsafe(32)
