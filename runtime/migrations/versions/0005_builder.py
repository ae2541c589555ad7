"""Builder drafts: one working copy of an app package per app, edited until published.

Revision ID: 0005_builder
Revises: 0002
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0005_builder"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "jimu_builder_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_key", sa.String(100), nullable=False, unique=True),
        sa.Column("package", JSON, nullable=False),
        sa.Column("base_version", sa.String(50)),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.Integer),
    )


def downgrade():
    op.drop_table("jimu_builder_drafts")
