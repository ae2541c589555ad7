"""Service-level clocks of a flow (the definition's ``sla`` section): record-level deadlines that
run across the flow's steps, beside the per-step deadlines of task nodes (``config.sla``).

A clock (first response, resolution ...) starts with the instance. Its target comes from a table
of ``targets`` — the first whose ``when`` holds on the record (priority, a linked record's level
such as ``holder.tier``), the last one without ``when`` as the default — chosen at the start and
again whenever the record changes (a priority raised by a dispatch rule moves the deadline:
the new target counted from the start), and counts working time on the section's ``calendar``. While ``pause_when`` holds (the record
waits for someone outside the team) every pausable clock stands still; ``met_when`` stops a clock
(the first response was given; resolved) — and when it no longer holds (the record is reopened, on
the same instance or a reopened one), the clock starts again with a fresh target. ``warn`` schedules a warning before the deadline — a
fraction of the target (``{"at": 0.8}``) or a margin (``{"before": "PT30M"}``) — and the
deadline itself is the breach. Both emit ``SlaNotice``; the runtime tells the people the
section's ``notify`` names (the assignees of the open tasks, their group leads, named users,
groups or roles; in-app, e-mail or a group robot).

Definition::

    "sla": {"calendar": "office", "pause_when": "status == 'waiting'",
            "clocks": [{"key": "response", "label": ..., "met_when": "not is_empty(answered_at)",
                        "targets": [{"when": "priority == 'P1'", "after": "PT30M"}, {"after": "PT2H"}],
                        "warn": {"at": 0.8},
                        "notify": {"warning": [<message>], "breach": [<message>]}}]}

State (``state["clocks"][key]``): ``{"target": "PT2H", "total": seconds, "started": iso,
"due": iso | None, "paused_total": working seconds spent paused, "paused_since": iso | None,
"left": seconds (while paused), "status": "running" | "paused" | "met" | "breached" | "stopped",
"warned": bool}``. Timers are ``state["timers"]`` entries of kind ``clock`` / ``clock_warn``
with no node and no token. The engine reads no clock: ``run.now`` and the record are given.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from ..calendar import CalendarError, Duration, parse_duration
from ..errors import JimuError
from . import conditions
from .effects import SlaNotice
from .messages import MESSAGES
from .nodes.base import problem
from .spec import freeze

if TYPE_CHECKING:
    from .run import Run

LABEL = {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}]}
SECTION_SCHEMA = {
    "type": "object",
    "description": "Service-level clocks of the records this flow runs on (first response, resolution ...).",
    "required": ["clocks"],
    "properties": {
        "calendar": {"type": "string", "description": "Business calendar key: targets count working time."},
        "pause_when": {"type": "string", "description": "Expression over the record: while it holds, the "
                                                        "clocks stand still (e.g. waiting for the requester)."},
        "clocks": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["key", "targets"],
            "properties": {
                "key": {"type": "string", "minLength": 1, "maxLength": 60},
                "label": LABEL,
                "met_when": {"type": "string", "description": "Expression: when it holds the clock stops, met."},
                "pause": {"type": "boolean", "default": True,
                          "description": "Whether pause_when stops this clock."},
                "targets": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["after"],
                    "properties": {"when": {"type": "string"},
                                   "after": {"type": "string", "description": "ISO-8601 duration, e.g. PT2H."}}}},
                "warn": {"type": "object", "description": "A warning before the deadline.",
                         "properties": {"at": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                                        "before": {"type": "string"}}},
                "notify": {"type": "object", "properties": {"warning": MESSAGES, "breach": MESSAGES}},
            }}},
    },
}


@dataclass(frozen=True, slots=True)
class Target:
    when: Any
    when_source: str | None
    after: Duration


@dataclass(frozen=True, slots=True)
class Clock:
    key: str
    label: Any
    targets: tuple[Target, ...]
    met_when: Any
    met_source: str | None
    pausable: bool
    warn_at: float | None
    warn_before: Duration | None
    notify: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SlaSection:
    calendar: str | None
    pause_when: Any
    pause_source: str | None
    clocks: tuple[Clock, ...]

    @property
    def paths(self) -> frozenset:
        """``(link field, key)`` pairs the conditions read (``holder.tier``), for the runtime to prefetch."""
        out: set = set()
        for cond in [self.pause_when] + [c.met_when for c in self.clocks] + \
                [t.when for c in self.clocks for t in c.targets]:
            out |= getattr(cond, "paths", frozenset())
        return frozenset(out)


def _condition(source: Any, where: str, problems: list) -> Any:
    if not source:
        return None
    try:
        return conditions.compile_condition(source)
    except JimuError as exc:
        problems.append(problem("flow.bad_condition", f"sla {where} ({source}): {exc.message}", where=where))
        return None


def _duration(text: Any, where: str, problems: list) -> Duration | None:
    try:
        return parse_duration(text)
    except CalendarError as exc:
        problems.append(problem(exc.code, f"sla {where}: {exc.message}", where=where))
        return None


def compile_section(raw: Any, problems: list) -> SlaSection | None:
    """The compiled ``sla`` section (None when there is none); problems are appended to ``problems``."""
    if raw in (None, {}):
        return None
    from jsonschema import Draft202012Validator
    errors = list(Draft202012Validator(SECTION_SCHEMA).iter_errors(raw))
    for err in errors:
        where = "/".join(str(p) for p in err.absolute_path)
        problems.append(problem("flow.bad_sla", f"sla{' at ' + repr(where) if where else ''}: {err.message}",
                                path=where))
    if errors:
        return None
    clocks, seen = [], set()
    for i, c in enumerate(raw["clocks"]):
        if c["key"] in seen:
            problems.append(problem("flow.duplicate_id", f"sla clock key {c['key']!r} is used twice; rename one"))
        seen.add(c["key"])
        targets = []
        for j, t in enumerate(c["targets"]):
            after = _duration(t["after"], f"clock {c['key']!r} target {j}", problems)
            if after is not None:
                targets.append(Target(_condition(t.get("when"), f"clock {c['key']!r} target {j} when", problems),
                                      t.get("when"), after))
        if c["targets"] and c["targets"][-1].get("when"):
            problems.append(problem("flow.sla_no_default", f"sla clock {c['key']!r}: the last target has a "
                                    "'when'; end the table with a target without 'when' (the default)"))
        warn = c.get("warn") or {}
        before = _duration(warn["before"], f"clock {c['key']!r} warn", problems) if "before" in warn else None
        clocks.append(Clock(c["key"], freeze(c.get("label") or c["key"]), tuple(targets),
                            _condition(c.get("met_when"), f"clock {c['key']!r} met_when", problems),
                            c.get("met_when"), c.get("pause", True), warn.get("at"), before,
                            freeze(c.get("notify") or {})))
    return SlaSection(raw.get("calendar"), _condition(raw.get("pause_when"), "pause_when", problems),
                      raw.get("pause_when"), tuple(clocks))


# -- behaviour (through a Run) -------------------------------------------------------------------
def _add(run: "Run", start: datetime, amount: timedelta, calendar) -> datetime:
    if amount <= timedelta(0):
        return start
    return calendar.add_working_time(start, amount) if calendar is not None else start + amount


def _between(a: datetime, b: datetime, calendar) -> timedelta:
    return calendar.working_time_between(a, b) if calendar is not None else b - a


def _holds(run: "Run", cond: Any, source: str | None) -> bool:
    return cond is not None and run.holds(cond, source)


def _target(run: "Run", clock: Clock) -> Target:
    return next((t for t in clock.targets if t.when is None or run.holds(t.when, t.when_source)), clock.targets[-1])


def _due(state: Mapping[str, Any], target: Duration, calendar) -> datetime:
    """The deadline: the target after the start, moved on by the working time spent paused."""
    return _add(None, target.after(datetime.fromisoformat(state["started"]), calendar),
                timedelta(seconds=state["paused_total"]), calendar)


def _set_target(run: "Run", clock: Clock, state: dict, target: Target, calendar) -> timedelta:
    """Set the clock's target, its working time (returned) and its deadline (``left`` while paused)."""
    start = datetime.fromisoformat(state["started"])
    end = target.after.after(start, calendar)   # ``_due`` without working the target out again
    total = _between(start, end, calendar)
    state.update(target=target.after.text, total=total.total_seconds())
    due = _add(None, end, timedelta(seconds=state["paused_total"]), calendar)
    if state["status"] == "paused":
        state["left"] = _between(datetime.fromisoformat(state["paused_since"]), due, calendar).total_seconds()
    else:
        state["due"] = due.isoformat()
    return total


