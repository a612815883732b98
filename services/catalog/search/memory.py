"""Offering search in memory: a snapshot per tenant, kept in step with the database (ADR 0016).

The database engine (``search.py``) answers a search with one query, but exact facet counts and
sorting over tens of thousands of matches cost PostgreSQL's executor 30-100 ms however the rows
are laid out (ADR 0012), which a district's largest searches cannot afford. The index holds, per
tenant, what a search needs as bitsets over the tenant's offerings: a Python ``int`` whose bit
``o`` stands for the offering at ordinal ``o``. Every filter becomes an AND of bitsets, the total
a ``bit_count()``, the facet counts one AND and count per facet key present, and a page comes
from walking a precomputed order (newest, shortest, id) or the upcoming sessions in start order.

It answers exactly as the database engine does, from the same stored words
(``OfferingSearch.search_title``/``search_body``, normalized once by ``search.document``), so
the tests hold the two engines to the same answers on both backends.

Staying in step: every transaction that changes what a search could answer raises the tenant's
search version and stamps the offerings it changed (``search.touch``). Before each search the
index reads the tenant's version (one small query); if it moved, it reads only the offerings
stamped after its snapshot and replaces them, so a search sees every change committed before
it began, in any process. A changed offering gets a new ordinal; its old one is dropped from
the status bitsets, which every search starts from, and the snapshot is read anew once dropped
ordinals pile up.

Sessions are kept too (only scheduled ones that had not started when read: a started session
never becomes upcoming again), so the open-seats and session-window filters and the soonest sort
are answered here, at the time of the search.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import gc
import logging
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

from sqlalchemy import func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.catalog import search
from services.catalog.models import (
    OfferingAlignment,
    OfferingAudience,
    OfferingSearch,
    OfferingSession,
    SearchVersion,
)

logger = logging.getLogger("practicum.catalog.search_index")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# Up to this many matches, a page is found by sorting the matches; above, by walking an order.
_SORT_AT_MOST = 2_000
# A word in fewer than 1/_DENSE of a tenant's offerings keeps its ordinals, not a bitset: a
# bitset costs an eighth of a byte per offering of the tenant whatever the word's count.
_DENSE = 32
# Read the tenant anew when more of its ordinals are dropped than live, or a change is this big.
_REREAD_CHANGES = 2_000
_IN_CLAUSE = 500
_ALIGNED = "competency"  # the label kind of an aligned framework item
# The set bits of each byte value, for turning a bitset into ordinals.
_BYTE_BITS = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))
_NONZERO = re.compile(rb"[^\x00]")
_FAR = 2**62  # microseconds: later than any instant
# Sessions are read from this long before the time of reading: a search that began while the
# snapshot was being read may look for sessions starting from its own, slightly earlier, time.
_SESSIONS_MARGIN = dt.timedelta(hours=1)


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _bits(ordinals: Iterable[int]) -> int:
    """The bitset with these ordinals (in any order)."""
    found = ordinals if isinstance(ordinals, list | array) else list(ordinals)
    if not found:
        return 0
    buffer = bytearray((max(found) >> 3) + 1)
    for o in found:
        buffer[o >> 3] |= 1 << (o & 7)
    return int.from_bytes(buffer, "little")


def _ordinals(bits: int) -> list[int]:
    """The ordinals of a bitset, in ascending order."""
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    found: list[int] = []
    for match in _NONZERO.finditer(raw):
        base = match.start() << 3
        found.extend(base + i for i in _BYTE_BITS[raw[match.start()]])
    return found


class _Members:
    """Membership in a bitset, by byte look-up (testing a bit of a big ``int`` copies it)."""

    def __init__(self, bits: int) -> None:
        self.raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
        self.size = len(self.raw)

    def __contains__(self, o: int) -> bool:
        i = o >> 3
        return i < self.size and bool(self.raw[i] >> (o & 7) & 1)


# A bitset, or (a rare word) its ordinals in ascending order.
Posting = Union[int, "array[int]"]


def _posting_bits(posting: Posting | None) -> int:
    if posting is None:
        return 0
    return posting if isinstance(posting, int) else _bits(posting)


class _Session(NamedTuple):
    starts: int  # microseconds since the epoch, as every instant here
    offering_id: str
    ordinal: int
    capacity: int
    seats_taken: int
    opens: int | None
    closes: int | None

    def open_at(self, now: int) -> bool:
        return (
            self.seats_taken < self.capacity
            and (self.opens is None or self.opens <= now)
            and (self.closes is None or self.closes > now)
        )


@dataclass
class _Offering:
    """One offering as the index reads it."""

    offering_id: str
    status: str
    facet_key: int
    duration: int
    created: int
    title: set[str]
    words: set[str]
    labels: set[str] = field(default_factory=set)
    sessions: list[tuple[int, int, int, int | None, int | None]] = field(default_factory=list)


@dataclass
class _Timed:
    """A bitset that depends on the time of the search, good from ``since`` until ``until``."""

    since: int
    until: int
    bits: int

    def good_at(self, now: int) -> bool:
        return self.since <= now < self.until


class Snapshot:
    """One tenant's offerings as bitsets and orders (see the module docstring)."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.ids: list[str] = []
        self.ordinal: dict[str, int] = {}
        self.created: list[int] = []
        self.duration: list[int] = []
        self.dropped = 0
        self.status_bits: dict[str, int] = {}
        self.key_bits: dict[int, int] = {}
        self.words: dict[str, Posting] = {}
        self.title: dict[str, Posting] = {}
        self.labels: dict[str, Posting] = {}
        self.vocabulary: list[str] = []  # every word, sorted: a prefix is a range of it
        self.oldest_first: list[int] = []  # by (created, id): newest is this walked backwards
        self.shortest_first: list[int] = []  # by (duration, id)
        self.by_id: list[int] = []
        self.durations: list[int] = []  # the distinct durations, ascending
        self.up_to: list[int] = []  # up_to[i]: the offerings of durations[i] minutes or fewer
        self.sessions: list[_Session] = []  # by (starts, offering id), as the soonest sort orders
        self.sessions_of: dict[int, list[int]] = {}  # ordinal -> its sessions' starts, ascending
        self.upcoming: _Timed | None = None
        self.open_seats: _Timed | None = None

    # --- building ------------------------------------------------------------------------------

    def fill(self, rows: _Rows) -> None:
        """Index a whole tenant at once: CPU work only, so it can run off the event loop (the
        snapshot is not shared until it is done). ``rows`` is emptied as it is read, so the
        words of the whole tenant are not held twice."""
        words: dict[str, list[int]] = {}
        title: dict[str, list[int]] = {}
        labels: dict[str, list[int]] = {}
        statuses: dict[str, list[int]] = {}
        keys: dict[int, list[int]] = {}
        offerings, rows.offerings = rows.offerings, []
        offerings.reverse()
        while offerings:
            offering_id, status, key, minutes, created, title_text, body = offerings.pop()
            o = self._ordinal_for(offering_id, _micros(created), minutes)
            statuses.setdefault(status, []).append(o)
            keys.setdefault(key, []).append(o)
            title_words = set(title_text.split())
            for word in title_words:
                title.setdefault(word, []).append(o)
            for word in title_words.union(body.split()):
                words.setdefault(word, []).append(o)
        for offering_id, kind, value in rows.labels:
            labelled = self.ordinal.get(offering_id)
            if labelled is not None:
                labels.setdefault(label(kind, value), []).append(labelled)
        for offering_id, starts, capacity, taken, opens, closes in rows.sessions:
            scheduled = self.ordinal.get(offering_id)
            if scheduled is not None:
                self._add_session(offering_id, scheduled, _session_values(starts, capacity, taken, opens, closes))
        rows.labels, rows.sessions = [], []
        for ascending in self.sessions_of.values():
            ascending.sort()
        count = len(self.ids)
        self.status_bits = {status: _bits(found) for status, found in statuses.items()}
        self.key_bits = {key: _bits(found) for key, found in keys.items()}
        self.words = {word: self._posting(sorted(found), count) for word, found in words.items()}
        self.title = {word: self._posting(sorted(found), count) for word, found in title.items()}
        self.labels = {label: self._posting(sorted(found), count) for label, found in labels.items()}
        self.vocabulary = sorted(self.words)
        ordinals = range(count)
        self.oldest_first = sorted(ordinals, key=self._newest_key)
        self.shortest_first = sorted(ordinals, key=self._shortest_key)
        self.by_id = sorted(ordinals, key=self.ids.__getitem__)
        by_duration: dict[int, list[int]] = {}
        for o in ordinals:
            by_duration.setdefault(self.duration[o], []).append(o)
        self.durations = sorted(by_duration)
        running = 0
        self.up_to = []
        for minutes in self.durations:
            running |= _bits(by_duration[minutes])
            self.up_to.append(running)
        self.sessions.sort(key=_session_order)

    @staticmethod
    def _posting(found: list[int], count: int) -> Posting:
        return _bits(found) if len(found) * _DENSE >= count else array("q", found)

    def _ordinal_for(self, offering_id: str, created: int, duration: int) -> int:
        """A new ordinal for the offering, with its columns (not yet its bitsets)."""
        o = len(self.ids)
        self.ids.append(offering_id)
        self.ordinal[offering_id] = o
        self.created.append(created)
        self.duration.append(duration)
        return o

    def _add_session(
        self, offering_id: str, o: int, values: tuple[int, int, int, int | None, int | None], *, in_order: bool = False
    ) -> None:
        """Add a session: at its place in start order, or (``fill``) at the end, sorted later."""
        added = _Session(values[0], offering_id, o, *values[1:])
        if in_order:
            bisect.insort(self.sessions, added, key=_session_order)
        else:
            self.sessions.append(added)
        self.sessions_of.setdefault(o, []).append(values[0])

    def _add_row(self, offering: _Offering) -> int:
        o = self._ordinal_for(offering.offering_id, offering.created, offering.duration)
        for values in offering.sessions:
            self._add_session(offering.offering_id, o, values, in_order=True)
        self.sessions_of.get(o, []).sort()
        return o

    def replace(self, offerings: Sequence[_Offering]) -> None:
        """Bring changed offerings up to date: each old ordinal dropped, a new one added."""
        gone = {self.ordinal[o.offering_id] for o in offerings if o.offering_id in self.ordinal}
        for old in gone:
            bit = 1 << old
            for status, bits in self.status_bits.items():
                if bits & bit:
                    self.status_bits[status] = bits & ~bit
            # Its sessions, found by their starts (not a pass over all of the tenant's sessions:
            # a registration changes one offering, and the next search pays for this).
            for start in self.sessions_of.pop(old, []):
                at = bisect.bisect_left(self.sessions, start, key=_starts)
                while at < len(self.sessions) and self.sessions[at].starts == start:
                    if self.sessions[at].ordinal == old:
                        del self.sessions[at]
                        break
                    at += 1
        self.dropped += len(gone)
        for offering in offerings:
            o = self._add_row(offering)
            bit = 1 << o
            self.status_bits[offering.status] = self.status_bits.get(offering.status, 0) | bit
            self.key_bits[offering.facet_key] = self.key_bits.get(offering.facet_key, 0) | bit
            for word in offering.words:
                if word not in self.words:
                    bisect.insort(self.vocabulary, word)
                self.words[word] = self._with(self.words.get(word), o)
            for word in offering.title:
                self.title[word] = self._with(self.title.get(word), o)
            for label in offering.labels:
                self.labels[label] = self._with(self.labels.get(label), o)
            bisect.insort(self.oldest_first, o, key=self._newest_key)
            bisect.insort(self.shortest_first, o, key=self._shortest_key)
            bisect.insort(self.by_id, o, key=self.ids.__getitem__)
            at = bisect.bisect_left(self.durations, offering.duration)
            if at == len(self.durations) or self.durations[at] != offering.duration:
                self.durations.insert(at, offering.duration)
                self.up_to.insert(at, self.up_to[at - 1] if at else 0)
            for i in range(at, len(self.up_to)):
                self.up_to[i] |= bit
        self.upcoming = self.open_seats = None

    @staticmethod
    def _with(posting: Posting | None, o: int) -> Posting:
        if posting is None:
            return array("q", [o])
        if isinstance(posting, int):
            return posting | 1 << o
        posting.append(o)  # new ordinals are the highest: the array stays ascending
        return posting

    # --- searching -----------------------------------------------------------------------------

    def matching(self, filters: search.Filters, terms: list[str]) -> int:
        """The bitset of the offerings matching the filters and the query's words."""
        f = filters
        bits = 0
        for status in f.statuses:
            bits |= self.status_bits.get(status, 0)
        for term in terms[:-1]:
            bits &= _posting_bits(self.words.get(term))
        if terms:
            bits &= self._prefixed(self.words, terms[-1])
        wanted = f.facets_wanted()
        if bits and any(wanted.values()):
            allowed = 0
            for key in search.facet_keys_allowed(wanted):
                allowed |= self.key_bits.get(key, 0)
            bits &= allowed
        if bits and f.provider:
            bits &= _posting_bits(self.labels.get(label("provider", search.provider_value(f.provider))))
        if bits and f.competency_item_ids:
            aligned = 0
            for item_id in f.competency_item_ids:
                aligned |= _posting_bits(self.labels.get(label(_ALIGNED, item_id)))
            bits &= aligned
        if bits and (f.min_minutes is not None or f.max_minutes is not None):
            bits &= self._minutes(f.min_minutes, f.max_minutes)
        for kind, value in f.audience:
            bits &= _posting_bits(self.labels.get(label(kind, value)))
        if bits and (f.has_open_seats or f.session_from or f.session_to):
            bits &= self._with_sessions(f)
        return bits

    def _prefixed(self, postings: dict[str, Posting], term: str) -> int:
        """The offerings with a word starting with the term (or its alternative as typed)."""
        bits = 0
        for alternative in term.split("|"):
            at = bisect.bisect_left(self.vocabulary, alternative)
            while at < len(self.vocabulary) and self.vocabulary[at].startswith(alternative):
                bits |= _posting_bits(postings.get(self.vocabulary[at]))
                at += 1
        return bits

    def _minutes(self, least: int | None, most: int | None) -> int:
        def up_to(minutes: int) -> int:
            at = bisect.bisect_right(self.durations, minutes) - 1
            return self.up_to[at] if at >= 0 else 0

        bits = up_to(most) if most is not None else -1  # -1: every bit set
        if least is not None:
            bits &= ~up_to(least - 1)
        return bits

    def _first_from(self, moment: int) -> int:
        return bisect.bisect_left(self.sessions, moment, key=_starts)

    def _with_sessions(self, f: search.Filters) -> int:
        """The offerings with an upcoming session meeting the session filters (one session
        meeting all of them, as in the database engine)."""
        now = _micros(f.now)
        if f.has_open_seats and not (f.session_from or f.session_to):
            return self._open_seats(now)
        start = max(now, _micros(f.session_from)) if f.session_from else now
        first = self._first_from(start)
        end = self._first_from(_micros(f.session_to)) if f.session_to else len(self.sessions)
        window = self.sessions[first:end]
        return _bits(s.ordinal for s in window if not f.has_open_seats or s.open_at(now))

    def _open_seats(self, now: int) -> int:
        cached = self.open_seats
        if cached is not None and cached.good_at(now):
            return cached.bits
        first = self._first_from(now)
        upcoming = self.sessions[first:]
        # Good until the next session starts or a registration window opens or closes.
        until = upcoming[0].starts if upcoming else _FAR
        found = []
        for s in upcoming:
            if s.open_at(now):
                found.append(s.ordinal)
            for moment in (s.opens, s.closes):
                if moment is not None and now < moment < until:
                    until = moment
        self.open_seats = _Timed(now, until, _bits(found))
        return self.open_seats.bits

    def _upcoming(self, now: int) -> int:
        cached = self.upcoming
        if cached is not None and cached.good_at(now):
            return cached.bits
        first = self._first_from(now)
        upcoming = self.sessions[first:]
        self.upcoming = _Timed(now, upcoming[0].starts if upcoming else _FAR, _bits(s.ordinal for s in upcoming))
        return self.upcoming.bits

    def facets(self, bits: int) -> list[tuple[int, int]]:
        """(facet key, count) of the matches."""
        found = []
        for key, key_bits in self.key_bits.items():
            count = (bits & key_bits).bit_count()
            if count:
                found.append((key, count))
        return found

    def page(
        self, bits: int, sort: str, terms: list[str], now: dt.datetime, offset: int, count: int
    ) -> list[tuple[str, int]]:
        """(offering id, relevance) at positions ``offset`` to ``offset + count`` in the sort."""
        if sort == "relevance":
            return self._relevance(bits, terms, offset, count)
        if sort == "soonest":
            return [(self.ids[o], 0) for o in self._soonest(bits, _micros(now), offset, count)]
        if sort == "shortest":
            ordinals = self._ordered(bits, self.shortest_first, self._shortest_key, False)
        else:
            ordinals = self._ordered(bits, reversed(self.oldest_first), self._newest_key, True)
        return [(self.ids[o], 0) for o in _slice(ordinals, offset, count)]

    # The orders' keys, ascending; ties between offerings are broken by id, as in the database.
    def _newest_key(self, o: int) -> tuple[int, str]:
        return (self.created[o], self.ids[o])

    def _shortest_key(self, o: int) -> tuple[int, str]:
        return (self.duration[o], self.ids[o])

    @staticmethod
    def _ordered(bits: int, order: Iterable[int], key: Any, descending: bool) -> Iterator[int]:
        """The offerings of the bitset in an order: few of them are sorted, many are found by
        walking the precomputed order and keeping the members."""
        if bits.bit_count() <= _SORT_AT_MOST:
            yield from sorted(_ordinals(bits), key=key, reverse=descending)
            return
        members = _Members(bits)
        yield from (o for o in order if o in members)

    def _relevance(self, bits: int, terms: list[str], offset: int, count: int) -> list[tuple[str, int]]:
        """By how many query words the title holds, then newest: the matches split into one
        bitset per score, walked from the highest."""
        levels = [bits]
        for position, term in enumerate(terms):
            last = position == len(terms) - 1
            in_title = self._prefixed(self.title, term) if last else _posting_bits(self.title.get(term))
            nxt = [0] * (len(levels) + 1)
            for score, level in enumerate(levels):
                nxt[score] |= level & ~in_title
                nxt[score + 1] |= level & in_title
            levels = nxt
        found: list[tuple[str, int]] = []
        skip = offset
        for score in range(len(levels) - 1, -1, -1):
            level = levels[score]
            size = level.bit_count()
            if skip >= size:
                skip -= size
                continue
            ordered = self._ordered(level, reversed(self.oldest_first), self._newest_key, True)
            for o in _slice(ordered, skip, count - len(found)):
                found.append((self.ids[o], score))
            skip = 0
            if len(found) >= count:
                break
        return found

    def _soonest(self, bits: int, now: int, offset: int, count: int) -> list[int]:
        """By the next upcoming session's start, then (without one) by id."""
        wanted = offset + count
        if bits.bit_count() <= _SORT_AT_MOST:

            def next_start(o: int) -> int:
                starts = self.sessions_of.get(o, [])
                at = bisect.bisect_left(starts, now)
                return starts[at] if at < len(starts) else _FAR

            ordered = sorted(_ordinals(bits), key=lambda o: (next_start(o), self.ids[o]))
            return ordered[offset:wanted]
        members = _Members(bits)
        seen: dict[int, None] = {}
        for s in self.sessions[self._first_from(now) :]:
            if s.ordinal in members and s.ordinal not in seen:
                seen[s.ordinal] = None
                if len(seen) >= wanted:
                    return list(seen)[offset:wanted]
        without = _Members(bits & ~self._upcoming(now))
        rest = (o for o in self.by_id if o in without)
        return [*seen, *_slice(rest, 0, wanted - len(seen))][offset:wanted]


