"""Credentials: one open pursuit per educator and design, one standing award per educator,
design and tier (partial unique indexes), and the link from an award to the revoked one it
replaces.

Data from before these rules may break them. Nothing is deleted or voided here (awards carry
money in the ledger): each duplicate — an open pursuit after the earliest open one of the same
educator and design, a standing award after the earliest standing one of the same educator,
design and tier — is kept, marked with ``duplicate_of`` (the id of the one kept, which the
indexes' ``WHERE`` leaves out) and logged as a warning with its ids, together with the ledger
entries of a duplicate award, for coordinators and HR to settle. The awards' and pursuits'
read models show ``duplicate_of``.

(The ledger already holds at most one entry per award and kind: the unique constraint on
``tenant_id, source, source_id, kind`` of 0003.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 00:00:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("migrations.credentials")

OPEN_PURSUIT = "state IN ('planning', 'plan_review', 'active') AND duplicate_of IS NULL"
STANDING_AWARD = "status != 'revoked' AND duplicate_of IS NULL"


def _schema() -> str | None:
    # ALTER TABLE on SQLite must not be schema-qualified (each service has its own file).
    return None if op.get_bind().dialect.name == "sqlite" else "credentials"


def _table(name: str, *columns: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(schema=_schema()), *(sa.Column(c) for c in columns))


def _mark_duplicates(
    table: sa.Table, key: Sequence[str], order: Sequence[str], where: sa.ColumnElement[bool], noun: str
) -> list[tuple[str, str]]:
    """Marks every row after the first of its ``key`` group (in ``order``) as a duplicate of the
    first; returns (duplicate id, kept id) pairs."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(table.c.id, *(table.c[k] for k in key))
        .where(where)
        .order_by(*(table.c[k] for k in key), *(table.c[o] for o in order), table.c.id)
    ).all()
    kept: dict[tuple[str, ...], str] = {}
    marked: list[tuple[str, str]] = []
    for row in rows:
        group = tuple(row[1:])
        if group not in kept:
            kept[group] = row[0]
            continue
        bind.execute(sa.update(table).where(table.c.id == row[0]).values(duplicate_of=kept[group]))
        marked.append((row[0], kept[group]))
        log.warning(
            "duplicate %s %s kept and marked duplicate_of=%s (%s); settle it by hand",
            noun,
            row[0],
            kept[group],
            ", ".join(f"{k}={v}" for k, v in zip(key, group, strict=True)),
        )
    return marked


def upgrade() -> None:
    schema = _schema()
    op.add_column("pursuits", sa.Column("duplicate_of", sa.String(length=36), nullable=True), schema=schema)
    op.add_column("awards", sa.Column("replaces_award_id", sa.String(length=36), nullable=True), schema=schema)
    op.add_column("awards", sa.Column("duplicate_of", sa.String(length=36), nullable=True), schema=schema)

    pursuits = _table("pursuits", "id", "tenant_id", "educator_id", "design_id", "state", "started_at", "duplicate_of")
    _mark_duplicates(
        pursuits,
        ("tenant_id", "educator_id", "design_id"),
        ("started_at",),
        pursuits.c.state.in_(["planning", "plan_review", "active"]),
        "open pursuit",
    )
    awards = _table(
        "awards", "id", "tenant_id", "educator_id", "design_id", "tier_key", "status", "granted_at", "duplicate_of"
    )
    duplicate_awards = _mark_duplicates(
        awards,
        ("tenant_id", "educator_id", "design_id", "tier_key"),
        ("granted_at",),
        awards.c.status != "revoked",
        "standing award",
    )
    ledger = _table("ledger_entries", "id", "source", "source_id", "kind", "amount", "status")
    for award_id, kept in duplicate_awards:
        for entry in op.get_bind().execute(
            sa.select(ledger.c.id, ledger.c.kind, ledger.c.amount, ledger.c.status)
            .where(ledger.c.source == "award", ledger.c.source_id == award_id)
            .order_by(ledger.c.kind, ledger.c.id)
        ):
            log.warning(
                "ledger entry %s (%s %s, %s) belongs to duplicate award %s of award %s: kept as it is",
                entry.id,
                entry.kind,
                entry.amount,
                entry.status,
                award_id,
                kept,
            )

    op.create_index(
        "uq_pursuits_one_open",
        "pursuits",
        ["tenant_id", "educator_id", "design_id"],
        unique=True,
        schema=schema,
        sqlite_where=sa.text(OPEN_PURSUIT),
        postgresql_where=sa.text(OPEN_PURSUIT),
    )
    op.create_index(
        "uq_awards_one_standing",
        "awards",
        ["tenant_id", "educator_id", "design_id", "tier_key"],
        unique=True,
        schema=schema,
        sqlite_where=sa.text(STANDING_AWARD),
        postgresql_where=sa.text(STANDING_AWARD),
    )


def downgrade() -> None:
    schema = _schema()
    op.drop_index("uq_awards_one_standing", table_name="awards", schema=schema)
    op.drop_index("uq_pursuits_one_open", table_name="pursuits", schema=schema)
    op.drop_column("awards", "duplicate_of", schema=schema)
    op.drop_column("awards", "replaces_award_id", schema=schema)
    op.drop_column("pursuits", "duplicate_of", schema=schema)
