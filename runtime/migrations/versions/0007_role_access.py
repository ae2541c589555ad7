"""Row scopes and field rules per role (``jimu_roles.access``).

Revision ID: 0007_role_access
Revises: 0006_one_head
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0007_role_access"
down_revision = "0006_one_head"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("jimu_roles") as batch:
        batch.add_column(sa.Column("access", JSON))


def downgrade():
    with op.batch_alter_table("jimu_roles") as batch:
        batch.drop_column("access")
