"""Per-tenant OpenID Connect identity providers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:51:29.534272
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
        "identity_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("audience", sa.String(length=500), nullable=False),
        sa.Column("jwks_uri", sa.String(length=1000), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("email_claim", sa.String(length=64), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["gateway.tenants.id"],
            name=op.f("fk_identity_providers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_identity_providers_tenant_id")),
        schema="gateway",
    )


def downgrade() -> None:

    op.drop_table("identity_providers", schema="gateway")
