"""Offering search, the one entry point: the query's words, the cursor, and the engine that
answers (the in-memory index when the app has one, else the database's full-text index).
Both answer alike; the tests hold them to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.search import database, memory
from services.catalog.search.filters import FACETS, Filters, Page, cursor_digest, decode_cursor
from services.catalog.search.memory import SearchIndex
from services.catalog.search.words import query_words


async def search(
    session: AsyncSession,
    filters: Filters,
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    facets: bool = True,
    index: SearchIndex | None = None,
) -> Page:
    """One page of matching offering ids in the requested order, the total and facet counts:
    from the in-memory ``index`` when given (search/memory.py), else from the database's
    full-text index (search/database.py)."""
    terms = query_words(filters.text)
    if filters.text and filters.text.strip() and not terms:
        # Only stop words, or nothing this index keeps: nothing can match (not: everything does).
        return Page(ids=[], total=0, facets={name: {} for name in FACETS}, next_cursor=None, relevance={})
    if sort == "relevance" and not terms:
        sort = "newest"  # nothing to be relevant to
    digest = cursor_digest(filters, sort)
    offset = decode_cursor(cursor, digest)
    if index is not None:
        return await memory.search(
            session, index, filters, terms, sort=sort, offset=offset, limit=limit, digest=digest, facets=facets
        )
    return await database.search(
        session, filters, terms, sort=sort, offset=offset, limit=limit, digest=digest, facets=facets
    )
