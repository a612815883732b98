"""Catalog: competency frameworks imported from CASE (documents, items, associations).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:13:04.054515
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "frameworks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("identifier", sa.String(length=36), nullable=False),
        sa.Column("uri", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("creator", sa.String(length=500), nullable=False),
        sa.Column("last_change", sa.String(length=40), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("definitions", sa.JSON(), nullable=True),
        sa.Column("imported_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frameworks")),
        sa.UniqueConstraint("tenant_id", "identifier", name=op.f("uq_frameworks_tenant_id_identifier")),
        schema="catalog",
    )
    op.create_index(op.f("ix_frameworks_tenant_id"), "frameworks", ["tenant_id"], unique=False, schema="catalog")
    op.create_table(
        "framework_associations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("framework_id", sa.String(length=36), nullable=False),
        sa.Column("identifier", sa.String(length=36), nullable=False),
        sa.Column("association_type", sa.String(length=100), nullable=False),
        sa.Column("origin_identifier", sa.String(length=200), nullable=False),
        sa.Column("destination_identifier", sa.String(length=200), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["catalog.frameworks.id"],
            name=op.f("fk_framework_associations_framework_id_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_associations")),
        sa.UniqueConstraint(
            "framework_id", "identifier", name=op.f("uq_framework_associations_framework_id_identifier")
        ),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_framework_associations_destination_identifier"),
        "framework_associations",
        ["destination_identifier"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_framework_associations_framework_id"),
        "framework_associations",
        ["framework_id"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_framework_associations_origin_identifier"),
        "framework_associations",
        ["origin_identifier"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "framework_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("framework_id", sa.String(length=36), nullable=False),
        sa.Column("identifier", sa.String(length=36), nullable=False),
        sa.Column("uri", sa.String(length=1000), nullable=False),
        sa.Column("human_coding_scheme", sa.String(length=100), nullable=True),
        sa.Column("full_statement", sa.Text(), nullable=False),
        sa.Column("item_type", sa.String(length=100), nullable=True),
        sa.Column("last_change", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["catalog.frameworks.id"],
            name=op.f("fk_framework_items_framework_id_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_items")),
        sa.UniqueConstraint("framework_id", "identifier", name=op.f("uq_framework_items_framework_id_identifier")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_framework_items_framework_id"), "framework_items", ["framework_id"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_framework_items_identifier"), "framework_items", ["identifier"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_framework_items_parent_id"), "framework_items", ["parent_id"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_framework_items_tenant_id"), "framework_items", ["tenant_id"], unique=False, schema="catalog"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_framework_items_tenant_id"), table_name="framework_items", schema="catalog")
    op.drop_index(op.f("ix_framework_items_parent_id"), table_name="framework_items", schema="catalog")
    op.drop_index(op.f("ix_framework_items_identifier"), table_name="framework_items", schema="catalog")
    op.drop_index(op.f("ix_framework_items_framework_id"), table_name="framework_items", schema="catalog")
    op.drop_table("framework_items", schema="catalog")
    op.drop_index(
        op.f("ix_framework_associations_origin_identifier"), table_name="framework_associations", schema="catalog"
    )
    op.drop_index(op.f("ix_framework_associations_framework_id"), table_name="framework_associations", schema="catalog")
    op.drop_index(
        op.f("ix_framework_associations_destination_identifier"), table_name="framework_associations", schema="catalog"
    )
    op.drop_table("framework_associations", schema="catalog")
    op.drop_index(op.f("ix_frameworks_tenant_id"), table_name="frameworks", schema="catalog")
    op.drop_table("frameworks", schema="catalog")
