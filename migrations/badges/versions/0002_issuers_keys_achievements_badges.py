"""Badges: issuers and their keys, achievements and versions, badges, status lists, idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:38:13.282216
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
        "issuers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuers")),
        schema="badges",
    )
    op.create_index(op.f("ix_issuers_tenant_id"), "issuers", ["tenant_id"], unique=False, schema="badges")
    op.create_table(
        "achievements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["badges.issuers.id"], name=op.f("fk_achievements_issuer_id_issuers"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
        schema="badges",
    )
    op.create_index(op.f("ix_achievements_issuer_id"), "achievements", ["issuer_id"], unique=False, schema="badges")
    op.create_index(op.f("ix_achievements_tenant_id"), "achievements", ["tenant_id"], unique=False, schema="badges")
    op.create_table(
        "issuer_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["badges.issuers.id"], name=op.f("fk_issuer_keys_issuer_id_issuers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_keys")),
        schema="badges",
    )
    op.create_index(op.f("ix_issuer_keys_issuer_id"), "issuer_keys", ["issuer_id"], unique=False, schema="badges")
    op.create_index(op.f("ix_issuer_keys_tenant_id"), "issuer_keys", ["tenant_id"], unique=False, schema="badges")
    op.create_table(
        "status_lists",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("signed_digest", sa.String(length=64), nullable=True),
        sa.Column("signed_credential", sa.JSON(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["badges.issuers.id"], name=op.f("fk_status_lists_issuer_id_issuers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
        schema="badges",
    )
    op.create_index(op.f("ix_status_lists_issuer_id"), "status_lists", ["issuer_id"], unique=False, schema="badges")
    op.create_index(op.f("ix_status_lists_tenant_id"), "status_lists", ["tenant_id"], unique=False, schema="badges")
    op.create_table(
        "achievement_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("achievement_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("image_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["badges.achievements.id"],
            name=op.f("fk_achievement_versions_achievement_id_achievements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievement_versions")),
        sa.UniqueConstraint("achievement_id", "version", name=op.f("uq_achievement_versions_achievement_id_version")),
        schema="badges",
    )
    op.create_index(
        op.f("ix_achievement_versions_achievement_id"),
        "achievement_versions",
        ["achievement_id"],
        unique=False,
        schema="badges",
    )
    op.create_table(
        "badges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("achievement_id", sa.String(length=36), nullable=False),
        sa.Column("achievement_version", sa.Integer(), nullable=False),
        sa.Column("recipient_lookup", sa.String(length=64), nullable=True),
        sa.Column("recipient_id", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("status_changed_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("issued_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("valid_from", shared.db.UTCDateTime(), nullable=False),
        sa.Column("valid_until", shared.db.UTCDateTime(), nullable=True),
        sa.Column("revocation_list_id", sa.String(length=36), nullable=False),
        sa.Column("revocation_index", sa.Integer(), nullable=False),
        sa.Column("suspension_list_id", sa.String(length=36), nullable=False),
        sa.Column("suspension_index", sa.Integer(), nullable=False),
        sa.Column("credential", sa.JSON(), nullable=False),
        sa.Column("credential_jwt", sa.Text(), nullable=False),
        sa.Column("ob2_assertion", sa.JSON(), nullable=True),
        sa.Column("ob2_jws", sa.Text(), nullable=True),
        sa.Column("ob2_signed_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["badges.achievements.id"],
            name=op.f("fk_badges_achievement_id_achievements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["badges.issuers.id"], name=op.f("fk_badges_issuer_id_issuers"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["revocation_list_id"], ["badges.status_lists.id"], name=op.f("fk_badges_revocation_list_id_status_lists")
        ),
        sa.ForeignKeyConstraint(
            ["suspension_list_id"], ["badges.status_lists.id"], name=op.f("fk_badges_suspension_list_id_status_lists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        sa.UniqueConstraint("ob2_signed_id", name=op.f("uq_badges_ob2_signed_id")),
        sa.UniqueConstraint(
            "revocation_list_id", "revocation_index", name=op.f("uq_badges_revocation_list_id_revocation_index")
        ),
        sa.UniqueConstraint(
            "suspension_list_id", "suspension_index", name=op.f("uq_badges_suspension_list_id_suspension_index")
        ),
        schema="badges",
    )
    op.create_index(op.f("ix_badges_achievement_id"), "badges", ["achievement_id"], unique=False, schema="badges")
    op.create_index(op.f("ix_badges_issuer_id"), "badges", ["issuer_id"], unique=False, schema="badges")
    op.create_index(op.f("ix_badges_recipient_lookup"), "badges", ["recipient_lookup"], unique=False, schema="badges")
    op.create_index(
        op.f("ix_badges_revocation_list_id"), "badges", ["revocation_list_id"], unique=False, schema="badges"
    )
    op.create_index(op.f("ix_badges_status"), "badges", ["status"], unique=False, schema="badges")
    op.create_index(
        op.f("ix_badges_suspension_list_id"), "badges", ["suspension_list_id"], unique=False, schema="badges"
    )
    op.create_index(op.f("ix_badges_tenant_id"), "badges", ["tenant_id"], unique=False, schema="badges")
    op.create_index(
        "ix_badges_tenant_issued", "badges", ["tenant_id", "issued_at", "id"], unique=False, schema="badges"
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("badge_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["badge_id"], ["badges.badges.id"], name=op.f("fk_idempotency_keys_badge_id_badges"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_idempotency_keys_tenant_id_key")),
        schema="badges",
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys", schema="badges")
    op.drop_index("ix_badges_tenant_issued", table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_tenant_id"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_suspension_list_id"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_status"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_revocation_list_id"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_recipient_lookup"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_issuer_id"), table_name="badges", schema="badges")
    op.drop_index(op.f("ix_badges_achievement_id"), table_name="badges", schema="badges")
    op.drop_table("badges", schema="badges")
    op.drop_index(op.f("ix_achievement_versions_achievement_id"), table_name="achievement_versions", schema="badges")
    op.drop_table("achievement_versions", schema="badges")
    op.drop_index(op.f("ix_status_lists_tenant_id"), table_name="status_lists", schema="badges")
    op.drop_index(op.f("ix_status_lists_issuer_id"), table_name="status_lists", schema="badges")
    op.drop_table("status_lists", schema="badges")
    op.drop_index(op.f("ix_issuer_keys_tenant_id"), table_name="issuer_keys", schema="badges")
    op.drop_index(op.f("ix_issuer_keys_issuer_id"), table_name="issuer_keys", schema="badges")
    op.drop_table("issuer_keys", schema="badges")
    op.drop_index(op.f("ix_achievements_tenant_id"), table_name="achievements", schema="badges")
    op.drop_index(op.f("ix_achievements_issuer_id"), table_name="achievements", schema="badges")
    op.drop_table("achievements", schema="badges")
    op.drop_index(op.f("ix_issuers_tenant_id"), table_name="issuers", schema="badges")
    op.drop_table("issuers", schema="badges")
