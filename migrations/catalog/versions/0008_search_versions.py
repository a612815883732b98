"""Catalog: search versions, so that an in-memory search index can follow the database (ADR 0016).

``search_versions`` holds one counter per tenant, raised once by every transaction that changes
what a search of that tenant could answer; ``offering_search.search_version`` records, per
offering, the version of the last such change (to the offering, its audience, alignments or
sessions). A search index snapshot at version V reads only the offerings stamped after V.

Existing rows start at 0 and no tenant has a counter yet: an index that finds no counter reads
the tenant whole, as it does the first time anyway.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # Batch mode's copy table must not be schema-qualified on SQLite (one file per service).
    return "catalog" if op.get_bind().dialect.name != "sqlite" else None


def upgrade() -> None:
    op.create_table(
        "search_versions",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_search_versions")),
        schema="catalog",
    )
    with op.batch_alter_table("offering_search", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("search_version", sa.BigInteger(), server_default="0", nullable=False))
    op.create_index(
        "ix_offering_search_changes", "offering_search", ["tenant_id", "search_version"], unique=False, schema="catalog"
    )


def downgrade() -> None:
    op.drop_index("ix_offering_search_changes", table_name="offering_search", schema="catalog")
    with op.batch_alter_table("offering_search", schema=_schema()) as batch_op:
        batch_op.drop_column("search_version")
    op.drop_table("search_versions", schema="catalog")
