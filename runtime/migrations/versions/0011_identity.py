"""Identity: session generations, scoped and expiring API tokens, login throttling.

Revision ID: 0011_identity
Revises: 0010_deliveries
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0011_identity"
down_revision = "0010_deliveries"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("jimu_users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("jimu_api_tokens") as batch:
        batch.add_column(sa.Column("scope", JSON))
        batch.add_column(sa.Column("expires_at", TS))
        batch.add_column(sa.Column("revoked_at", TS))
        batch.add_column(sa.Column("created_by", sa.Integer))
        batch.add_column(sa.Column("hint", sa.String(20)))
    op.create_table(
        "jimu_login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("locked_until", TS),
    )


def downgrade():
    op.drop_table("jimu_login_throttle")
    with op.batch_alter_table("jimu_api_tokens") as batch:
        for name in ("hint", "created_by", "revoked_at", "expires_at", "scope"):
            batch.drop_column(name)
    with op.batch_alter_table("jimu_users") as batch:
        batch.drop_column("session_generation")
