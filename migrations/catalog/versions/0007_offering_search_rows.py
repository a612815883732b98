"""Catalog: what search reads moves to a narrow ``offering_search`` row per offering (ADR 0012).

A search for a common word matches tens of thousands of offerings in a large district, and
counting their facets and sorting them read that many wide ``offerings`` rows (descriptions,
JSON, the search words): 22,000 pages for one search in bench/catalog_search.py. The new table
holds only what searches filter, count and sort on, with the five facet values packed into one
integer ``facet_key`` (services/catalog/search.py: ``facet_key``; the codes below are that
function's at this revision), and the search words, which PostgreSQL keeps out of line
(``toast_tuple_target``) so the rows a search walks stay small. The full-text index moves with
the words: PostgreSQL's generated vector and GIN index now belong to ``offering_search``;
SQLite's FTS5 rows are unchanged (same ``search_rowid`` keys).

The covering indexes of 0005 on ``offerings`` served only searches and go.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of services/catalog/search.py's FACET_VALUES at this revision.
FACET_VALUES = {
    "offering_type": [
        "workshop",
        "academy",
        "online_course",
        "micro_credential",
        "degree_program",
        "coaching_cycle",
        "plc",
        "conference",
        "self_directed",
    ],
    "modality": ["in_person", "online_synchronous", "online_asynchronous", "blended"],
    "pacing": ["self_paced", "cohort"],
    "level": ["introductory", "intermediate", "advanced"],
    "provider_kind": ["district", "external"],
}
FACET_BITS = 6
VECTOR = "array_to_tsvector(array_remove(string_to_array(search_title || ' ' || search_body, ' '), ''))"
FACETS = ["offering_type", "modality", "pacing", "level", "provider_kind"]
OLD_OFFERING_INDEXES = {
    "ix_offerings_search_facets": ["tenant_id", "status", *FACETS, "duration_minutes", "created_at", "id"],
    "ix_offerings_search_by_id": ["tenant_id", "status", "id", *FACETS, "duration_minutes", "created_at"],
    "ix_offerings_search_newest": ["tenant_id", "status", "created_at", "id", *FACETS, "duration_minutes"],
    "ix_offerings_search_shortest": ["tenant_id", "status", "duration_minutes", "id", *FACETS, "created_at"],
}
SEARCH_INDEXES = {
    "ix_offering_search_facets": ["tenant_id", "status", "facet_key", "duration_minutes", "created_at"],
    "ix_offering_search_newest": ["tenant_id", "status", "created_at", "offering_id", "facet_key"],
    "ix_offering_search_shortest": ["tenant_id", "status", "duration_minutes", "offering_id", "facet_key"],
    # Duration before facet key: see the model (a SQLite 3.40 wrong-result case).
    "ix_offering_search_by_id": ["tenant_id", "status", "offering_id", "duration_minutes", "facet_key"],
}


def _postgres() -> bool:
    return op.get_bind().dialect.name != "sqlite"


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); batch mode's copy table must not
    # be schema-qualified there.
    return "catalog" if _postgres() else None


def _facet_key_sql() -> str:
    terms = []
    for position, (name, values) in enumerate(FACET_VALUES.items()):
        whens = " ".join(f"WHEN '{value}' THEN {code}" for code, value in enumerate(values, start=1))
        shift = 1 << (FACET_BITS * (len(FACET_VALUES) - 1 - position))
        terms.append(f"(CASE {name} {whens} ELSE 0 END) * {shift}")
    return " + ".join(terms)


def upgrade() -> None:
    op.create_table(
        "offering_search",
        sa.Column("offering_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("facet_key", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("search_rowid", sa.BigInteger(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["catalog.offerings.id"],
            name=op.f("fk_offering_search_offering_id_offerings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offering_id", name=op.f("pk_offering_search")),
        sa.UniqueConstraint("search_rowid", name=op.f("uq_offering_search_search_rowid")),
        schema="catalog",
    )
    for name, columns in SEARCH_INDEXES.items():
        op.create_index(name, "offering_search", columns, unique=False, schema="catalog")
    table = "catalog.offering_search" if _postgres() else "offering_search"
    source = "catalog.offerings" if _postgres() else "offerings"
    if _postgres():
        # Rows over 128 bytes move their largest values out of line: the search words (read only
        # through the GIN index) go, what every search reads (ids, status, title words) stays.
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 128)")
        for column in ("offering_id", "tenant_id", "status", "search_title"):
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE PLAIN")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN search_body SET STORAGE EXTERNAL")
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED")
        op.execute(f"CREATE INDEX ix_offering_search_vector ON {table} USING gin (search_vector)")
    # Built from this file's constants only, no outside input.
    op.execute(
        f"INSERT INTO {table} (offering_id, tenant_id, status, facet_key, duration_minutes, created_at,"  # noqa: S608
        " search_rowid, search_title, search_body)"
        f" SELECT id, tenant_id, status, {_facet_key_sql()}, duration_minutes, created_at,"
        f" search_rowid, search_title, search_body FROM {source}"
    )
    if _postgres():
        op.execute("DROP INDEX catalog.ix_offerings_search_vector")
        op.execute("ALTER TABLE catalog.offerings DROP COLUMN search_vector")
    for name in OLD_OFFERING_INDEXES:
        op.drop_index(name, table_name="offerings", schema="catalog")
    with op.batch_alter_table("offerings", schema=_schema()) as batch_op:
        batch_op.drop_constraint("uq_offerings_search_rowid", type_="unique")
        batch_op.drop_column("search_rowid")
        batch_op.drop_column("search_body")
        batch_op.drop_column("search_title")


def downgrade() -> None:
    with op.batch_alter_table("offerings", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("search_title", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("search_body", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("search_rowid", sa.BigInteger(), nullable=True))
    offerings = "catalog.offerings" if _postgres() else "offerings"
    search = "catalog.offering_search" if _postgres() else "offering_search"
    # This file's constants only.
    op.execute(
        f"UPDATE {offerings} SET search_title = s.search_title, search_body = s.search_body,"  # noqa: S608
        f" search_rowid = s.search_rowid FROM {search} AS s WHERE s.offering_id = {offerings}.id"
    )
    with op.batch_alter_table("offerings", schema=_schema()) as batch_op:
        batch_op.alter_column("search_rowid", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint("uq_offerings_search_rowid", ["search_rowid"])
    for name, columns in OLD_OFFERING_INDEXES.items():
        op.create_index(name, "offerings", columns, unique=False, schema="catalog")
    if _postgres():
        op.execute(
            f"ALTER TABLE catalog.offerings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_offerings_search_vector ON catalog.offerings USING gin (search_vector)")
        op.execute("DROP INDEX catalog.ix_offering_search_vector")
    for name in SEARCH_INDEXES:
        op.drop_index(name, table_name="offering_search", schema="catalog")
    op.drop_table("offering_search", schema="catalog")
