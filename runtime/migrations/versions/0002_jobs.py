"""Durable jobs: timers, SLA deadlines, scheduled rules and outgoing messages.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_jobs",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("run_at", TS, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("locked_by", sa.String(100)),
        sa.Column("locked_until", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_jimu_jobs_due", "jimu_jobs", ["status", "run_at"])


def downgrade():
    op.drop_table("jimu_jobs")