def _starts(s: _Session) -> int:
    return s.starts


def _session_order(s: _Session) -> tuple[int, str]:
    return (s.starts, s.offering_id)


def _slice(ordered: Iterable[int], offset: int, count: int) -> list[int]:
    found = []
    for position, o in enumerate(ordered):
        if position >= offset:
            found.append(o)
            if len(found) >= count:
                break
    return found


def label(kind: str, value: str) -> str:
    """A label (audience value, provider, aligned item) is indexed like a word, under a prefix no
    word can have (words are [0-9a-z])."""
    return f"~{kind}:{value}"


# --- reading the database --------------------------------------------------------------------


@dataclass
class _Rows:
    """Some of a tenant's offerings as the database returned them (turned into the index's
    shapes by ``Snapshot.fill``, off the event loop, or ``_Rows.grouped``)."""

    # (offering id, status, facet key, minutes, created, title words, body words)
    offerings: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)  # (offering id, kind, value)
    # (offering id, starts, capacity, seats taken, registration opens, registration closes)
    sessions: list[Any] = field(default_factory=list)

    def grouped(self) -> list[_Offering]:
        """One ``_Offering`` each (for the few offerings of a change)."""
        found: dict[str, _Offering] = {}
        for offering_id, status, key, minutes, created, title, body in self.offerings:
            title_words = set(title.split())
            found[offering_id] = _Offering(
                offering_id, status, key, minutes, _micros(created), title_words, title_words.union(body.split())
            )
        for offering_id, kind, value in self.labels:
            if offering_id in found:
                found[offering_id].labels.add(label(kind, value))
        for offering_id, starts, capacity, taken, opens, closes in self.sessions:
            if offering_id in found:
                found[offering_id].sessions.append(_session_values(starts, capacity, taken, opens, closes))
        return list(found.values())


