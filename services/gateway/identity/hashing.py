"""Hashing of client secrets and passwords: argon2id (RFC 9106 profile) via argon2-cffi.

The cost (time, memory, parallelism) comes from the gateway's settings; ``create_app`` makes one
:class:`SecretHasher` and keeps it in the app's state. Verification is constant-time inside
argon2. An unknown client or user is checked against a dummy hash made with the same cost, so a
caller cannot tell "no such client" from "wrong secret" by timing; that hash is computed on the
first miss, not at import.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_DUMMY_SECRET = "practicum-timing-equaliser"  # noqa: S105 - hashed only to spend the same time


class SecretHasher:
    """argon2id at one cost: hashes new secrets and checks presented ones."""

    def __init__(self, *, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)
        self._dummy_hash: str | None = None

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, secret_hash: str | None, secret: str) -> bool:
        """Whether ``secret`` matches ``secret_hash``; a missing hash costs as much and is False."""
        try:
            return self._hasher.verify(secret_hash or self._dummy(), secret) and secret_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(_DUMMY_SECRET)
        return self._dummy_hash


def new_client_secret() -> str:
    """256 bits, URL-safe; shown to its owner once and stored only as a hash."""
    return secrets.token_urlsafe(32)
