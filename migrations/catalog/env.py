"""Alembic environment of the catalog service (its schema, its own version table)."""

from services.catalog.models import SCHEMA, Base
from shared.migrations import run_migrations

run_migrations(metadata=Base.metadata, schema=SCHEMA)
