"""The database engine of offering search: PostgreSQL full text (tsvector + GIN) and SQLite FTS5
behind one interface.

Both backends must answer the same query with the same offerings, so neither tokenizes or stems
on its own: Python turns text into normalized words once (search/words.py), the index stores those
words (``OfferingSearch.search_title`` / ``search_body``), and a query is normalized the same way.
PostgreSQL indexes them with the ``simple`` configuration (no stemming of its own), SQLite with
FTS5's ``unicode61`` tokenizer; every query word must match (AND), the last one as a prefix, so
typing "formative assess" finds "formative assessment".

Neither backend's own parser or ranking is used either. PostgreSQL's parser would split a word
like "2e8f" (it reads "2e8" as a number), so the vector is built from the stored words as they
are (``array_to_tsvector``) and the query is a tsquery literal, never parsed. Its ``ts_rank`` and
FTS5's ``bm25`` would order differently, and bm25's statistics span the whole table, so one
tenant's ranking would move with another tenant's offerings. Relevance is therefore the same
plain score on both: how many of the query's words the title holds (a title match outranks a
match in the description, tags or competencies), then newest first. Ties and every other sort
are broken by id, so pages are stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import OfferingAlignment, OfferingAudience, OfferingSearch, OfferingSession
from services.catalog.search.filters import Filters, Page, add_up, encode_cursor, facet_keys_allowed, provider_value

# How many of the earliest upcoming sessions the soonest sort reads before sorting (``_soonest``).
SOONEST_WINDOW = 500


def _fts(terms: list[str]) -> Select[Any]:
    """SQLite: the rowids of the FTS5 rows matching every word (the last as a prefix)."""
    last = " OR ".join(f'"{alternative}"*' for alternative in terms[-1].split("|"))
    query = " AND ".join([*(f'"{t}"' for t in terms[:-1]), f"({last})"])
    return (
        select(literal_column("offering_fts.rowid"))
        .select_from(text("offering_fts"))
        .where(text("offering_fts MATCH :fts_query").bindparams(fts_query=query.strip()))
    )


def _tsquery(terms: list[str]) -> ColumnElement[Any]:
    """PostgreSQL: the same words as a tsquery (AND, the last as a prefix).

    As a sub-select, so the planner cannot estimate from the words how many offerings match and
    goes through the GIN index. Estimating a common word, it would rather read every offering's
    word vector, and that costs far more than it thinks: the vectors are stored out of line
    (TOAST), a look-up each, which its cost model leaves out.
    """
    # A literal, not to_tsquery(): the words are already normalized ([0-9a-z]), and the parser
    # would split some of them differently from the stored words (see the module docstring).
    last = " | ".join(f"'{alternative}':*" for alternative in terms[-1].split("|"))
    query = " & ".join([*(f"'{t}'" for t in terms[:-1]), f"({last})"])
    return select(cast(literal(query), TSQUERY)).scalar_subquery()


def _title_hits(terms: list[str]) -> ColumnElement[Any]:
    """The relevance score: how many query words the title holds (the last as a prefix). Plain
    string matching over the stored title words, which both backends do alike."""
    padded = " " + OfferingSearch.search_title + " "
    hits: list[ColumnElement[Any]] = []
    for position, term in enumerate(terms):
        last = position == len(terms) - 1
        patterns = [f"% {alternative}%" for alternative in term.split("|")] if last else [f"% {term} %"]
        hits.append(case((or_(*(padded.like(pattern) for pattern in patterns)), 1), else_=0))
    return sum(hits[1:], hits[0])


_VECTOR: ColumnElement[Any] = literal_column("offering_search.search_vector")


def _upcoming_sessions(now: dt.datetime) -> Select[Any]:
    """The offerings (ids) with an upcoming scheduled session."""
    return select(OfferingSession.offering_id).where(
        OfferingSession.status == "scheduled", OfferingSession.starts_at >= now
    )


def _having(kind: str, value: str) -> ColumnElement[bool]:
    return OfferingSearch.offering_id.in_(
        select(OfferingAudience.offering_id).where(OfferingAudience.kind == kind, OfferingAudience.value == value)
    )


def _where(filters: Filters, dialect: str, terms: list[str]) -> list[ColumnElement[bool]]:
    f = filters
    conditions: list[ColumnElement[bool]] = [
        OfferingSearch.tenant_id == f.tenant_id,
        OfferingSearch.status.in_(f.statuses),
    ]
    if terms and dialect == "sqlite":
        conditions.append(OfferingSearch.search_rowid.in_(_fts(terms)))
    elif terms:
        conditions.append(_VECTOR.op("@@")(_tsquery(terms)))
    wanted = f.facets_wanted()
    if any(wanted.values()):
        # The facet filters as the facet keys they allow: one IN on an indexed integer.
        conditions.append(OfferingSearch.facet_key.in_(facet_keys_allowed(wanted)))
    # Conditions on other tables are IN (sub-select), not correlated EXISTS: SQLite runs an
    # EXISTS once per offering (a competency domain's dozens of items each time), an IN once.
    if f.provider:
        conditions.append(_having("provider", provider_value(f.provider)))
    if f.competency_item_ids:
        aligned = select(OfferingAlignment.offering_id).where(OfferingAlignment.item_id.in_(f.competency_item_ids))
        conditions.append(OfferingSearch.offering_id.in_(aligned))
    if f.min_minutes is not None:
        conditions.append(OfferingSearch.duration_minutes >= f.min_minutes)
    if f.max_minutes is not None:
        conditions.append(OfferingSearch.duration_minutes <= f.max_minutes)
    conditions.extend(_having(kind, value) for kind, value in f.audience)
    if f.has_open_seats or f.session_from or f.session_to:
        upcoming = _upcoming_sessions(f.now)
        if f.has_open_seats:
            open_now = or_(
                OfferingSession.registration_closes_at.is_(None), OfferingSession.registration_closes_at > f.now
            )
            opened = or_(
                OfferingSession.registration_opens_at.is_(None), OfferingSession.registration_opens_at <= f.now
            )
            upcoming = upcoming.where(OfferingSession.seats_taken < OfferingSession.capacity, open_now, opened)
        if f.session_from:
            upcoming = upcoming.where(OfferingSession.starts_at >= f.session_from)
        if f.session_to:
            upcoming = upcoming.where(OfferingSession.starts_at < f.session_to)
        conditions.append(OfferingSearch.offering_id.in_(upcoming))
    return conditions


async def search(
    session: AsyncSession,
    filters: Filters,
    terms: list[str],
    *,
    sort: str,
    offset: int,
    limit: int,
    digest: str,
    facets: bool,
) -> Page:
    """One page of the matching offerings from the database's full-text index (see the module
    docstring): ``terms`` are the query's words, ``offset`` where the cursor left off."""
    dialect = session.get_bind().dialect.name
    conditions = _where(filters, dialect, terms)
    if dialect == "postgresql":
        # The best plan depends on the values (a tenant's size, how common a word or a facet value
        # is): asyncpg prepares every statement, and PostgreSQL would switch a prepared statement
        # to one generic plan after five runs. Planning anew costs well under a millisecond.
        # Sorting tens of thousands of matches needs more than the default 4 MB of work memory,
        # else it spills to disk (measured: a third of a large search's time). Both settings
        # last for this transaction only, and are made in one round trip.
        await session.execute(
            text(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('work_mem', '32MB', true)"
            )
        )

    score: ColumnElement[Any] | None = None
    counts: dict[str, dict[str, int]] = {}
    total: int | None = None
    statement: Select[Any] = select(OfferingSearch.offering_id)
    if sort == "relevance":
        score = _title_hits(terms)
        statement = statement.add_columns(score)
    if sort != "soonest":  # soonest pages come from _soonest
        statement = statement.order_by(*_order_by(sort, OfferingSearch, score))
    rows: Sequence[Any]
    if sort == "soonest":
        rows = [(i,) for i in await _soonest(session, conditions, filters.now, offset, limit + 1)]
    elif terms and facets:
        rows, counts, total = await _text_page_and_facets(session, conditions, sort, terms, offset, limit + 1)
    else:
        rows = (await session.execute(statement.where(*conditions).offset(offset).limit(limit + 1))).all()
    ids = [row[0] for row in rows[:limit]]
    relevance = {row[0]: float(row[1]) for row in rows[:limit]} if score is not None else {}

    if total is None and facets:
        counts, total = await facet_counts(session, conditions)
    elif total is None:
        total = int(await session.scalar(select(func.count()).select_from(OfferingSearch).where(*conditions)) or 0)
    next_cursor = encode_cursor(offset + limit, digest) if len(rows) > limit else None
    return Page(ids=ids, total=total, facets=counts, next_cursor=next_cursor, relevance=relevance)


