"""PostgreSQL: each form's search index keeps a small pending list (``search.PENDING_LIST_KB``), so that
its entries move into the index in small steps instead of one write in thousands stalling for them all.

Revision ID: 0022_search_pending_list
Revises: 0021_form_versions
"""
from alembic import op

revision = "0022_search_pending_list"
down_revision = "0021_form_versions"
branch_labels = None
depends_on = None


def _each_index(options: str) -> None:
    from runtime.store import search
    from runtime.store.catalog import Catalog

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        return
    q = conn.dialect.identifier_preparer.quote
    for ft in Catalog._load(conn).values():
        conn.exec_driver_sql(f"ALTER INDEX IF EXISTS {q(search.index_name(ft))} {options}")


def upgrade():
    from runtime.store import search
    _each_index(f"SET (gin_pending_list_limit = {search.PENDING_LIST_KB})")


def downgrade():
    _each_index("RESET (gin_pending_list_limit)")
