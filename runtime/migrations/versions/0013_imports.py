"""Record imports from spreadsheets: their progress and their rejected rows.

Revision ID: 0013_imports
Revises: 0012_recycle_bin
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0013_imports"
down_revision = "0012_recycle_bin"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "jimu_imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form_key", sa.String(100), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("done_rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("imported", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("created_by", sa.Integer),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "jimu_import_rejects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("import_id", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("cells", JSON, nullable=False),
        sa.Column("errors", JSON, nullable=False),
    )
    op.create_index("ix_jimu_import_rejects_import", "jimu_import_rejects", ["import_id", "line"])


def downgrade():
    op.drop_index("ix_jimu_import_rejects_import", "jimu_import_rejects")
    op.drop_table("jimu_import_rejects")
    op.drop_table("jimu_imports")
