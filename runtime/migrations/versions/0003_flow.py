"""Flow runtime: published flow versions, instances, tasks, history.

Revision ID: 0003_flow
Revises: 0002
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0003_flow"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_flow_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_key", sa.String(100), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("form_key", sa.String(100)),
        sa.Column("start_mode", sa.String(20), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.UniqueConstraint("key", "version", name="uq_jimu_flow_versions_key_version"),
    )
    op.create_table(
        "jimu_flow_instances",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("flow_key", sa.String(100), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(100)),
        sa.Column("state", JSON, nullable=False),
        sa.Column("started_by", sa.Integer),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS),
    )
    op.create_index("ix_jimu_flow_instances_record", "jimu_flow_instances", ["form_key", "record_id"])
    op.create_table(
        "jimu_flow_tasks",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("instance_id", BIGID, sa.ForeignKey("jimu_flow_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_key", sa.String(40), nullable=False),
        sa.Column("node_id", sa.String(100), nullable=False),
        sa.Column("label", JSON),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee_kind", sa.String(20)),
        sa.Column("assignee_user_id", sa.Integer),
        sa.Column("assignee_role", sa.String(100)),
        sa.Column("assignee_group", sa.String(100)),
        sa.Column("delegated_from", sa.Integer),
        sa.Column("fields", JSON),
        sa.Column("outcomes", JSON),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("due_at", TS),
        sa.Column("outcome", sa.String(100)),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.Integer),
        sa.UniqueConstraint("instance_id", "task_key", name="uq_jimu_flow_tasks_instance_key"),
    )
    op.create_index("ix_jimu_flow_tasks_user", "jimu_flow_tasks", ["status", "assignee_user_id"])
    op.create_index("ix_jimu_flow_tasks_group", "jimu_flow_tasks", ["status", "assignee_group"])
    op.create_table(
        "jimu_flow_history",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("instance_id", BIGID, sa.ForeignKey("jimu_flow_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("node_id", sa.String(100)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("outcome", sa.String(100)),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_jimu_flow_history_instance_id", "jimu_flow_history", ["instance_id"])


def downgrade():
    op.drop_table("jimu_flow_history")
    op.drop_table("jimu_flow_tasks")
    op.drop_table("jimu_flow_instances")
    op.drop_table("jimu_flow_versions")
