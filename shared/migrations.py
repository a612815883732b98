"""Alembic glue: one environment per service, one ``alembic.ini`` with a section each.

``migrations/<service>/env.py`` calls ``run_migrations``; tools and tests call ``upgrade`` /
``downgrade`` / ``head_revisions``. On PostgreSQL the service's schema (and its
``alembic_version`` table) is created inside the service's own schema; on SQLite the schema
name is translated away because each service has its own file.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import READ_ONLY, create_engine, is_sqlite
from shared.settings import REPO_ROOT

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


def alembic_config(service: str, database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI), ini_section=service)
    config.set_main_option("script_location", str(REPO_ROOT / "migrations" / service))
    config.attributes["database_url"] = database_url
    return config


@cache
def head_revisions(service: str) -> frozenset[str]:
    """The revisions the code expects, read from the migration scripts on disk."""
    config = Config(str(ALEMBIC_INI), ini_section=service)
    config.set_main_option("script_location", str(REPO_ROOT / "migrations" / service))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when an event loop is running (env.py runs its own loop)."""
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, database_url), revision)


def check(service: str, database_url: str) -> None:
    """``alembic check``: raises when the models and the migrations disagree."""
    command.check(alembic_config(service, database_url))


def _version_table(schema: str) -> Table:
    return Table("alembic_version", MetaData(schema=schema), Column("version_num", String(32)))


async def current_revisions(engine: AsyncEngine, schema: str) -> frozenset[str] | None:
    """Revisions recorded in the database; ``None`` when the service was never migrated."""
    try:
        async with engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            rows = await conn.execute(select(_version_table(schema).c.version_num))
            return frozenset(row[0] for row in rows)
    except (OperationalError, ProgrammingError) as exc:
        message = str(exc.orig if isinstance(exc, DBAPIError) else exc).lower()
        if "alembic_version" in message or "no such table" in message or "does not exist" in message:
            return None
        raise


# --- used by migrations/<service>/env.py ------------------------------------------------------


def run_migrations(*, metadata: MetaData, schema: str) -> None:
    """Entry point of every service's env.py (online mode only: migrations need a database)."""
    config = context.config
    url = config.attributes.get("database_url") or _url_from_settings(config)
    asyncio.run(_run_async(url, metadata, schema))


def _url_from_settings(config: Config) -> str:
    # Running `alembic -n catalog upgrade head` by hand reads the same env as the service.
    from importlib import import_module

    service = config.config_ini_section
    settings_module = import_module(f"services.{service}.settings")
    settings_cls = getattr(settings_module, f"{service.capitalize()}Settings")
    return str(settings_cls().database_url)


async def _run_async(url: str, metadata: MetaData, schema: str) -> None:
    engine = create_engine(url, schema=schema, foreign_keys=False)
    try:
        async with engine.connect() as conn:
            if not is_sqlite(url):
                # Create only when missing: in production the schema is made (and owned) by the
                # DBA, and the service's role need not be allowed to create schemas.
                exists = await conn.scalar(
                    text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"), {"name": schema}
                )
                if not exists:
                    await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                await conn.commit()
            await conn.run_sync(_run_sync, metadata, schema, is_sqlite(url))
            await conn.commit()
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, metadata: MetaData, schema: str, sqlite: bool) -> None:
    # Objects a migration made by hand that the ORM cannot describe (e.g. a full-text index);
    # a service names them in ``metadata.info["unmanaged"]`` so autogenerate leaves them alone.
    unmanaged = frozenset(metadata.info.get("unmanaged", ()))

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return name not in unmanaged

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=None if sqlite else schema,
        include_schemas=not sqlite,
        include_name=include_name,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
