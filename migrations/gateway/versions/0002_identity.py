"""Identity: tenants, org units, users, role assignments, API clients, an append-only audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:45:52.592248
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
        "audit_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        schema="gateway",
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False, schema="gateway")
    op.create_index(
        op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"], unique=False, schema="gateway"
    )
    op.create_index(op.f("ix_audit_events_tenant_id"), "audit_events", ["tenant_id"], unique=False, schema="gateway")
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
        schema="gateway",
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("secret_rotated_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", shared.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["gateway.tenants.id"], name=op.f("fk_api_clients_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
        schema="gateway",
    )
    op.create_index(op.f("ix_api_clients_tenant_id"), "api_clients", ["tenant_id"], unique=False, schema="gateway")
    op.create_table(
        "org_units",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["gateway.tenants.id"], name=op.f("fk_org_units_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_org_units_tenant_id_name")),
        schema="gateway",
    )
    op.create_index(op.f("ix_org_units_tenant_id"), "org_units", ["tenant_id"], unique=False, schema="gateway")
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("org_unit_id", sa.String(length=36), nullable=True),
        sa.Column("sis_id", sa.String(length=64), nullable=True),
        sa.Column("state_educator_id", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", shared.db.UTCDateTime(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["gateway.org_units.id"], name=op.f("fk_users_org_unit_id_org_units"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["gateway.tenants.id"], name=op.f("fk_users_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_users_tenant_id_email")),
        schema="gateway",
    )
    op.create_index(op.f("ix_users_tenant_id"), "users", ["tenant_id"], unique=False, schema="gateway")
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["gateway.tenants.id"],
            name=op.f("fk_role_assignments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["gateway.users.id"], name=op.f("fk_role_assignments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignments")),
        sa.UniqueConstraint("user_id", "role", name=op.f("uq_role_assignments_user_id_role")),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_role_assignments_tenant_id"), "role_assignments", ["tenant_id"], unique=False, schema="gateway"
    )
    op.create_index(
        op.f("ix_role_assignments_user_id"), "role_assignments", ["user_id"], unique=False, schema="gateway"
    )
    _audit_is_append_only()


def _audit_is_append_only() -> None:
    """The audit log refuses UPDATE and DELETE at the database, whoever connects."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION gateway.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON gateway.audit_events "
            "FOR EACH ROW EXECUTE FUNCTION gateway.audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON gateway.audit_events")
        op.execute("DROP FUNCTION gateway.audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    op.drop_index(op.f("ix_role_assignments_user_id"), table_name="role_assignments", schema="gateway")
    op.drop_index(op.f("ix_role_assignments_tenant_id"), table_name="role_assignments", schema="gateway")
    op.drop_table("role_assignments", schema="gateway")
    op.drop_index(op.f("ix_users_tenant_id"), table_name="users", schema="gateway")
    op.drop_table("users", schema="gateway")
    op.drop_index(op.f("ix_org_units_tenant_id"), table_name="org_units", schema="gateway")
    op.drop_table("org_units", schema="gateway")
    op.drop_index(op.f("ix_api_clients_tenant_id"), table_name="api_clients", schema="gateway")
    op.drop_table("api_clients", schema="gateway")
    op.drop_table("tenants", schema="gateway")
    op.drop_index(op.f("ix_audit_events_tenant_id"), table_name="audit_events", schema="gateway")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events", schema="gateway")
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events", schema="gateway")
    op.drop_table("audit_events", schema="gateway")
