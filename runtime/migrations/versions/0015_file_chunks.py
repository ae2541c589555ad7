"""The database file store (``jimu_file_chunks``): a file's bytes as rows of at most 256 KiB, so web
processes on several hosts share uploads without a shared folder (``FILE_STORE=database``).

Revision ID: 0015_file_chunks
Revises: 0014_webhooks
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_file_chunks"
down_revision = "0014_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jimu_file_chunks",
        sa.Column("file_id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade():
    op.drop_table("jimu_file_chunks")
