"""Badges: bulk issuance jobs and their rows (services/badges/bulk/service.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_jobs")),
        sa.UniqueConstraint("tenant_id", "digest", name=op.f("uq_bulk_jobs_tenant_id_digest")),
        schema="badges",
    )
    op.create_table(
        "bulk_rows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("badge_id", sa.String(length=36), nullable=True),
        sa.Column("replayed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", shared.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", shared.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["badge_id"], ["badges.badges.id"], name=op.f("fk_bulk_rows_badge_id_badges")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["badges.bulk_jobs.id"], name=op.f("fk_bulk_rows_job_id_bulk_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_rows")),
        sa.UniqueConstraint("job_id", "row_number", name=op.f("uq_bulk_rows_job_id_row_number")),
        schema="badges",
    )
    op.create_index(
        "ix_bulk_rows_due",
        "bulk_rows",
        ["status", "created_at", "job_id", "row_number"],
        unique=False,
        schema="badges",
    )
    op.create_index(
        "ix_bulk_rows_job_status", "bulk_rows", ["job_id", "status", "row_number"], unique=False, schema="badges"
    )


def downgrade() -> None:
    op.drop_index("ix_bulk_rows_job_status", table_name="bulk_rows", schema="badges")
    op.drop_index("ix_bulk_rows_due", table_name="bulk_rows", schema="badges")
    op.drop_table("bulk_rows", schema="badges")
    op.drop_table("bulk_jobs", schema="badges")
