"""Badges: the earner, a display name, and what the public badge page may show (ADR 0014).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # SQLite has no schemas (each service has its own file); batch mode's copy table must not
    # be schema-qualified there.
    return None if op.get_bind().dialect.name == "sqlite" else "badges"


def upgrade() -> None:
    # Badges issued before this revision show nothing personal until their earner chooses to
    # (the defaults below); their earner is unknown, so only issuers can change that for them.
    with op.batch_alter_table("badges", schema=_schema()) as batch_op:
        batch_op.add_column(sa.Column("earner_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("recipient_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("show_name", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("show_results", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("show_evidence", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("badges", schema=_schema()) as batch_op:
        batch_op.drop_column("show_evidence")
        batch_op.drop_column("show_results")
        batch_op.drop_column("show_name")
        batch_op.drop_column("recipient_name")
        batch_op.drop_column("earner_id")
