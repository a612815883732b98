"""Headers of a file download: its name (``Content-Disposition``, RFC 6266 with the RFC 8187
encoding for names that are not plain ASCII) and its digest (``Repr-Digest``, RFC 9530)."""

from __future__ import annotations

import base64
import unicodedata
from urllib.parse import quote

# RFC 8187 attr-char beyond what urllib.parse.quote always leaves alone (letters, digits, "_.-~").
_ATTR_CHAR_EXTRA = "!#$&+^`|"


def _ascii_fallback(name: str) -> str:
    """The name in printable ASCII for ``filename=`` (accents dropped, anything else ``_``)."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        kept.append(char if " " <= char <= "~" and char not in '"\\/' else "_")
    return "".join(kept).strip() or "download"


def content_disposition(file_name: str, *, disposition: str = "attachment") -> str:
    """``attachment; filename="…"`` and, when the name is not plain ASCII, ``filename*=UTF-8''…``
    (RFC 6266 §4.3: recipients that understand ``filename*`` prefer it)."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "download"  # no client path
    fallback = _ascii_fallback(name)
    header = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        header += "; filename*=UTF-8''" + quote(name, safe=_ATTR_CHAR_EXTRA)
    return header


def repr_digest(sha256_hex: str) -> str:
    """RFC 9530 ``Repr-Digest``: the SHA-256 of the representation as a structured-field byte
    sequence (``sha-256=:<base64>:``)."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii") + ":"
