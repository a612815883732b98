"""What a search asks and what it answers: the filters, the facets (packed into one integer key
per offering), the cursor of a page, and the page itself. Both engines share these."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import get_args

from services.catalog.models import Offering
from services.catalog.schemas import Level, Modality, OfferingType, Pacing, ProviderKind
from shared.problems import BadRequest

# The facets, and each one's values in the order the API declares them: a value's position
# (from 1; 0 is "none") is its code in ``facet_key``. Stored keys depend on that order, so a new
# value goes at the end of its Literal (anything else needs a migration that rewrites every
# search row's key); a test holds the codes to those migration 0007 stored.
FACET_VALUES: dict[str, tuple[str, ...]] = {
    "offering_type": get_args(OfferingType),
    "modality": get_args(Modality),
    "pacing": get_args(Pacing),
    "level": get_args(Level),
    "provider_kind": get_args(ProviderKind),
}
FACETS = tuple(FACET_VALUES)
_FACET_BITS = 6  # up to 63 values per facet; the five fit in 30 bits
SORTS = ("relevance", "soonest", "shortest", "newest")
# Deeper than this, a cursor is not one this API gave out (pages are at most 100 offerings).
MAX_OFFSET = 1_000_000


def facet_key(values: Mapping[str, str | None]) -> int:
    """The five facet values packed into one integer, ``_FACET_BITS`` bits each."""
    key = 0
    for name, known in FACET_VALUES.items():
        value = values[name]
        key = (key << _FACET_BITS) | (known.index(value) + 1 if value is not None else 0)
    return key


def facet_values(key: int) -> dict[str, str | None]:
    """The facet values a ``facet_key`` packs (the inverse of ``facet_key``)."""
    found: dict[str, str | None] = {}
    for name in reversed(FACETS):
        code = key & ((1 << _FACET_BITS) - 1)
        found[name] = FACET_VALUES[name][code - 1] if code else None
        key >>= _FACET_BITS
    return {name: found[name] for name in FACETS}


def facet_keys_allowed(wanted: Mapping[str, Sequence[str]]) -> list[int]:
    """Every key whose facet values are among the wanted ones (a facet not named: any value)."""
    choices: list[list[str | None]] = []
    for name, known in FACET_VALUES.items():
        if wanted.get(name):
            choices.append([value for value in known if value in wanted[name]])
        else:
            # A facet its column lets be empty (the level) also has the "none" code.
            nullable = Offering.__table__.c[name].nullable
            choices.append([*known, None] if nullable else list(known))
    return [facet_key(dict(zip(FACETS, combination, strict=True))) for combination in itertools.product(*choices)]


@dataclass(frozen=True)
class Filters:
    """What the caller asked for; every field narrows the result (AND), values in a list widen (OR)."""

    tenant_id: str
    statuses: tuple[str, ...] = ("published",)
    text: str | None = None
    offering_types: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    pacings: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    provider_kinds: tuple[str, ...] = ()
    provider: str | None = None  # name or provider number, exact (case-insensitive)
    competency_item_ids: tuple[str, ...] = ()  # already expanded to descendants
    min_minutes: int | None = None
    max_minutes: int | None = None
    audience: tuple[tuple[str, str], ...] = ()  # (kind, value): each must hold
    has_open_seats: bool = False
    session_from: dt.datetime | None = None
    session_to: dt.datetime | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def facets_wanted(self) -> dict[str, tuple[str, ...]]:
        """The facet filters by facet name (an empty tuple: any value)."""
        return {
            "offering_type": self.offering_types,
            "modality": self.modalities,
            "pacing": self.pacings,
            "level": self.levels,
            "provider_kind": self.provider_kinds,
        }


@dataclass(frozen=True)
class Page:
    ids: list[str]
    total: int
    facets: dict[str, dict[str, int]]
    next_cursor: str | None
    relevance: dict[str, float]


def provider_value(provider: str) -> str:
    """A provider filter as the audience rows hold providers: case-folded in Python on both
    sides (SQLite's lower() knows only ASCII), at most 100 characters."""
    return provider.strip().casefold()[:100]


def cursor_digest(filters: Filters, sort: str) -> str:
    # A cursor is only valid for the search that produced it.
    material = json.dumps([repr(filters.__dict__ | {"now": None}), sort], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def encode_cursor(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, digest]).encode()).decode()


def decode_cursor(cursor: str | None, digest: str) -> int:
    if not cursor:
        return 0
    try:
        offset, given = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor") from exc
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET or given != digest:
        raise BadRequest("the cursor belongs to another search (filters or sort changed)", pointer="/query/cursor")
    return offset


def add_up(groups: Iterable[tuple[int, int]]) -> tuple[dict[str, dict[str, int]], int]:
    """Facet counts and the total from (facet key, count) groups."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    total = 0
    for key, count in groups:
        total += count
        for name, value in facet_values(key).items():
            if value is not None:
                counts[name][value] += count
    return {name: dict(sorted(counter.items())) for name, counter in counts.items()}, total
