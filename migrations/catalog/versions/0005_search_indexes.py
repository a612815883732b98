"""Catalog: indexes for offering search at catalog scale (bench/catalog_search.py).

Every search counts facets over all matching offerings and sorts them, so the offering indexes
here cover the columns searches filter, count and sort on (tenant, status, the five facets,
duration, creation time, id): those passes read an index instead of the wide offering rows
(their descriptions and search words). Each leads with a different order: facet values (for
facet filters), id (for joins with alignments, audiences and sessions), newest and shortest
(pages read in order). The session indexes cover upcoming-session checks, both from the
session side (``soonest``'s walk through the earliest upcoming sessions, open seats) and per
offering (its next session). PostgreSQL also gets expression indexes for the provider filter
(case-insensitive name or number), listed in the metadata's ``unmanaged`` names.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACETS = ["offering_type", "modality", "pacing", "level", "provider_kind"]
OFFERING_INDEXES = {
    "ix_offerings_search_facets": ["tenant_id", "status", *FACETS, "duration_minutes", "created_at", "id"],
    "ix_offerings_search_by_id": ["tenant_id", "status", "id", *FACETS, "duration_minutes", "created_at"],
    "ix_offerings_search_newest": ["tenant_id", "status", "created_at", "id", *FACETS, "duration_minutes"],
    "ix_offerings_search_shortest": ["tenant_id", "status", "duration_minutes", "id", *FACETS, "created_at"],
}
SESSION_COLUMNS = ["capacity", "seats_taken", "registration_closes_at"]
SESSION_INDEXES = {
    "ix_sessions_upcoming": ["status", "starts_at", "offering_id", *SESSION_COLUMNS],
    "ix_sessions_offering_upcoming": ["offering_id", "status", "starts_at", *SESSION_COLUMNS],
}
# PostgreSQL only (metadata.info["unmanaged"]): the provider filter compares lower-cased values.
PROVIDER_INDEXES = {
    "ix_offerings_provider_name_lower": "provider_name",
    "ix_offerings_provider_number_lower": "provider_number",
}


def upgrade() -> None:
    for name, columns in OFFERING_INDEXES.items():
        op.create_index(name, "offerings", columns, unique=False, schema="catalog")
    for name, columns in SESSION_INDEXES.items():
        op.create_index(name, "sessions", columns, unique=False, schema="catalog")
    if op.get_bind().dialect.name != "sqlite":
        for name, column in PROVIDER_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON catalog.offerings (tenant_id, lower({column}))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for name in PROVIDER_INDEXES:
            op.execute(f"DROP INDEX catalog.{name}")
    for name in SESSION_INDEXES:
        op.drop_index(name, table_name="sessions", schema="catalog")
    for name in OFFERING_INDEXES:
        op.drop_index(name, table_name="offerings", schema="catalog")
