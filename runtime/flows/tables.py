"""The flow runtime's tables, declared on ``runtime.db.metadata`` and created by
migration ``0003_flow``.

- ``jimu_flow_versions``: every published version of every flow definition
  (immutable rows; instances point at one);
- ``jimu_flow_instances``: one row per running or ended instance: the version
  it started on, the record it runs on, and the engine's state document;
- ``jimu_flow_tasks``: one row per task ever opened (declared in ``runtime.shared_tables``: the
  recipients of rules read it too);
- ``jimu_flow_history``: the append-only timeline of every instance.
Timers are rows of ``jimu_jobs`` (kind ``flow.timer``).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..db import BIGID, JSON, TS, metadata
from ..shared_tables import flow_tasks

__all__ = ["flow_history", "flow_instances", "flow_tasks", "flow_versions"]

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
