"""Offering search in memory: a snapshot per tenant, kept in step with the database (ADR 0016).

The database engine (``search/database.py``) answers a search with one query, but exact facet counts and
sorting over tens of thousands of matches cost PostgreSQL's executor 30-100 ms however the rows
are laid out (ADR 0012), which a district's largest searches cannot afford. The index holds, per
tenant, what a search needs as bitsets over the tenant's offerings: a Python ``int`` whose bit
``o`` stands for the offering at ordinal ``o``. Every filter becomes an AND of bitsets, the total
a ``bit_count()``, the facet counts one AND and count per facet key present, and a page comes
from walking a precomputed order (newest, shortest, id) or the upcoming sessions in start order.

It answers exactly as the database engine does, from the same stored words
(``OfferingSearch.search_title``/``search_body``, normalized once by ``words.document``), so
the tests hold the two engines to the same answers on both backends.

Staying in step: every transaction that changes what a search could answer raises the tenant's
search version and stamps the offerings it changed (``indexing.touch``). Before each search the
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
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Iterator, Sequence

from sqlalchemy import func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.catalog.models import (
    OfferingAlignment,
    OfferingAudience,
    OfferingSearch,
    OfferingSession,
    SearchVersion,
)
from services.catalog.search.filters import Filters, Page, add_up, encode_cursor
from services.catalog.search.snapshot import ALIGNED, Rows, Snapshot

logger = logging.getLogger("practicum.catalog.search_index")

# Read the tenant anew when more of its ordinals are dropped than live, or a change is this big.
_REREAD_CHANGES = 2_000
_IN_CLAUSE = 500
# Sessions are read from this long before the time of reading: a search that began while the
# snapshot was being read may look for sessions starting from its own, slightly earlier, time.
_SESSIONS_MARGIN = dt.timedelta(hours=1)


async def _read(session: AsyncSession, tenant_id: str, offering_ids: Sequence[str] | None) -> Rows:
    """What the index needs of the tenant's offerings: all, or only those named."""
    since = dt.datetime.now(dt.UTC) - _SESSIONS_MARGIN
    rows = Rows()
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
            select(OfferingAlignment.offering_id, literal(ALIGNED), OfferingAlignment.item_id)
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
    """The snapshots of one process, one per tenant searched (``CatalogState.search_index``)."""

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


async def search(
    session: AsyncSession,
    index: SearchIndex,
    filters: Filters,
    terms: list[str],
    *,
    sort: str,
    offset: int,
    limit: int,
    digest: str,
    facets: bool,
) -> Page:
    """One page of the matching offerings from the tenant's snapshot, brought up to date first."""
    snapshot = await index.current(session, filters.tenant_id)
    matched = snapshot.matching(filters, terms)
    found = snapshot.page(matched, sort, terms, filters.now, offset, limit + 1)
    counts, total = add_up(snapshot.facets(matched)) if facets else ({}, matched.bit_count())
    return Page(
        ids=[offering_id for offering_id, _ in found[:limit]],
        total=total,
        facets=counts,
        next_cursor=encode_cursor(offset + limit, digest) if len(found) > limit else None,
        relevance={i: float(score) for i, score in found[:limit]} if sort == "relevance" else {},
    )
