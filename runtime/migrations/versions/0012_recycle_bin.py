"""The recycle bin: deleted records kept until restored or purged (``runtime.recycle``).

Revision ID: 0012_recycle_bin
Revises: 0011_identity
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0012_recycle_bin"
down_revision = "0011_identity"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_recycle_bin",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("app_key", sa.String(100)),
        sa.Column("form_key", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("record", JSON, nullable=False),
        sa.Column("rows", JSON, nullable=False),
        sa.Column("links", JSON, nullable=False),
        sa.Column("flows", JSON, nullable=False),
        sa.Column("deleted_by", sa.Integer),
        sa.Column("deleted_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.UniqueConstraint("form_key", "record_id", name="uq_jimu_recycle_bin_record"),
    )
    op.create_index("ix_jimu_recycle_bin_expires", "jimu_recycle_bin", ["expires_at"])


def downgrade():
    op.drop_index("ix_jimu_recycle_bin_expires", "jimu_recycle_bin")
    op.drop_table("jimu_recycle_bin")
