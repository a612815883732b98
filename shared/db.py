"""Async database access: one engine per service, SQLite (embedded) or PostgreSQL (production).

Each service declares its tables in its own PostgreSQL schema (``catalog``, ``credentials``…).
On SQLite every service has its own file instead, so the schema name is translated away with
``schema_translate_map``; models and queries are written once for both backends.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import CursorResult, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from shared.problems import NulInText

# Stable constraint names make Alembic migrations reproducible on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """The MetaData for one service's tables: its own schema, stable constraint names."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is timezone-aware UTC in Python on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so values are normalised to UTC
    before they are written and marked UTC when read back. Naive datetimes are refused: they are
    the bug this type exists to prevent.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use an aware datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# Execution option: "DEFERRED" for a connection that only reads (readiness probes, tests'
# outer transactions) so it does not queue behind or block writers.
SQLITE_BEGIN = "sqlite_begin"
READ_ONLY = {SQLITE_BEGIN: "DEFERRED"}


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that SAVEPOINT works inside.

    The sqlite3 module opens transactions on its own and breaks SAVEPOINT; SQLAlchemy's
    documented remedy is to switch that off and emit BEGIN ourselves. We emit BEGIN IMMEDIATE:
    a deferred transaction that reads and then writes must upgrade its lock, and SQLite answers
    "database is locked" at once instead of waiting, which would surface as a 500 under load.
    Taking the write lock up front makes writers queue on the busy timeout instead; readers in
    WAL mode still see consistent snapshots. See docs/decisions/0002-database-per-service.md.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, many: bool) -> None:
        # PostgreSQL refuses NUL in text; refuse it here too so both backends behave alike.
        # ``many`` comes with a list of rows — or, for a multi-row INSERT … VALUES (the ORM's
        # "insertmanyvalues" batches), with one flat row of every value.
        many_rows = many and bool(parameters) and isinstance(parameters[0], (tuple, list, dict))
        rows = parameters if many_rows else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row or ()
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise NulInText("text contains a NUL (0x00) character")

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(
    url: str, *, schema: str, pool_size: int = 5, echo: bool = False, foreign_keys: bool = True
) -> AsyncEngine:
    """Build the service's async engine; on SQLite the service schema maps to the file itself.

    Migrations pass ``foreign_keys=False``: Alembic's batch mode rebuilds SQLite tables with
    DROP TABLE, which with foreign keys on would fail or cascade into child rows, and the pragma
    cannot be changed once a transaction is open.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo)
        _configure_sqlite(engine, foreign_keys=foreign_keys)
        return engine.execution_options(schema_translate_map={schema: None})
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": f"practicum-{schema}"}},
    )


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


def changed_rows(result: Any) -> bool:
    """Whether a conditional UPDATE/DELETE changed a row: how a request learns it won a race
    decided inside the database (``... WHERE state = 'expected'``)."""
    return isinstance(result, CursorResult) and bool(result.rowcount)
