"""SMS delivery records: one row per message sent to one number, with the vendor's answer and receipt.

Revision ID: 0019_sms
Revises: 0018_draft_holders
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_sms"
down_revision = "0018_draft_holders"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "jimu_sms_messages",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("key", sa.String(250), nullable=False, unique=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provider_id", sa.String(100)),
        sa.Column("code", sa.String(100)),
        sa.Column("message", sa.String(500)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("rule_key", sa.String(100)),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("receipt_at", TS),
    )
    op.create_index("ix_jimu_sms_messages_provider_id", "jimu_sms_messages", ["provider", "provider_id"])
    op.create_index("ix_jimu_sms_messages_record", "jimu_sms_messages", ["form_key", "record_id"])


def downgrade():
    op.drop_table("jimu_sms_messages")
