"""Which record a stored file belongs to (``jimu_files.form_key``, ``record_id``).

A record may only take files it already holds or fresh, unclaimed uploads of
the same submitter (``runtime.files.check_references``); the first record that
takes a file claims it. Files uploaded before this revision stay unclaimed, so
only their uploader can still attach them.

Revision ID: 0008_file_owner
Revises: 0007_role_access
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_file_owner"
down_revision = "0007_role_access"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jimu_files") as batch:
        batch.add_column(sa.Column("form_key", sa.String(200)))
        batch.add_column(sa.Column("record_id", sa.BigInteger))


def downgrade():
    with op.batch_alter_table("jimu_files") as batch:
        batch.drop_column("record_id")
        batch.drop_column("form_key")
