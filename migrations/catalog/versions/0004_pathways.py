"""Catalog: pathways (named structures of offerings and other pathways leading to a credential).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pathways",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("credential_design_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("structure", sa.JSON(), nullable=False),
        sa.Column("offering_ids", sa.JSON(), nullable=False),
        sa.Column("pathway_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathways")),
        schema="catalog",
    )
    op.create_index(op.f("ix_pathways_tenant_id"), "pathways", ["tenant_id"], unique=False, schema="catalog")


def downgrade() -> None:
    op.drop_index(op.f("ix_pathways_tenant_id"), table_name="pathways", schema="catalog")
    op.drop_table("pathways", schema="catalog")
