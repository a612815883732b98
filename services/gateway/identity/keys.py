"""The gateway's token signing keys: Ed25519, one file per key, the newest one signs.

Rotation: add a newer key (``python -m services.gateway.identity.keys rotate``); the previous ones stay in
the directory, so tokens they signed keep verifying until they expire; delete a retired key's
files once its tokens are gone (15 minutes), or at once if it was compromised.
Dev and test create the first key on start; production refuses to start without one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway.settings import GatewaySettings


class NoSigningKey(RuntimeError):
    pass


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey


def new_kid() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def write_key(directory: Path) -> SigningKey:
    """Create a new key; the private half is readable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    kid = new_kid()
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = directory / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (directory / f"{kid}.pub.pem").write_bytes(public)
    return SigningKey(kid=kid, private=private)


def active_key(directory: Path) -> SigningKey | None:
    """The newest private key in the directory (kids sort by creation time)."""
    candidates = (
        sorted(p for p in directory.glob("*.pem") if not p.name.endswith(".pub.pem")) if directory.is_dir() else []
    )
    if not candidates:
        return None
    path = candidates[-1]
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise NoSigningKey(f"{path} is not an Ed25519 private key")
    return SigningKey(kid=path.name.removesuffix(".pem"), private=private)


def load_signing_key(settings: GatewaySettings) -> SigningKey:
    key = active_key(settings.keys_dir)
    if key is not None:
        return key
    if settings.is_production:
        raise NoSigningKey(
            f"no token signing key in {settings.keys_dir}; create one with "
            "`python -m services.gateway.identity.keys rotate` before starting the gateway"
        )
    return write_key(settings.keys_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description="Manage the gateway's token signing keys.")
    parser.add_argument(
        "command", choices=["rotate", "ensure", "show"], help="ensure: create a key only if none exists"
    )
    args = parser.parse_args()
    settings = GatewaySettings()
    if args.command == "rotate" or (args.command == "ensure" and active_key(settings.keys_dir) is None):
        key = write_key(settings.keys_dir)
        print(f"new signing key {key.kid} in {settings.keys_dir}")
    else:
        key_or_none = active_key(settings.keys_dir)
        print(key_or_none.kid if key_or_none else "no signing key")


if __name__ == "__main__":
    main()
