"""Bitstring Status List encoding (W3C Bitstring Status List v1.0, §3.1 and §3.2).

Index 0 is the left-most (most significant) bit of the first byte. The list is GZIP-compressed
and written as multibase base64url without padding (prefix ``u``).
"""

from __future__ import annotations

import base64
import gzip
import io
from collections.abc import Iterable

# A decoded list may not be larger than this: a tiny gzip bomb must not fill memory.
MAX_DECODED_BYTES = 16 * 1024 * 1024


class StatusListError(ValueError):
    pass


def encode(size: int, set_indexes: Iterable[int]) -> str:
    if size % 8:
        raise ValueError("a status list's size is a whole number of bytes")
    bits = bytearray(size // 8)
    for index in set_indexes:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same text, so the signed list changes only with them.
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise StatusListError("encodedList is not base64url") from exc
    try:
        reader = gzip.GzipFile(fileobj=io.BytesIO(compressed))
        data = reader.read(MAX_DECODED_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise StatusListError("encodedList is not GZIP data") from exc
    if len(data) > MAX_DECODED_BYTES:
        raise StatusListError("encodedList is too large")
    return data


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"statusListIndex {index} is outside the list ({len(bits) * 8} entries)")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
