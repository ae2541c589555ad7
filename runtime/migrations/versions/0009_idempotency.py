"""Stored answers to requests sent with an ``Idempotency-Key`` (``jimu_idempotency``).

Revision ID: 0009_idempotency
Revises: 0008_file_owner
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0009_idempotency"
down_revision = "0008_file_owner"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "jimu_idempotency",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("principal", sa.String(60), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("body", sa.LargeBinary),
        sa.Column("headers", JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("principal", "key", name="uq_jimu_idempotency_key"),
        sa.Index("ix_jimu_idempotency_created", "created_at"),
    )


def downgrade():
    op.drop_table("jimu_idempotency")
