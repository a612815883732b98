"""Bitsets over a tenant's offerings, as the in-memory index keeps them: a Python ``int`` whose bit
``o`` stands for the offering at ordinal ``o``; a rare word keeps its ordinals instead."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable
from typing import Union

# The set bits of each byte value, for turning a bitset into ordinals.
_BYTE_BITS = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))
_NONZERO = re.compile(rb"[^\x00]")


def bitset(ordinals: Iterable[int]) -> int:
    """The bitset with these ordinals (in any order)."""
    found = ordinals if isinstance(ordinals, list | array) else list(ordinals)
    if not found:
        return 0
    buffer = bytearray((max(found) >> 3) + 1)
    for o in found:
        buffer[o >> 3] |= 1 << (o & 7)
    return int.from_bytes(buffer, "little")


def ordinals_of(bits: int) -> list[int]:
    """The ordinals of a bitset, in ascending order."""
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    found: list[int] = []
    for match in _NONZERO.finditer(raw):
        base = match.start() << 3
        found.extend(base + i for i in _BYTE_BITS[raw[match.start()]])
    return found


class Members:
    """Membership in a bitset, by byte look-up (testing a bit of a big ``int`` copies it)."""

    def __init__(self, bits: int) -> None:
        self.raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
        self.size = len(self.raw)

    def __contains__(self, o: int) -> bool:
        i = o >> 3
        return i < self.size and bool(self.raw[i] >> (o & 7) & 1)


# A bitset, or (a rare word) its ordinals in ascending order.
Posting = Union[int, "array[int]"]


def posting_bits(posting: Posting | None) -> int:
    if posting is None:
        return 0
    return posting if isinstance(posting, int) else bitset(posting)
