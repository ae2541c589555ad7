"""Join the flow, rule and builder branches into one head.

0003_flow, 0004_rules and 0005_builder were each written on top of 0002, so an
install had three Alembic heads and a new migration could not say what it
follows. This revision has no operations: an existing install at the three old
heads moves here without touching a table, and every later migration revises it.

Revision ID: 0006_one_head
Revises: 0003_flow, 0004_rules, 0005_builder
"""
revision = "0006_one_head"
down_revision = ("0003_flow", "0004_rules", "0005_builder")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
