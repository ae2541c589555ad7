"""The interface the flow runtime calls for task and flow triggers.

``fire_flow_event(jimu, conn, "task.overdue", flow="order_flow", task="review", form="订单",
record_id=7, task_id=31)`` evaluates the rules with a matching ``task_*``/``flow_*`` trigger
on the record, in the caller's transaction (same guarantees as record triggers). The record's
fields are the variables; ``task``/``flow``/``task_id`` are added to them.
"""
from __future__ import annotations

from typing import Any

from .outbox import SYSTEM
from .runner import RuleRunner

FLOW_EVENTS = ("task.created", "task.completed", "task.overdue", "flow.started", "flow.ended")


def fire_flow_event(jimu, conn, event: str, *, flow: str | None, task: str | None = None,
                    form: str | None = None, record_id: int | None = None, task_id: int | None = None,
                    principal=None) -> list[Any]:
    if event not in FLOW_EVENTS:
        from engines.rule import RuleError
        raise RuleError(f"unknown flow event {event!r}; use one of {', '.join(FLOW_EVENTS)}",
                        code="rule.unknown_event")
    from ..records import Records
    runner = getattr(jimu, "rules", None) or RuleRunner(jimu)
    records = Records(jimu, conn, principal or SYSTEM, source="flow", check_permissions=False)
    rules = runner.cache.for_records(records).flow_rules(event, flow, task)
    record: dict = {}
    if form and record_id is not None:
        record = records.store.get(jimu.catalog.form(form), record_id)
    occurrence = {"flow": flow, "task": task, "task_id": task_id}
    return [runner.fire(records, r, event, form or r.form, record, None, occurrence, extra={"task_id": task_id})
            for r in rules if form is None or r.form == form]
