"""The shortcuts of the service-level clocks checked against the plain way of working the same out:
a calendar's remembered working spans, the warning of a clock that has just started, and the
conditions a step evaluates once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engines.calendar import BusinessCalendar
from engines.flow import RecordChanged, ScheduleTimer, compile_flow, new_state, step, Start, FlowError

from .helpers import edge, flow, node

OFFICE = {"key": "office", "timezone": "Europe/Berlin",   # a time zone with DST changes
          "hours": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
          "holidays": ["2026-10-02", {"from": "2026-12-24", "to": "2026-12-26"}], "workdays": ["2026-10-03"]}
STARTS = [datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc) + timedelta(hours=h, minutes=17 * h)
          for h in range(0, 24 * 40, 7)]  # night, day, weekend, holiday, the DST change of October


def _fresh() -> BusinessCalendar:
    return BusinessCalendar.from_definition(OFFICE)


def test_a_calendar_that_remembers_its_days_answers_as_a_fresh_one():
    warm = _fresh()
    for start in STARTS:
        for amount in (timedelta(minutes=30), timedelta(hours=2), timedelta(hours=27)):
            assert warm.add_working_time(start, amount) == _fresh().add_working_time(start, amount)
        end = start + timedelta(days=3, hours=5)
        assert warm.working_time_between(start, end) == _fresh().working_time_between(start, end)
        assert warm.is_working_time(start) == _fresh().is_working_time(start)
    # past the days it keeps (they are forgotten and worked out again)
    a, b = STARTS[0], STARTS[0] + timedelta(days=4200)
    assert warm.working_time_between(a, b) == _fresh().working_time_between(a, b)
    assert warm.working_time_between(a, a + timedelta(days=9)) == _fresh().working_time_between(a, a + timedelta(days=9))


def _clocks_flow():
    targets = [{"when": "priority == 'P1'", "after": "PT30M"}, {"when": "priority == 'P2'", "after": "P1D"},
               {"after": "P3D"}]
    sla = {"calendar": "office", "pause_when": "status == 'waiting'",
           "clocks": [{"key": "response", "met_when": "not is_empty(answered)", "targets": targets,
                       "warn": {"at": 0.8}},
                      {"key": "resolution", "met_when": "status == 'done'",
                       "targets": [dict(t, after=a) for t, a in zip(targets, ("PT4H", "PT20H", "P5D"))],
                       "warn": {"before": "PT1H"}}]}
    return compile_flow(flow([node("s", "start"), node("a", "user_task"), node("e", "end")],
                             [edge("s", "a"), edge("a", "e")], sla=sla))


def _expected_warning(cal, now, due, margin):
    """The warning as worked out from scratch: the working time left, less the margin, after now."""
    left = cal.working_time_between(now, due)
    if left > margin:
        return cal.add_working_time(now, left - margin)
    return now if left > timedelta(0) else None


@pytest.mark.parametrize("priority", ["P1", "P2", "P3"])
def test_a_started_clock_warns_when_the_working_time_left_says(priority):
    spec, cal = _clocks_flow(), _fresh()
    for now in STARTS:
        state, effects = step(spec, new_state(spec, 1), Start(actor="u"), now=now, record={"priority": priority},
                              calendar={"office": cal})
        timers = {(e.kind, state["timers"][e.timer_id]["clock"]): e.fire_at for e in effects
                  if isinstance(e, ScheduleTimer)}
        for key, clock in state["clocks"].items():
            due = datetime.fromisoformat(clock["due"])
            assert timers[("clock", key)] == due
            assert clock["total"] == cal.working_time_between(now, due).total_seconds()
            margin = (timedelta(hours=1) if key == "resolution"
                      else timedelta(seconds=clock["total"] * (1 - 0.8)))
            assert timers.get(("clock_warn", key)) == _expected_warning(cal, now, due, margin)


def test_a_step_evaluates_its_record_not_the_previous_steps():
    spec = _clocks_flow()
    now = STARTS[3]
    state, _ = step(spec, new_state(spec, 1), Start(actor="u"), now=now, record={"priority": "P3"},
                    calendar={"office": _fresh()})
    assert {k: c["target"] for k, c in state["clocks"].items()} == {"response": "P3D", "resolution": "P5D"}
    state, _ = step(spec, state, RecordChanged(), now=now, record={"priority": "P1"}, calendar={"office": _fresh()})
    assert {k: c["target"] for k, c in state["clocks"].items()} == {"response": "PT30M", "resolution": "PT4H"}
    state, _ = step(spec, state, RecordChanged(), now=now, record={"priority": "P1", "status": "done"},
                    calendar={"office": _fresh()})
    assert (state["clocks"]["response"]["status"], state["clocks"]["resolution"]["status"]) == ("running", "met")


def test_a_condition_that_fails_fails_every_time_it_is_asked():
    sla = {"clocks": [{"key": k, "targets": [{"when": "1 / count == 1", "after": "PT1H"}, {"after": "PT2H"}]}
                      for k in ("a", "b")]}
    spec = compile_flow(flow([node("s", "start"), node("a", "user_task"), node("e", "end")],
                             [edge("s", "a"), edge("a", "e")], sla=sla))
    with pytest.raises(FlowError) as err:
        step(spec, new_state(spec, 1), Start(actor="u"), now=STARTS[0], record={"count": 0})
    assert err.value.code == "flow.condition_failed"
    state, _ = step(spec, new_state(spec, 1), Start(actor="u"), now=STARTS[0], record={"count": 1})
    assert {k: c["target"] for k, c in state["clocks"].items()} == {"a": "PT1H", "b": "PT1H"}
