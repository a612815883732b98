"""Alembic environment of the badges service (its schema, its own version table)."""

from services.badges.models import SCHEMA, Base
from shared.migrations import run_migrations

run_migrations(metadata=Base.metadata, schema=SCHEMA)
