"""Triggers: when a rule is evaluated.

Record triggers answer, for a write event, the list of *occurrences* it
causes: one empty dict for a whole-record trigger, one ``{"row": …}`` per
sub-table row for row triggers, nothing when it does not fire. Schedule and
time triggers are driven by the runtime's durable jobs; task and flow triggers
by the flow runtime calling ``RuleRunner.fire_flow_event`` through the service container. A manual trigger
never fires by itself: a person runs the rule on one record (a button on the
record page, ``POST /api/v1/forms/<form>/records/<id>/run/<rule>``).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping

from engines.expr.values import equal

from .cron import Cron, CronError, parse_cron

CREATED, UPDATED, DELETED = "record.created", "record.updated", "record.deleted"
#: a record brought back from the recycle bin (``runtime.recycle.restore``)
RESTORED = "record.restored"
MANUAL = "record.manual"
FLOW_EVENTS = ("task.created", "task.completed", "task.overdue", "flow.started", "flow.ended")


class Trigger:
    type = ""
    events: frozenset[str] = frozenset()
    #: fired by the scheduler, not by writes
    scheduled = False

    def __init__(self, config: Mapping[str, Any], errors: list[dict], ptr: str):
        self.config = dict(config)

    def occurrences(self, event: str, after, before) -> list[dict]:
        return [{}] if event in self.events else []

    def fields(self) -> set[str]:
        return set()


def _err(errors, ptr, code, message, **ctx):
    errors.append({"code": code, "message": message, "pointer": ptr, **ctx})


class RecordCreated(Trigger):
    type = "record_created"
    events = frozenset({CREATED})


class RecordDeleted(Trigger):
    type = "record_deleted"
    events = frozenset({DELETED})


class RecordRestored(Trigger):
    type = "record_restored"
    events = frozenset({RESTORED})


class RecordUpdated(Trigger):
    """``{"type": "record_updated", "fields": ["状态"]}`` — optionally only when one of ``fields`` changed."""

    type = "record_updated"
    events = frozenset({UPDATED})

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.watch = config.get("fields") or []
        if not isinstance(self.watch, list):
            _err(errors, f"{ptr}/fields", "rule.bad_trigger", "fields is a list of field keys")
            self.watch = []

    def occurrences(self, event, after, before):
        if event not in self.events:
            return []
        if self.watch and not any(not equal(after.get(f), before.get(f)) for f in self.watch):
            return []
        return [{}]


class RecordSaved(RecordUpdated):
    type = "record_saved"
    events = frozenset({CREATED, UPDATED})

    def occurrences(self, event, after, before):
        if event == CREATED:
            return [{}]
        return super().occurrences(event, after, before)


def _one_of(value, spec) -> bool:
    if isinstance(spec, list):
        return any(equal(value, s) for s in spec)
    return equal(value, spec)


class FieldChanged(Trigger):
    """``{"type": "field_changed", "field": "状态", "from": "处理中", "to": ["已解决", "已关闭"]}``.

    ``from``/``to`` are optional (a value or a list of values). A record created with
    the field set counts as a change from empty, unless ``from`` is given.
    """

    type = "field_changed"
    events = frozenset({CREATED, UPDATED})

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.field = config.get("field")
        if not isinstance(self.field, str):
            _err(errors, f"{ptr}/field", "rule.bad_trigger", "field_changed names the field to watch")

    def fields(self):
        return {self.field} if isinstance(self.field, str) else set()

    def occurrences(self, event, after, before):
        if event not in self.events or not isinstance(self.field, str):
            return []
        new = after.get(self.field)
        if event == CREATED:
            if "from" in self.config or new in (None, "", []):
                return []
            old = None
        else:
            old = before.get(self.field)
            if equal(old, new):
                return []
            if "from" in self.config and not _one_of(old, self.config["from"]):
                return []
        if "to" in self.config and not _one_of(new, self.config["to"]):
            return []
        return [{"changed": {"field": self.field, "from": old, "to": new}}]


class _RowTrigger(Trigger):
    events = frozenset({CREATED, UPDATED, DELETED})
    mode = ""

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.subtable = config.get("subtable")
        if not isinstance(self.subtable, str):
            _err(errors, f"{ptr}/subtable", "rule.bad_trigger", "row triggers name the sub-table field")

    def occurrences(self, event, after, before):
        if not isinstance(self.subtable, str):
            return []
        new_rows = list((after or {}).get(self.subtable) or [])
        old_rows = list((before or {}).get(self.subtable) or [])
        old_by_id = {r.get("id"): r for r in old_rows if r.get("id") is not None}
        new_ids = {r.get("id") for r in new_rows}
        if self.mode == "added":
            return [{"row": r} for r in new_rows if r.get("id") not in old_by_id]
        if self.mode == "removed":
            return [{"row": r} for r in old_rows if r.get("id") not in new_ids]
        out = []
        for r in new_rows:
            old = old_by_id.get(r.get("id"))
            if old is not None and any(not equal(old.get(k), v) for k, v in r.items()):
                out.append({"row": r, "row_before": old})
        return out


class RowAdded(_RowTrigger):
    type, mode = "row_added", "added"


class RowUpdated(_RowTrigger):
    type, mode = "row_updated", "updated"


class RowRemoved(_RowTrigger):
    type, mode = "row_removed", "removed"


class Schedule(Trigger):
    """``{"type": "schedule", "cron": "0 9 * * 1-5", "tz": "Asia/Shanghai"}`` — runs over the form's
    records that meet the condition (or once, with no record, when ``per_record`` is false)."""

    type = "schedule"
    scheduled = True

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.cron: Cron | None = None
        self.per_record = config.get("per_record", True) is not False
        try:
            self.cron = parse_cron(config.get("cron"), config.get("tz") or "UTC")
        except CronError as exc:
            _err(errors, f"{ptr}/cron", exc.code, exc.message)

    def occurrences(self, event, after, before):
        return []


_UNIT = {"minutes": 60, "hours": 3600, "days": 86400}


class TimeAfter(Trigger):
    """``{"type": "time_after", "field": "created_at", "hours": 2}`` — fires once per record when the
    date field plus the offset is reached; the condition is checked *then* ("while 状态 is not 已解决").
    A negative offset means before the date (reminders before a deadline)."""

    type = "time_after"
    events = frozenset({CREATED, UPDATED})
    scheduled = True

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.field = config.get("field")
        seconds = 0.0
        for unit, factor in _UNIT.items():
            v = config.get(unit)
            if v is not None:
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    _err(errors, f"{ptr}/{unit}", "rule.bad_trigger", f"{unit} is a number")
                    continue
                seconds += v * factor
        if not isinstance(self.field, str):
            _err(errors, f"{ptr}/field", "rule.bad_trigger", "time_after names the date field")
        if seconds == 0 and not errors:
            _err(errors, ptr, "rule.bad_trigger", "time_after needs an offset: minutes, hours or days")
        self.offset = timedelta(seconds=seconds)

    def fields(self):
        return {self.field} if isinstance(self.field, str) else set()

    @property
    def calendar(self) -> str | None:
        """``"calendar": "support_hours"``: the offset counts working time on that business calendar."""
        return self.config.get("calendar")

    def due(self, record: Mapping[str, Any], calendar=None):
        value = record.get(self.field) if isinstance(self.field, str) else None
        if value is None or not hasattr(value, "year"):
            return None
        if not hasattr(value, "hour"):  # a date: midnight UTC
            from datetime import datetime, timezone
            value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if calendar is not None and self.offset > timedelta(0):
            return calendar.add_working_time(value, self.offset)
        return value + self.offset

    def occurrences(self, event, after, before):
        return []  # the runtime schedules a timer on writes; the timer evaluates the rule


class Manual(Trigger):
    """``{"type": "manual"}`` — run by a person on one record (a button on the record page); the rule's
    condition decides whether the button is offered and is checked again when it is pressed."""

    type = "manual"
    events = frozenset({MANUAL})

    def occurrences(self, event, after, before):
        return [{}] if event == MANUAL else []


class FlowEvent(Trigger):
    """``{"type": "task_overdue", "flow": "order_flow", "task": "review"}`` and the other flow/task
    events; fired by the flow runtime through the container (``RuleRunner.fire_flow_event``)."""

    def __init__(self, config, errors, ptr):
        super().__init__(config, errors, ptr)
        self.flow, self.task = config.get("flow"), config.get("task")

    def matches(self, flow_key: str | None, task_key: str | None) -> bool:
        return (self.flow is None or self.flow == flow_key) and (self.task is None or self.task == task_key)


def _flow_trigger(name: str) -> type[FlowEvent]:
    event = name.replace("_", ".", 1)
    return type(name.title().replace("_", ""), (FlowEvent,), {"type": name, "events": frozenset({event})})


TRIGGERS: dict[str, type[Trigger]] = {t.type: t for t in (
    RecordCreated, RecordUpdated, RecordDeleted, RecordRestored, RecordSaved, FieldChanged, RowAdded, RowUpdated, RowRemoved,
    Schedule, TimeAfter, Manual,
    *(_flow_trigger(n) for n in ("task_created", "task_completed", "task_overdue", "flow_started", "flow_ended")),
)}


def compile_trigger(config: Any, errors: list[dict], ptr: str = "/trigger") -> Trigger | None:
    if not isinstance(config, Mapping) or config.get("type") not in TRIGGERS:
        _err(errors, f"{ptr}/type", "rule.unknown_trigger",
             f"unknown trigger; use one of {', '.join(sorted(TRIGGERS))}",
             type=str(config.get("type"))[:50] if isinstance(config, Mapping) else None)
        return None
    return TRIGGERS[config["type"]](config, errors, ptr)
