"""What every issuing operation shares: the caller's tenant, where the public documents live, the
signer of the issuer keys, and the rule for text a credential carries (refused with a 422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.badges.errors import NotRepresentable
from services.badges.openbadges import documents as docs
from services.badges.openbadges.jsonld import canonize
from services.badges.openbadges.rdfc import CanonicalizationError
from services.badges.vault import Signer
from shared.problems import FieldError


@dataclass(frozen=True)
class Context:
    """What every operation needs: the tenant, where documents live, and the signer."""

    tenant_id: str
    urls: docs.Urls
    signer: Signer


def check_text(value: Any, pointer: str) -> None:
    """Refuse text a badge cannot carry everywhere it goes: C0 control characters other than tab,
    newline and carriage return (XML 1.0 — the baked SVG and OB 2.0 displayers — cannot hold
    them at all) and unpaired surrogates (not encodable in UTF-8). Everything else, DEL and
    non-ASCII included, is canonicalized exactly as RDFC-1.0 and the JS reference do."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_text(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{pointer}/{i}")
    elif isinstance(value, str):
        for char in value:
            code = ord(char)
            if (code < 0x20 and char not in "\t\n\r") or 0xD800 <= code <= 0xDFFF:
                raise NotRepresentable(
                    f"control character U+{code:04X} cannot be carried in a credential",
                    errors=[FieldError(pointer=pointer, detail=f"remove the control character U+{code:04X}")],
                )


def check_canonizable(document: dict[str, Any], pointer: str) -> None:
    try:
        canonize(document)
    except CanonicalizationError as exc:
        raise NotRepresentable(str(exc), errors=[FieldError(pointer=pointer, detail=str(exc))]) from exc
