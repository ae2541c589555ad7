"""Tables that the flow and the rule runtimes both read, declared here so that each imports them
without importing the other (``tests/runtime/test_wiring.py``): the people of a record.

- ``jimu_flow_tasks`` (migration ``0003_flow``): one row per task ever opened (open ones are the
  inbox), with its assignee (user, role or group), due date, priority and outcome; written by the
  flow runtime, read by ``runtime.recipients`` (a rule's "assignee" and "lead");
- ``jimu_record_participants`` (migration ``0004_rules``): users added to a record by rules; read by
  ``runtime.recipients`` (a message to the record's "participants").
"""
from __future__ import annotations

import sqlalchemy as sa

from .db import BIGID, JSON, TS, metadata

flow_tasks = sa.Table(
    "jimu_flow_tasks", metadata,
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
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("due_at", TS),
    sa.Column("outcome", sa.String(100)),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("closed_at", TS),
    sa.Column("closed_by", sa.Integer),
    sa.UniqueConstraint("instance_id", "task_key", name="uq_jimu_flow_tasks_instance_key"),
    sa.Index("ix_jimu_flow_tasks_user", "status", "assignee_user_id"),
    sa.Index("ix_jimu_flow_tasks_group", "status", "assignee_group"),
)
record_participants = sa.Table(
    "jimu_record_participants", metadata,
    sa.Column("form_key", sa.String(100), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_at", TS, nullable=False),
    sa.Column("rule_key", sa.String(100)),
)
