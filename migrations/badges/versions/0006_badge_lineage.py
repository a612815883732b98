"""Badges: lineage of reissued badges — renewals and corrections (services/badges/issuing/reissue.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); batch mode's copy table must not
    # be schema-qualified there.
    return None if op.get_bind().dialect.name == "sqlite" else "badges"


def upgrade() -> None:
    with op.batch_alter_table("badges", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("replaces_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("replaced_by_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("reissue_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reissue_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("predecessor_outcome", sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_badges_replaces_id"), ["replaces_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_badges_replaces_id_badges"),
            "badges",
            ["replaces_id"],
            ["id"],
            referent_schema=_schema(),
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("badges", schema=_schema()) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_badges_replaces_id_badges"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_badges_replaces_id"), type_="unique")
        batch_op.drop_column("predecessor_outcome")
        batch_op.drop_column("reissue_reason")
        batch_op.drop_column("reissue_kind")
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("replaces_id")
