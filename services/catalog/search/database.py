"""Offering search: one interface over PostgreSQL full text (tsvector + GIN) and SQLite FTS5.

Both backends must answer the same query with the same offerings, so neither tokenizes or stems
on its own: Python turns text into normalized words once (``words``), the index stores those
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

import base64
import datetime as dt
import hashlib
import itertools
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    event,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.catalog.models import (
    Offering,
    OfferingAlignment,
    OfferingAudience,
    OfferingSearch,
    OfferingSession,
    SearchVersion,
)
from services.catalog.schemas import Level, Modality, OfferingType, Pacing, ProviderKind
from shared.problems import BadRequest

if TYPE_CHECKING:
    from services.catalog.search_index import SearchIndex

# Words too common to help a search; dropped from documents and queries alike.
STOP_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "into", "is", "it", "its", "of"}
    | {"on", "or", "that", "the", "their", "this", "to", "was", "were", "will", "with"}
)
_WORD = re.compile(r"[0-9a-z]+")
# A light English suffix rule set (not a full stemmer): plural and verb endings, so that
# "assessments" finds "assessment" and "coaching" finds "coach". Applied identically to
# documents and queries, which is what keeps both backends' answers the same.
_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))

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
MAX_QUERY_WORDS = 12
MAX_WORD_LENGTH = 60
# Deeper than this, a cursor is not one this API gave out (pages are at most 100 offerings).
MAX_OFFSET = 1_000_000
# How many of the earliest upcoming sessions the soonest sort reads before sorting (``_soonest``).
SOONEST_WINDOW = 500


def _stem(word: str) -> str:
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


def words(value: str | None) -> list[str]:
    """Lower-case, accents removed, split on anything not a letter or digit, stop words out."""
    if not value:
        return []
    return [_stem(w) for w in _raw_words(value)]


def _raw_words(value: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", value.casefold())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    # Longer runs are not words (PostgreSQL would drop them from its index, FTS5 would not).
    return [w for w in _WORD.findall(ascii_only) if w not in STOP_WORDS and len(w) <= MAX_WORD_LENGTH]


def search_rowid(offering_id: str) -> int:
    """The offering's integer key in SQLite's FTS5 table (FTS5 rows are keyed by integers):
    60 bits of the UUID, unique in practice and enforced by a unique constraint."""
    return int(uuid.UUID(offering_id).hex[:15], 16)


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


def document(offering: Offering, tags: Iterable[str], competency_statements: Iterable[str]) -> tuple[str, str]:
    """The normalized title words and body words (summary, description, tags, competencies).

    Each word is indexed as its stem and, when that differs, also as written, so that a word
    typed half-way ("teachi") still finds it as a prefix.
    """
    title = " ".join(_indexed(offering.title))
    body_parts = [offering.summary, offering.description, " ".join(tags), *competency_statements]
    body = " ".join(w for part in body_parts for w in _indexed(part))
    return title, body


def _indexed(value: str | None) -> list[str]:
    found = []
    for raw in _raw_words(value or ""):
        stem = _stem(raw)
        found.extend([stem] if stem == raw else [stem, raw])
    return found


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


# --- search versions ----------------------------------------------------------------------------

_TOUCHED = "catalog.search_touched"


def touch(session: AsyncSession, tenant_id: str, offering_id: str) -> None:
    """Note that this transaction changed what a search may answer about the offering (the
    offering, its search row, audience, alignments or sessions). At commit, the tenant's search
    version is raised once and the offering stamped with it (``_raise_search_versions``), so an
    in-memory search index (services/catalog/search_index.py) knows to read it again."""
    touched: set[tuple[str, str]] = session.info.setdefault(_TOUCHED, set())
    touched.add((tenant_id, offering_id))


@event.listens_for(Session, "before_commit")
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


@event.listens_for(Session, "after_rollback")
def _forget_touched(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


# --- queries ----------------------------------------------------------------------------------


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


def _query_words(value: str | None) -> list[str]:
    """The query's words; the last, a prefix as typed, is matched stemmed *or* as typed
    ("teachi" must find "teaching", whose stem is "teach"): ``"teach|teachi"``."""
    found = words(value)
    if len(found) > MAX_QUERY_WORDS:
        raise BadRequest(f"a search may have at most {MAX_QUERY_WORDS} words", pointer="/query/q")
    raw = _raw_words(value or "")
    if found and raw and raw[-1] != found[-1]:
        found[-1] = f"{found[-1]}|{raw[-1]}"
    return found


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


def provider_value(provider: str) -> str:
    """A provider filter as the audience rows hold providers: case-folded in Python on both
    sides (SQLite's lower() knows only ASCII), at most 100 characters."""
    return provider.strip().casefold()[:100]


def _digest(filters: Filters, sort: str) -> str:
    # A cursor is only valid for the search that produced it.
    material = json.dumps([repr(filters.__dict__ | {"now": None}), sort], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _encode_cursor(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, digest]).encode()).decode()


def _decode_cursor(cursor: str | None, digest: str) -> int:
    if not cursor:
        return 0
    try:
        offset, given = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor") from exc
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET or given != digest:
        raise BadRequest("the cursor belongs to another search (filters or sort changed)", pointer="/query/cursor")
    return offset


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
    from the in-memory ``index`` when given (services/catalog/search_index.py), else from the
    database's full-text index. Both answer alike; the tests hold them to it."""
    dialect = session.get_bind().dialect.name
    terms = _query_words(filters.text)
    if filters.text and filters.text.strip() and not terms:
        # Only stop words, or nothing this index keeps: nothing can match (not: everything does).
        return Page(ids=[], total=0, facets={name: {} for name in FACETS}, next_cursor=None, relevance={})
    if sort == "relevance" and not terms:
        sort = "newest"  # nothing to be relevant to
    digest = _digest(filters, sort)
    offset = _decode_cursor(cursor, digest)
    if index is not None:
        return await _from_index(session, index, filters, terms, sort, offset, limit, digest, facets)
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
    next_cursor = _encode_cursor(offset + limit, digest) if len(rows) > limit else None
    return Page(ids=ids, total=total, facets=counts, next_cursor=next_cursor, relevance=relevance)


async def _from_index(
    session: AsyncSession,
    index: SearchIndex,
    filters: Filters,
    terms: list[str],
    sort: str,
    offset: int,
    limit: int,
    digest: str,
    facets: bool,
) -> Page:
    snapshot = await index.current(session, filters.tenant_id)
    matched = snapshot.matching(filters, terms)
    found = snapshot.page(matched, sort, terms, filters.now, offset, limit + 1)
    counts, total = _add_up(snapshot.facets(matched)) if facets else ({}, matched.bit_count())
    return Page(
        ids=[offering_id for offering_id, _ in found[:limit]],
        total=total,
        facets=counts,
        next_cursor=_encode_cursor(offset + limit, digest) if len(found) > limit else None,
        relevance={i: float(score) for i, score in found[:limit]} if sort == "relevance" else {},
    )


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
    counts, total = _add_up(groups)
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
    return _add_up((int(key), int(n)) for key, n in grouped)


def _add_up(groups: Iterable[tuple[int, int]]) -> tuple[dict[str, dict[str, int]], int]:
    """Facet counts and the total from (facet key, count) groups."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    total = 0
    for key, count in groups:
        total += count
        for name, value in facet_values(key).items():
            if value is not None:
                counts[name][value] += count
    return {name: dict(sorted(counter.items())) for name, counter in counts.items()}, total
