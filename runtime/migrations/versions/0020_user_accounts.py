"""A user's id in another directory (WeCom, DingTalk), for work messages to a person.

Revision ID: 0020_user_accounts
Revises: 0019_sms
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_user_accounts"
down_revision = "0019_sms"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "jimu_user_accounts",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("provider", "account", name="uq_jimu_user_accounts_account"),
    )


def downgrade():
    op.drop_table("jimu_user_accounts")