def _session_values(
    starts: dt.datetime, capacity: int, taken: int, opens: dt.datetime | None, closes: dt.datetime | None
) -> tuple[int, int, int, int | None, int | None]:
    return (_micros(starts), capacity, taken, _micros(opens) if opens else None, _micros(closes) if closes else None)


async def _read(session: AsyncSession, tenant_id: str, offering_ids: Sequence[str] | None) -> _Rows:
    """What the index needs of the tenant's offerings: all, or only those named."""
    since = dt.datetime.now(dt.UTC) - _SESSIONS_MARGIN
    rows = _Rows()
    for chunk in _chunks(offering_ids):
        offerings = select(
            OfferingSearch.offering_id,
            OfferingSearch.status,
            OfferingSearch.facet_key,
            OfferingSearch.duration_minutes,
            OfferingSearch.created_at,
            OfferingSearch.search_title,
            OfferingSearch.search_body,
        ).where(OfferingSearch.tenant_id == tenant_id)
        audience = (
            select(OfferingAudience.offering_id, OfferingAudience.kind, OfferingAudience.value)
            .join(OfferingSearch, OfferingSearch.offering_id == OfferingAudience.offering_id)
            .where(OfferingSearch.tenant_id == tenant_id)
        )
        alignments = (
            select(OfferingAlignment.offering_id, literal(_ALIGNED), OfferingAlignment.item_id)
            .join(OfferingSearch, OfferingSearch.offering_id == OfferingAlignment.offering_id)
            .where(OfferingSearch.tenant_id == tenant_id)
        )
        sessions = select(
            OfferingSession.offering_id,
            OfferingSession.starts_at,
            OfferingSession.capacity,
            OfferingSession.seats_taken,
            OfferingSession.registration_opens_at,
            OfferingSession.registration_closes_at,
        ).where(
            OfferingSession.tenant_id == tenant_id,
            OfferingSession.status == "scheduled",
            OfferingSession.starts_at >= since,
        )
        if chunk is not None:
            offerings = offerings.where(OfferingSearch.offering_id.in_(chunk))
            audience = audience.where(OfferingAudience.offering_id.in_(chunk))
            alignments = alignments.where(OfferingAlignment.offering_id.in_(chunk))
            sessions = sessions.where(OfferingSession.offering_id.in_(chunk))
        # Rows unpack as tuples: (offering id, status, key, minutes, created, title, body), ...
        rows.offerings.extend(await session.execute(offerings))
        rows.labels.extend(await session.execute(audience))
        rows.labels.extend(await session.execute(alignments))
        rows.sessions.extend(await session.execute(sessions))
    return rows


