"""Alembic environment of the gateway service (its schema, its own version table)."""

from services.gateway.models import SCHEMA, Base
from shared.migrations import run_migrations

run_migrations(metadata=Base.metadata, schema=SCHEMA)
