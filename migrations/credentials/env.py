"""Alembic environment of the credentials service (its schema, its own version table)."""

from services.credentials.models import SCHEMA, Base
from shared.migrations import run_migrations

run_migrations(metadata=Base.metadata, schema=SCHEMA)