def _chunks(ids: Sequence[str] | None) -> Iterator[Sequence[str] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), _IN_CLAUSE):
        yield ids[start : start + _IN_CLAUSE]


async def _version(session: AsyncSession, tenant_id: str) -> int:
    found = await session.scalar(select(SearchVersion.version).where(SearchVersion.tenant_id == tenant_id))
    return int(found or 0)


class SearchIndex:
    """The snapshots of one process, one per tenant searched (``app.state.search_index``)."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def current(self, session: AsyncSession, tenant_id: str) -> Snapshot:
        """The tenant's snapshot, brought up to the database's latest committed version."""
        version = await _version(session, tenant_id)
        snapshot = self.snapshots.get(tenant_id)
        if snapshot is not None and snapshot.version >= version:
            return snapshot
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            snapshot = self.snapshots.get(tenant_id)
            if snapshot is not None and snapshot.version >= version:
                return snapshot
            if snapshot is not None and snapshot.dropped * 2 < len(snapshot.ids):
                changed = list(
                    await session.scalars(
                        select(OfferingSearch.offering_id).where(
                            OfferingSearch.tenant_id == tenant_id, OfferingSearch.search_version > snapshot.version
                        )
                    )
                )
                if len(changed) < _REREAD_CHANGES:
                    snapshot.replace((await _read(session, tenant_id, sorted(changed))).grouped())
                    snapshot.version = version
                    return snapshot
            # The first search of the tenant here, or too much changed: read it whole.
            fresh = Snapshot(version)
            with _collector_paused():
                rows = await _read(session, tenant_id, None)
                # In a thread: a large tenant takes seconds of CPU, and other requests (other
                # tenants' searches, writes) go on meanwhile, between the thread's turns.
                await asyncio.to_thread(fresh.fill, rows)
            self.snapshots[tenant_id] = fresh
            return fresh


async def warm(index: SearchIndex, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Read every tenant's snapshot, largest first, so that no search waits for its tenant's
    first read (run in the background when the service starts). A tenant that fails to read
    is left for its first search, which reads it again."""
    try:
        async with sessionmaker() as session:
            tenants = list(
                await session.scalars(
                    select(OfferingSearch.tenant_id).group_by(OfferingSearch.tenant_id).order_by(func.count().desc())
                )
            )
    except (SQLAlchemyError, OSError):
        # Not migrated yet, or the database is away: /readyz says so; searches read on demand.
        logger.warning("search index: listing tenants at start failed", exc_info=True)
        return
    for tenant_id in tenants:
        try:
            async with sessionmaker() as session:
                await index.current(session, tenant_id)
        except (SQLAlchemyError, OSError):
            logger.warning("search index: reading tenant %s at start failed", tenant_id, exc_info=True)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading a large tenant makes millions of short-lived objects, and Python's cyclic garbage
    collector would walk them all again and again (measured: 88,149 offerings read in 11.6 s,
    6.4 s without it). Nothing made here forms cycles; reference counting frees it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
