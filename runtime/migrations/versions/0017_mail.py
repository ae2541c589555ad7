"""The mail channel: the e-mail threads of records (Message-IDs taken in and sent out) and how far
each IMAP mailbox of an e-mail intake has been read.

Revision ID: 0017_mail
Revises: 0016_search
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_mail"
down_revision = "0016_search"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_mail_messages",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("message_id", sa.String(500), nullable=False, unique=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("form_key", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_jimu_mail_messages_record", "jimu_mail_messages", ["form_key", "record_id", "id"])
    op.create_table(
        "jimu_mailboxes",
        sa.Column("form_key", sa.String(100), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("checked_at", TS),
        sa.Column("last_error", sa.String(500)),
    )


def downgrade():
    op.drop_table("jimu_mailboxes")
    op.drop_table("jimu_mail_messages")
