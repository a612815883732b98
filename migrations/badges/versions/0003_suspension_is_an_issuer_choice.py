"""Badges: suspension is an issuer's choice; a badge without a suspension entry has no slot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); batch mode's copy table must not
    # be schema-qualified there.
    return None if op.get_bind().dialect.name == "sqlite" else "badges"


def upgrade() -> None:
    # Issuers that existed before kept publishing both entries: they stay suspendable.
    with op.batch_alter_table("issuers", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("suspendable", sa.Boolean(), server_default=sa.false(), nullable=False))
    issuers = sa.table("issuers", sa.column("suspendable", sa.Boolean()), schema=_schema())
    op.execute(issuers.update().values(suspendable=True))
    with op.batch_alter_table("badges", schema=_schema()) as batch_op:
        batch_op.alter_column("suspension_list_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.alter_column("suspension_index", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Badges issued after 0003 may have no suspension slot, and signed credentials are never
    # deleted nor re-signed to fit a downgrade: the slot columns stay nullable (the older code
    # then cannot suspend those badges, which their credentials could not express anyway).
    with op.batch_alter_table("issuers", schema=_schema()) as batch_op:
        batch_op.drop_column("suspendable")