def start_clocks(run: "Run") -> None:
    """Start every clock: choose its target, schedule its warning and deadline (or hold them when
    the record is already paused)."""
    sla = run.spec.sla
    if sla is None:
        return
    calendar = run.calendar(sla.calendar)
    paused = _holds(run, sla.pause_when, sla.pause_source)
    for clock in sla.clocks:
        _restart(run, clock, calendar, paused, "sla_started")


def _restart(run: "Run", clock: Clock, calendar, paused: bool, kind: str = "sla_restarted") -> None:
    """(Re)start ``clock`` now with a fresh target."""
    target = _target(run, clock)
    state = {"started": run.now.isoformat(), "paused_total": 0.0, "paused_since": None, "left": None,
             "status": "running", "warned": False}
    total = _set_target(run, clock, state, target, calendar)
    run.state["clocks"][clock.key] = state
    run.history(None, kind, outcome=clock.key, comment=target.after.text)
    if _holds(run, clock.met_when, clock.met_source):
        _met(run, clock)
    elif paused and clock.pausable:
        _pause(run, clock, calendar)
    else:
        _schedule(run, clock, calendar, left=total)   # started now, nothing paused: the whole target is left


def _warn_margin(clock: Clock, state: Mapping[str, Any]) -> timedelta | None:
    if clock.warn_before is not None:
        return clock.warn_before.days * timedelta(days=1) + clock.warn_before.time
    if clock.warn_at is not None:
        return timedelta(seconds=state["total"] * (1 - clock.warn_at))
    return None