def _order_by(sort: str, row: Any, score: ColumnElement[Any] | None) -> tuple[ColumnElement[Any], ...]:
    """The ORDER BY of every sort but soonest, over ``row``'s columns: the search row's own, or
    a sub-select's that carries them. Every order ends with the offering id, so pages are stable."""
    if sort == "relevance" and score is not None:
        return (score.desc(), row.created_at.desc(), row.offering_id.desc())
    if sort == "shortest":
        return (row.duration_minutes, row.offering_id)
    return (row.created_at.desc(), row.offering_id.desc())


async def _text_page_and_facets(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    sort: str,
    terms: list[str],
    offset: int,
    count: int,
) -> tuple[list[tuple[str, int]], dict[str, dict[str, int]], int]:
    """A text search's page (id, title hits) and its facet counts from one read of the matches.

    Sorting a text search's matches needs every one of them (no index holds them in order), and
    so does counting their facets: reading the matches once into a materialized CTE, then
    grouping it and taking the page from it, spares the second full-text look-up and row walk
    (a common word: tens of thousands of rows). The page rows come back with their sort keys
    and are put in order here: a UNION does not promise to keep a sub-select's order.
    """
    title_hits = _title_hits(terms) if sort == "relevance" else literal_column("0")
    matched = (
        select(
            OfferingSearch.offering_id,
            OfferingSearch.facet_key,
            OfferingSearch.created_at,
            OfferingSearch.duration_minutes,
            title_hits.label("score"),
        )
        .where(*conditions)
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    m = matched.c
    page = (
        select(m.offering_id, m.score, m.created_at, m.duration_minutes)
        .order_by(*_order_by(sort, m, m.score))
        .offset(offset)
        .limit(count)
        .subquery("page")
    )
    nothing = cast(null(), Integer)
    statement = union_all(
        select(page.c.offering_id, page.c.score, page.c.created_at, page.c.duration_minutes, nothing, nothing),
        select(
            cast(null(), String),
            nothing,
            cast(null(), m.created_at.type),
            nothing,
            m.facet_key,
            func.count(),
        ).group_by(m.facet_key),
    )
    page_rows, groups = [], []
    for offering_id, score, created_at, minutes, key, n in await session.execute(statement):
        if offering_id is None:
            groups.append((int(key), int(n)))
        else:
            page_rows.append((offering_id, int(score), created_at, int(minutes)))
    if sort == "shortest":
        page_rows.sort(key=lambda r: (r[3], r[0]))
    elif sort == "relevance":
        page_rows.sort(key=lambda r: (r[1], r[2], r[0]), reverse=True)
    else:
        page_rows.sort(key=lambda r: (r[2], r[0]), reverse=True)
    counts, total = add_up(groups)
    return [(r[0], r[1]) for r in page_rows], counts, total


def _next_start(now: dt.datetime) -> ColumnElement[Any]:
    return (
        select(func.min(OfferingSession.starts_at))
        .where(
            OfferingSession.offering_id == OfferingSearch.offering_id,
            OfferingSession.status == "scheduled",
            OfferingSession.starts_at >= now,
        )
        .scalar_subquery()
    )


async def _soonest(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]], now: dt.datetime, offset: int, count: int
) -> list[str]:
    """Positions ``offset`` to ``offset + count`` of the matching offerings in soonest order: by
    their next upcoming scheduled session, then (self-paced ones, say) those without one, by id.

    Sorting every matching offering by its next session costs a look-up per offering, too much
    when most of a large catalog matches. So first the earliest upcoming sessions are read in
    start order (a short index range) and each matching offering kept where it first appears,
    which is at its next session: the offerings met there come first in the order, so when that
    window holds a whole page, the page is known. Otherwise (selective filters, offerings without
    sessions, late pages) the matching offerings are sorted by their next session after all.
    """
    wanted = offset + count
    first_sessions = (
        select(OfferingSession.offering_id, OfferingSession.starts_at)
        .where(OfferingSession.status == "scheduled", OfferingSession.starts_at >= now)
        .order_by(OfferingSession.starts_at, OfferingSession.offering_id)
        .limit(max(SOONEST_WINDOW, 4 * wanted))
        .subquery("first_sessions")
    )
    met = await session.scalars(
        select(first_sessions.c.offering_id)
        .join(OfferingSearch, OfferingSearch.offering_id == first_sessions.c.offering_id)
        .where(*conditions)
        .order_by(first_sessions.c.starts_at, first_sessions.c.offering_id)
    )
    ordered = list(dict.fromkeys(met))
    if len(ordered) >= wanted:
        return ordered[offset:wanted]
    # Offerings without an upcoming session (self-paced ones) come last.
    statement = (
        select(OfferingSearch.offering_id)
        .where(*conditions)
        .order_by(_next_start(now).asc().nulls_last(), OfferingSearch.offering_id)
    )
    return list(await session.scalars(statement.offset(offset).limit(count)))


async def facet_counts(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]]
) -> tuple[dict[str, dict[str, int]], int]:
    """How many matching offerings have each value of each facet, and how many match at all:
    the matching rows grouped by their one ``facet_key`` column (a few hundred groups at most),
    each group's count added to the values its key packs. Every offering is in exactly one
    group, so the groups also add up to the total."""
    grouped = await session.execute(
        select(OfferingSearch.facet_key, func.count()).where(*conditions).group_by(OfferingSearch.facet_key)
    )
    return add_up((int(key), int(n)) for key, n in grouped)
