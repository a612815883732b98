"""Keeping the search in step with every write: an offering's search row (its words, status,
facet key, duration) and SQLite's FTS5 row, written in the offering's transaction; and the
tenant's search version, raised at commit, which tells every process's in-memory index to read
the changed offerings again (ADR 0016).

The version is raised by listeners on the catalog's own sessions (``install_search_hooks``, called
by ``create_app`` with the app's sessionmaker), not on SQLAlchemy's global ``Session`` class: other
services' sessions, and the catalog's under a second app, are left alone.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from services.catalog.models import FrameworkItem, Offering, OfferingAlignment, OfferingSearch, SearchVersion
from services.catalog.search.filters import FACETS, facet_key
from services.catalog.search.words import document


def search_rowid(offering_id: str) -> int:
    """The offering's integer key in SQLite's FTS5 table (FTS5 rows are keyed by integers):
    60 bits of the UUID, unique in practice and enforced by a unique constraint."""
    return int(uuid.UUID(offering_id).hex[:15], 16)


async def write_index(
    session: AsyncSession, offering: Offering, title: str | None = None, body: str | None = None
) -> None:
    """Bring the offering's search row (``OfferingSearch``) and the backend's full-text index up
    to date with the offering, in its transaction. ``title``/``body`` are new search words (from
    ``document``); without them the stored words stay (a status change, say).

    PostgreSQL's generated vector follows the row by itself; SQLite's FTS5 table is written here.
    """
    row = await session.get(OfferingSearch, offering.id)
    if row is None:
        row = OfferingSearch(offering_id=offering.id, search_rowid=search_rowid(offering.id))
        session.add(row)
    row.tenant_id = offering.tenant_id
    row.status = offering.status
    row.facet_key = facet_key({name: getattr(offering, name) for name in FACETS})
    row.duration_minutes = offering.duration_minutes
    row.created_at = offering.created_at
    if title is not None and body is not None:
        row.search_title, row.search_body = title, body
    await session.flush()
    touch(session, offering.tenant_id, offering.id)
    if session.get_bind().dialect.name != "sqlite" or title is None or body is None:
        return
    await session.execute(text("DELETE FROM offering_fts WHERE rowid = :rowid"), {"rowid": row.search_rowid})
    await session.execute(
        text("INSERT INTO offering_fts (rowid, search_title, search_body) VALUES (:rowid, :title, :body)"),
        {"rowid": row.search_rowid, "title": title, "body": body},
    )


async def reindex(session: AsyncSession, offering: Offering) -> None:
    """Rewrite the offering's search words from its fields, tags and aligned statements."""
    statements = await session.scalars(
        select(FrameworkItem.full_statement)
        .join(OfferingAlignment, OfferingAlignment.item_id == FrameworkItem.id)
        .where(OfferingAlignment.offering_id == offering.id)
        .order_by(FrameworkItem.human_coding_scheme, FrameworkItem.id)
    )
    title, body = document(offering, offering.tags, list(statements))
    await session.flush()
    await write_index(session, offering, title, body)


# --- search versions ----------------------------------------------------------------------------

_TOUCHED = "catalog.search_touched"


def touch(session: AsyncSession, tenant_id: str, offering_id: str) -> None:
    """Note that this transaction changed what a search may answer about the offering (the
    offering, its search row, audience, alignments or sessions). At commit, the tenant's search
    version is raised once and the offering stamped with it (``_raise_search_versions``), so an
    in-memory search index (search/memory.py) knows to read it again."""
    touched: set[tuple[str, str]] = session.info.setdefault(_TOUCHED, set())
    touched.add((tenant_id, offering_id))


def _raise_search_versions(session: Session) -> None:
    # At the commit, not at each change: the tenant's version row stays locked from here to the
    # commit, which serializes the tenant's catalog writes for that moment only (and, taken
    # last, it cannot be part of a lock cycle with the rows the transaction changed before).
    touched: set[tuple[str, str]] | None = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    session.flush()
    by_tenant: dict[str, set[str]] = {}
    for tenant_id, offering_id in touched:
        by_tenant.setdefault(tenant_id, set()).add(offering_id)
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for tenant_id in sorted(by_tenant):
        raise_version = (
            insert(SearchVersion)
            .values(tenant_id=tenant_id, version=1)
            .on_conflict_do_update(
                index_elements=[SearchVersion.tenant_id], set_={"version": SearchVersion.version + 1}
            )
            .returning(SearchVersion.version)
        )
        version = session.execute(raise_version).scalar_one()
        session.execute(
            update(OfferingSearch)
            .where(OfferingSearch.offering_id.in_(sorted(by_tenant[tenant_id])))
            .values(search_version=version)
            .execution_options(synchronize_session=False)
        )


def _forget_touched(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


class _SearchHooked(Session):
    """A session class that carries the catalog's search hooks (see ``install_search_hooks``)."""


def install_search_hooks(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Raise the search versions at the commit of every session this sessionmaker makes.

    The listeners go on a ``Session`` subclass of this sessionmaker's own (SQLAlchemy's ORM events
    are on the synchronous session an ``AsyncSession`` wraps), so they reach no other sessionmaker's
    sessions. Installing twice on one sessionmaker changes nothing.
    """
    base: type[Session] = sessionmaker.kw.get("sync_session_class") or sessionmaker.class_.sync_session_class
    if issubclass(base, _SearchHooked):
        return
    hooked = type("CatalogSession", (_SearchHooked, base), {})
    event.listen(hooked, "before_commit", _raise_search_versions)
    event.listen(hooked, "after_rollback", _forget_touched)
    sessionmaker.configure(sync_session_class=hooked)
