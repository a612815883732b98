"""Credentials: what a pursuit copies from the catalog offering it started from (title,
provider and provider number), so awards and the HR export carry them without asking the catalog.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    # ALTER TABLE on SQLite must not be schema-qualified (each service has its own file).
    return None if op.get_bind().dialect.name == "sqlite" else "credentials"


def upgrade() -> None:
    op.add_column("pursuits", sa.Column("offering_title", sa.String(length=300), nullable=True), schema=_schema())
    op.add_column("pursuits", sa.Column("provider_name", sa.String(length=300), nullable=True), schema=_schema())
    op.add_column("pursuits", sa.Column("provider_number", sa.String(length=100), nullable=True), schema=_schema())


def downgrade() -> None:
    op.drop_column("pursuits", "provider_number", schema=_schema())
    op.drop_column("pursuits", "provider_name", schema=_schema())
    op.drop_column("pursuits", "offering_title", schema=_schema())
