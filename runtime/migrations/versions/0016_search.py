"""Search and chart caching. Each form's data version (``jimu_forms.data_version``), moved by every
transaction that writes its records: the key cached chart data is checked against. Full-text
search: every form table gets its search document column and index (an FTS5 table on
SQLite, a GIN-indexed tsvector on PostgreSQL), and the documents of the records it already holds
(``runtime.store.search``). ``jimu reindex`` writes them again at any time.

Revision ID: 0016_search
Revises: 0015_file_chunks
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_search"
down_revision = "0015_file_chunks"
branch_labels = None
depends_on = None


def upgrade():
    from runtime.store import search
    from runtime.store.catalog import Catalog

    with op.batch_alter_table("jimu_forms") as batch:
        batch.add_column(sa.Column("data_version", sa.BigInteger, nullable=False, server_default="0"))
    conn = op.get_bind()
    from runtime.db import data_version_triggers
    for ft in Catalog._load(conn).values():
        search.install(conn, ft)
        search.reindex(conn, ft)
        data_version_triggers(conn, ft.table.name, ft.form_id)


def downgrade():
    from runtime.store import search
    from runtime.store.catalog import Catalog

    conn = op.get_bind()
    q = conn.dialect.identifier_preparer.quote
    for ft in Catalog._load(conn).values():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(search.fts_name(ft))}")
            for suffix in ("ai", "ad", "au"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(search.fts_name(ft) + '_' + suffix)}")
            for suffix in ("dv_ai", "dv_au", "dv_ad"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(ft.table.name + '_' + suffix)}")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {q(ft.table.name)} DROP COLUMN IF EXISTS {search.VECTOR}")
        op.drop_column(ft.table.name, search.DOC)
    with op.batch_alter_table("jimu_forms") as batch:
        batch.drop_column("data_version")
