"""Outgoing record-event webhooks: subscriptions per form and event, and their delivery log.

Revision ID: 0014_webhooks
Revises: 0013_imports
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0014_webhooks"
down_revision = "0013_imports"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_webhook_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("form_key", sa.String(100), nullable=False, index=True),
        sa.Column("events", JSON, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.Integer),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "jimu_webhook_deliveries",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("jimu_webhook_subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("form_key", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("response_code", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_attempt_at", TS),
    )
    op.create_index("ix_jimu_webhook_deliveries_sub", "jimu_webhook_deliveries", ["subscription_id", "id"])


def downgrade():
    op.drop_table("jimu_webhook_deliveries")
    op.drop_table("jimu_webhook_subscriptions")
