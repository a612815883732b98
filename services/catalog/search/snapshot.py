"""One tenant's offerings as the in-memory index holds them (a ``Snapshot``): bitsets per status,
facet key, word and label, precomputed orders, and the upcoming sessions in start order; how a
search is answered from them; and the rows read from the database that fill one (``Rows``).
See services/catalog/search/memory.py for how snapshots are read and kept in step."""

from __future__ import annotations

import bisect
import datetime as dt
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from services.catalog.search.bitsets import Members, Posting, bitset, ordinals_of, posting_bits
from services.catalog.search.filters import Filters, facet_keys_allowed, provider_value

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# Up to this many matches, a page is found by sorting the matches; above, by walking an order.
_SORT_AT_MOST = 2_000
# A word in fewer than 1/_DENSE of a tenant's offerings keeps its ordinals, not a bitset: a
# bitset costs an eighth of a byte per offering of the tenant whatever the word's count.
_DENSE = 32
ALIGNED = "competency"  # the label kind of an aligned framework item
_FAR = 2**62  # microseconds: later than any instant


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


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

    def fill(self, rows: Rows) -> None:
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
        self.status_bits = {status: bitset(found) for status, found in statuses.items()}
        self.key_bits = {key: bitset(found) for key, found in keys.items()}
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
            running |= bitset(by_duration[minutes])
            self.up_to.append(running)
        self.sessions.sort(key=_session_order)

    @staticmethod
    def _posting(found: list[int], count: int) -> Posting:
        return bitset(found) if len(found) * _DENSE >= count else array("q", found)

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

    def matching(self, filters: Filters, terms: list[str]) -> int:
        """The bitset of the offerings matching the filters and the query's words."""
        f = filters
        bits = 0
        for status in f.statuses:
            bits |= self.status_bits.get(status, 0)
        for term in terms[:-1]:
            bits &= posting_bits(self.words.get(term))
        if terms:
            bits &= self._prefixed(self.words, terms[-1])
        wanted = f.facets_wanted()
        if bits and any(wanted.values()):
            allowed = 0
            for key in facet_keys_allowed(wanted):
                allowed |= self.key_bits.get(key, 0)
            bits &= allowed
        if bits and f.provider:
            bits &= posting_bits(self.labels.get(label("provider", provider_value(f.provider))))
        if bits and f.competency_item_ids:
            aligned = 0
            for item_id in f.competency_item_ids:
                aligned |= posting_bits(self.labels.get(label(ALIGNED, item_id)))
            bits &= aligned
        if bits and (f.min_minutes is not None or f.max_minutes is not None):
            bits &= self._minutes(f.min_minutes, f.max_minutes)
        for kind, value in f.audience:
            bits &= posting_bits(self.labels.get(label(kind, value)))
        if bits and (f.has_open_seats or f.session_from or f.session_to):
            bits &= self._with_sessions(f)
        return bits

    def _prefixed(self, postings: dict[str, Posting], term: str) -> int:
        """The offerings with a word starting with the term (or its alternative as typed)."""
        bits = 0
        for alternative in term.split("|"):
            at = bisect.bisect_left(self.vocabulary, alternative)
            while at < len(self.vocabulary) and self.vocabulary[at].startswith(alternative):
                bits |= posting_bits(postings.get(self.vocabulary[at]))
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

    def _with_sessions(self, f: Filters) -> int:
        """The offerings with an upcoming session meeting the session filters (one session
        meeting all of them, as in the database engine)."""
        now = _micros(f.now)
        if f.has_open_seats and not (f.session_from or f.session_to):
            return self._open_seats(now)
        start = max(now, _micros(f.session_from)) if f.session_from else now
        first = self._first_from(start)
        end = self._first_from(_micros(f.session_to)) if f.session_to else len(self.sessions)
        window = self.sessions[first:end]
        return bitset(s.ordinal for s in window if not f.has_open_seats or s.open_at(now))

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
        self.open_seats = _Timed(now, until, bitset(found))
        return self.open_seats.bits

    def _upcoming(self, now: int) -> int:
        cached = self.upcoming
        if cached is not None and cached.good_at(now):
            return cached.bits
        first = self._first_from(now)
        upcoming = self.sessions[first:]
        self.upcoming = _Timed(now, upcoming[0].starts if upcoming else _FAR, bitset(s.ordinal for s in upcoming))
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
            yield from sorted(ordinals_of(bits), key=key, reverse=descending)
            return
        members = Members(bits)
        yield from (o for o in order if o in members)

    def _relevance(self, bits: int, terms: list[str], offset: int, count: int) -> list[tuple[str, int]]:
        """By how many query words the title holds, then newest: the matches split into one
        bitset per score, walked from the highest."""
        levels = [bits]
        for position, term in enumerate(terms):
            last = position == len(terms) - 1
            in_title = self._prefixed(self.title, term) if last else posting_bits(self.title.get(term))
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

            ordered = sorted(ordinals_of(bits), key=lambda o: (next_start(o), self.ids[o]))
            return ordered[offset:wanted]
        members = Members(bits)
        seen: dict[int, None] = {}
        for s in self.sessions[self._first_from(now) :]:
            if s.ordinal in members and s.ordinal not in seen:
                seen[s.ordinal] = None
                if len(seen) >= wanted:
                    return list(seen)[offset:wanted]
        without = Members(bits & ~self._upcoming(now))
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


@dataclass
class Rows:
    """Some of a tenant's offerings as the database returned them (turned into the index's
    shapes by ``Snapshot.fill``, off the event loop, or ``Rows.grouped``)."""

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