def _schedule(run: "Run", clock: Clock, calendar, left: timedelta | None = None) -> None:
    """Schedule the clock's warning and deadline; ``left``: the working time until the deadline, when
    the caller knows it already."""
    state = run.state["clocks"][clock.key]
    due = datetime.fromisoformat(state["due"])
    margin = _warn_margin(clock, state)
    if margin is not None and not state["warned"]:
        if left is None:
            left = _between(run.now, due, calendar)
        if left > margin:
            run.schedule(None, _add(run, run.now, left - margin, calendar), "clock_warn", clock=clock.key)
        elif left > timedelta(0):
            run.schedule(None, run.now, "clock_warn", clock=clock.key)
    run.schedule(None, due, "clock", clock=clock.key)


def _cancel(run: "Run", clock_key: str) -> None:
    for timer_id, timer in list(run.state["timers"].items()):
        if timer.get("clock") == clock_key:
            run.cancel_timer(timer_id)


def _met(run: "Run", clock: Clock) -> None:
    _cancel(run, clock.key)
    run.state["clocks"][clock.key].update(status="met", met_at=run.now.isoformat())
    run.history(None, "sla_met", outcome=clock.key)


def _pause(run: "Run", clock: Clock, calendar) -> None:
    state = run.state["clocks"][clock.key]
    _cancel(run, clock.key)
    left = _between(run.now, datetime.fromisoformat(state["due"]), calendar)
    state.update(status="paused", left=left.total_seconds(), due=None, paused_since=run.now.isoformat())
    run.history(None, "sla_paused", outcome=clock.key)


def _resume(run: "Run", clock: Clock, calendar) -> None:
    state = run.state["clocks"][clock.key]
    paused = _between(datetime.fromisoformat(state["paused_since"]), run.now, calendar)
    state.update(status="running", paused_total=state["paused_total"] + paused.total_seconds(),
                 paused_since=None, left=None)
    state["due"] = _due(state, parse_duration(state["target"]), calendar).isoformat()
    run.history(None, "sla_resumed", outcome=clock.key)
    _schedule(run, clock, calendar)


def record_changed(run: "Run") -> None:
    """The record was written: stop the clocks whose ``met_when`` now holds, pause or resume the
    others as ``pause_when`` says."""
    sla = run.spec.sla
    if sla is None:
        return
    calendar = run.calendar(sla.calendar)
    paused = _holds(run, sla.pause_when, sla.pause_source)
    for clock in sla.clocks:
        state = run.state["clocks"].get(clock.key)
        if state is None or state["status"] == "breached":
            continue
        if state["status"] in ("met", "stopped"):
            if clock.met_when is not None and not run.holds(clock.met_when, clock.met_source):
                _restart(run, clock, calendar, paused)  # reopened: the record needs its service again
            continue
        if _holds(run, clock.met_when, clock.met_source):
            _met(run, clock)
            continue
        target = _target(run, clock)
        if target.after.text != state["target"]:  # the record's priority (or tier) changed: so does the target
            _set_target(run, clock, state, target, calendar)
            run.history(None, "sla_retargeted", outcome=clock.key, comment=target.after.text)
            if state["status"] == "running":
                _cancel(run, clock.key)
                _schedule(run, clock, calendar)
        if clock.pausable and paused and state["status"] == "running":
            _pause(run, clock, calendar)
        elif state["status"] == "paused" and not paused:
            _resume(run, clock, calendar)


def timer_fired(run: "Run", timer: Mapping[str, Any]) -> None:
    """A clock's warning or deadline came: met (its condition holds now), a warning, or a breach."""
    sla = run.spec.sla
    clock = next((c for c in sla.clocks if c.key == timer["clock"]), None) if sla else None
    state = run.state["clocks"].get(timer["clock"]) if clock else None
    if state is None or state["status"] != "running":
        return
    if _holds(run, clock.met_when, clock.met_source):
        _met(run, clock)
        return
    if timer["kind"] == "clock_warn":
        state["warned"] = True
        run.history(None, "sla_warning", outcome=clock.key)
        run.effects.append(SlaNotice(clock.key, "warning", clock.label, state["due"],
                                     tuple(clock.notify.get("warning") or ())))
        return
    _cancel(run, clock.key)
    state.update(status="breached", breached_at=run.now.isoformat())
    run.history(None, "sla_breached", outcome=clock.key)
    run.effects.append(SlaNotice(clock.key, "breach", clock.label, state["due"],
                                 tuple(clock.notify.get("breach") or ())))


def stop_clocks(run: "Run") -> None:
    """The instance ended: the clocks still running or paused stop (no warning or breach later)."""
    for timer_id, timer in list(run.state["timers"].items()):
        if timer.get("clock"):
            run.cancel_timer(timer_id)
    for state in run.state.get("clocks", {}).values():
        if state["status"] in ("running", "paused"):
            state.update(status="stopped")
