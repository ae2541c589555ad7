"""The rule runtime's tables, on ``runtime.db.metadata``, created by migration ``0004_rules``.

- ``jimu_rule_firings``: one row per rule evaluation: rule, record, event, matched or not,
  the effects it produced, errors, duration, the chain depth;
- ``jimu_notifications``: the in-app inbox (unread = ``read_at`` is null);
- ``jimu_record_participants``: users added to a record by rules (declared in ``runtime.shared_tables``:
  flows and the recipients read it too);
- ``jimu_rule_state``: small per-rule state (the next cron run; round-robin turns are counters in ``runtime.serials``).
Outgoing messages and timers are rows of ``jimu_jobs`` (kinds ``rule.*``).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..db import BIGID, JSON, TS, metadata
from ..shared_tables import record_participants

__all__ = ["notifications", "record_participants", "rule_firings", "rule_state"]

rule_firings = sa.Table(
    "jimu_rule_firings", metadata,
    sa.Column("id", BIGID, primary_key=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("rule_key", sa.String(100), nullable=False),
    sa.Column("app_key", sa.String(100)),
    sa.Column("form_key", sa.String(100)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("matched", sa.Boolean, nullable=False),
    sa.Column("actions", JSON),
    sa.Column("errors", JSON),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("source", sa.String(40)),
    sa.Index("ix_jimu_rule_firings_rule", "rule_key", "at"),
    sa.Index("ix_jimu_rule_firings_record", "form_key", "record_id"),
)
notifications = sa.Table(
    "jimu_notifications", metadata,
    sa.Column("id", BIGID, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("body", sa.Text),
    sa.Column("link", sa.String(2000)),
    sa.Column("rule_key", sa.String(100)),
    sa.Column("form_key", sa.String(100)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("read_at", TS),
    sa.Index("ix_jimu_notifications_unread", "user_id", "read_at"),
)
rule_state = sa.Table(
    "jimu_rule_state", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", JSON, nullable=False),
)
