"""Outgoing messages their receiver acknowledged (``jimu_deliveries``), so a retried job does not
send again.

Revision ID: 0010_deliveries
Revises: 0009_idempotency
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_deliveries"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jimu_deliveries",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("jimu_deliveries")
