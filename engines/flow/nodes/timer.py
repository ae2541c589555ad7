"""Waits, then moves on: for an ISO-8601 duration (optionally counted on a
business calendar), or until a date/datetime field of the record (plus an
optional offset duration). The wait is a durable ``wait`` timer; the token
moves when ``TimerFired`` arrives."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from ...calendar import CalendarError, parse_duration
from ..exceptions import FlowError
from .base import FlowNode, problem

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import NodeSpec


class TimerNode(FlowNode):
    type = "timer"
    label = {"zh-CN": "定时等待", "en": "Timer"}
    icon = "clock"
    group = "event"
    config_schema = {
        "type": "object",
        "oneOf": [{"required": ["after"]}, {"required": ["until"]}],
        "properties": {
            "after": {"type": "string", "description": "ISO-8601 duration to wait, e.g. PT2H or P3D."},
            "calendar": {"type": "string", "description": "Business calendar key: 'after' counts working time."},
            "until": {"type": "string", "description": "Key of a date or datetime field of the record."},
            "offset": {"type": "string", "description": "Duration added to the 'until' date, e.g. PT9H."},
        },
    }

    def prepare(self) -> list[dict]:
        self.after = self.offset = None
        try:
            if "after" in self.config:
                self.after = parse_duration(self.config["after"])
            if "offset" in self.config:
                self.offset = parse_duration(self.config["offset"])
        except CalendarError as exc:
            return [problem(exc.code, exc.message, node=self.id)]
        return []

    def fire_at(self, run: "Run", node: "NodeSpec") -> datetime:
        if self.after is not None:
            return run.deadline(self.after, self.config.get("calendar"))
        field = self.config["until"]
        value = run.record.get(field)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time(0))
        if not isinstance(value, datetime):
            raise FlowError(f"timer {node.id!r} waits until field {field!r}, which is empty or not a date; "
                            "fill the field before this step", code="flow.timer_field_empty",
                            node=node.id, field=field)
        if value.tzinfo is None:
            value = value.replace(tzinfo=run.now.tzinfo)
        return self.offset.after(value) if self.offset else value

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.schedule(node.id, self.fire_at(run, node), "wait", token=token)

    def on_timer(self, run: "Run", node: "NodeSpec", timer_id: str, timer: dict) -> None:
        run.history(node.id, "timer_fired")
        run.leave(node, timer["token"])
