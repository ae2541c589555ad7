"""A server database's form data versions in slots, so that concurrent writers of a form do not wait
for each other's commit (``runtime.db.data_written``).

Revision ID: 0021_form_versions
Revises: 0020_user_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_form_versions"
down_revision = "0020_user_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jimu_form_versions",
        sa.Column("form_id", sa.Integer, sa.ForeignKey("jimu_forms.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade():
    op.drop_table("jimu_form_versions")
