"""The flow runtime's tables, declared on ``runtime.db.metadata`` and created by
migration ``0003_flow``.

- ``jimu_flow_versions``: every published version of every flow definition
  (immutable rows; instances point at one);
- ``jimu_flow_instances``: one row per running or ended instance: the version
  it started on, the record it runs on, and the engine's state document;
- ``jimu_flow_tasks``: one row per task ever opened (open ones are the inbox),
  with its assignee (user, role or group), due date, priority and outcome;
- ``jimu_flow_history``: the append-only timeline of every instance.
Timers are rows of ``jimu_jobs`` (kind ``flow.timer``).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..db import JSON, TS, metadata

BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

flow_versions = sa.Table(
    "jimu_flow_versions", metadata,
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
flow_instances = sa.Table(
    "jimu_flow_instances", metadata,
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
    sa.Index("ix_jimu_flow_instances_record", "form_key", "record_id"),
)
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
flow_history = sa.Table(
    "jimu_flow_history", metadata,
    sa.Column("id", BIGID, primary_key=True),
    sa.Column("instance_id", BIGID, sa.ForeignKey("jimu_flow_instances.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("node_id", sa.String(100)),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("actor_id", sa.Integer),
    sa.Column("outcome", sa.String(100)),
    sa.Column("comment", sa.Text),
)
