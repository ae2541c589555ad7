"""Who a draft gives its roles to: ``{role key: {"add": [username], "remove": [username]}}``, kept
with the draft (not in the package: who holds a role is this server's business) and applied when the
draft is published.

Revision ID: 0018_draft_holders
Revises: 0017_mail
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0018_draft_holders"
down_revision = "0017_mail"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("jimu_builder_drafts") as batch:
        batch.add_column(sa.Column("holders", JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("jimu_builder_drafts") as batch:
        batch.drop_column("holders")
