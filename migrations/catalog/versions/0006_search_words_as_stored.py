"""Catalog: the PostgreSQL search vector holds the stored words as they are; leaner indexes.

The vector was ``to_tsvector('simple', ...)``, whose parser splits some normalized words
differently from SQLite's FTS5 ("2e8f" became "2e8" and "f"), so the two backends could answer
a query differently. It is now built from the words themselves (``array_to_tsvector``), and
queries are tsquery literals (services/catalog/search.py). Relevance no longer uses ``ts_rank``,
so the title/body weights go too.

The provider filter reads ``offering_audiences`` (kind ``provider``), so the expression indexes
on lower-cased provider columns from 0005 served nothing and only cost writes. The upcoming-
session indexes also cover ``registration_opens_at``, which the open-seats filter reads.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_VECTOR = "setweight(to_tsvector('simple', search_title), 'A') || setweight(to_tsvector('simple', search_body), 'B')"
# array_remove: an empty title or body would otherwise leave an empty word, which a tsvector refuses.
NEW_VECTOR = "array_to_tsvector(array_remove(string_to_array(search_title || ' ' || search_body, ' '), ''))"
PROVIDER_INDEXES = {
    "ix_offerings_provider_name_lower": "provider_name",
    "ix_offerings_provider_number_lower": "provider_number",
}
SESSION_COLUMNS = ["capacity", "seats_taken", "registration_closes_at"]
SESSION_INDEXES = {
    "ix_sessions_upcoming": ["status", "starts_at", "offering_id"],
    "ix_sessions_offering_upcoming": ["offering_id", "status", "starts_at"],
}


def _vector(expression: str) -> None:
    op.execute("DROP INDEX catalog.ix_offerings_search_vector")
    op.execute("ALTER TABLE catalog.offerings DROP COLUMN search_vector")
    op.execute(
        f"ALTER TABLE catalog.offerings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute("CREATE INDEX ix_offerings_search_vector ON catalog.offerings USING gin (search_vector)")


def _session_indexes(covered: list[str]) -> None:
    for name, leading in SESSION_INDEXES.items():
        op.drop_index(name, table_name="sessions", schema="catalog")
        op.create_index(name, "sessions", [*leading, *covered], unique=False, schema="catalog")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        _vector(NEW_VECTOR)
        for name in PROVIDER_INDEXES:
            op.execute(f"DROP INDEX catalog.{name}")
    _session_indexes(["capacity", "seats_taken", "registration_opens_at", "registration_closes_at"])


def downgrade() -> None:
    _session_indexes(SESSION_COLUMNS)
    if op.get_bind().dialect.name != "sqlite":
        for name, column in PROVIDER_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON catalog.offerings (tenant_id, lower({column}))")
        _vector(OLD_VECTOR)
