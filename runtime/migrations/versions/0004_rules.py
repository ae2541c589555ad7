"""Rule runtime: firing log, in-app notifications, record participants, rule state.

Revision ID: 0004_rules
Revises: 0002
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0004_rules"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_rule_firings",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("rule_key", sa.String(100), nullable=False),
        sa.Column("app_key", sa.String(100)),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("matched", sa.Boolean, nullable=False),
        sa.Column("actions", JSON),
        sa.Column("errors", JSON),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("source", sa.String(40)),
    )
    op.create_index("ix_jimu_rule_firings_rule", "jimu_rule_firings", ["rule_key", "at"])
    op.create_index("ix_jimu_rule_firings_record", "jimu_rule_firings", ["form_key", "record_id"])
    op.create_table(
        "jimu_notifications",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("link", sa.String(2000)),
        sa.Column("rule_key", sa.String(100)),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("read_at", TS),
    )
    op.create_index("ix_jimu_notifications_unread", "jimu_notifications", ["user_id", "read_at"])
    op.create_table(
        "jimu_record_participants",
        sa.Column("form_key", sa.String(100), primary_key=True),
        sa.Column("record_id", sa.BigInteger, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("rule_key", sa.String(100)),
    )
    op.create_table(
        "jimu_rule_state",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", JSON, nullable=False),
    )


def downgrade():
    for t in ("jimu_rule_state", "jimu_record_participants", "jimu_notifications", "jimu_rule_firings"):
        op.drop_table(t)
