"""Business calendars and ISO-8601 durations: when does "2 working hours" end?

SLA deadlines and timer nodes are often measured in working time, not wall
time: "respond within 2 h" on a request raised Friday 17:00 in a Mon–Fri
09:00–18:00 office ends Monday 10:00. A ``BusinessCalendar`` holds a time zone,
the working spans of each weekday (several per day, e.g. 09:00–12:00 and
13:30–18:00), holidays, and extra working days (调休, a weekend day worked in
exchange for a holiday). It is compiled once from its JSON definition
(``schemas/calendar.json``) and is immutable; like every engine it never reads
the clock, callers pass the instants.

All arithmetic happens in the calendar's local time (``zoneinfo``), so a span
09:00–18:00 means local office hours across DST changes; results are aware
datetimes in that zone. Naive inputs are taken as local time of the calendar.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import JimuError, ValidationErrors

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: how far ahead a calculation may search for working time before it gives up
MAX_SEARCH_DAYS = 3660

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$")


class CalendarError(JimuError):
    code = "calendar.invalid"


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO-8601 duration split into whole days and a time part.

    The split matters on a business calendar: ``P3D`` means three working days
    (same local time of day), ``PT2H`` two working hours. Without a calendar both
    are plain wall-clock time. Weeks are seven days (``P1W`` == ``P7D``); years
    and months are refused because their length is not fixed.
    """

    days: int
    time: timedelta
    text: str

    def after(self, start: datetime, calendar: "BusinessCalendar | None" = None) -> datetime:
        """The instant this duration after ``start``, on ``calendar`` if given."""
        if calendar is None:
            return start + timedelta(days=self.days) + self.time
        moment = calendar.add_working_days(start, self.days) if self.days else start
        return calendar.add_working_time(moment, self.time) if self.time else moment


def parse_duration(text: str) -> Duration:
    """Parse ``PT2H``, ``P3D``, ``P1DT4H30M``, ``P2W``; raise ``CalendarError`` otherwise."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None:
        raise CalendarError(f"{text!r} is not an ISO-8601 duration; write e.g. PT2H (2 hours), "
                            "P3D (3 days) or P1DT4H30M (years and months are not allowed)",
                            code="calendar.bad_duration", value=str(text))
    g = {k: (v or "0") for k, v in m.groupdict().items()}
    days = int(g["weeks"]) * 7 + int(g["days"])
    part = timedelta(hours=float(g["hours"]), minutes=float(g["minutes"]), seconds=float(g["seconds"]))
    return Duration(days=days, time=part, text=text)


def _parse_time(text: Any, where: str, errors: list) -> time | None:
    if isinstance(text, str):
        if text == "24:00":
            return time.max
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    errors.append(CalendarError(f"{where}: {text!r} is not a time; write HH:MM such as 09:00",
                                code="calendar.bad_time", path=where))
    return None


def _parse_date(text: Any, where: str, errors: list) -> date | None:
    if isinstance(text, str):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors.append(CalendarError(f"{where}: {text!r} is not a date; write YYYY-MM-DD such as 2024-10-01",
                                code="calendar.bad_date", path=where))
    return None


def _parse_spans(raw: Any, where: str, errors: list) -> tuple[tuple[time, time], ...]:
    if not isinstance(raw, list):
        errors.append(CalendarError(f"{where}: working hours are a list of [start, end] pairs "
                                    "such as [[\"09:00\", \"12:00\"], [\"13:30\", \"18:00\"]]",
                                    code="calendar.bad_hours", path=where))
        return ()
    spans: list[tuple[time, time]] = []
    for i, pair in enumerate(raw):
        at = f"{where}/{i}"
        if not (isinstance(pair, list) and len(pair) == 2):
            errors.append(CalendarError(f"{at}: write a span as [\"09:00\", \"18:00\"]",
                                        code="calendar.bad_hours", path=at))
            continue
        a, b = _parse_time(pair[0], at, errors), _parse_time(pair[1], at, errors)
        if a is None or b is None:
            continue
        if a >= b:
            errors.append(CalendarError(f"{at}: a span must end after it starts ({pair[0]}–{pair[1]})",
                                        code="calendar.empty_span", path=at))
        elif spans and a < spans[-1][1]:
            errors.append(CalendarError(f"{at}: spans of one day must be in order and not overlap",
                                        code="calendar.overlapping_spans", path=at))
        else:
            spans.append((a, b))
    return tuple(spans)


def _expand_dates(items: Iterable[Any], where: str, errors: list) -> set[date]:
    """Dates given as ``"2024-10-01"`` or ranges ``{"from": ..., "to": ..., "label": ...}``."""
    out: set[date] = set()
    for i, item in enumerate(items or ()):
        at = f"{where}/{i}"
        if isinstance(item, Mapping) and "from" in item:
            a = _parse_date(item.get("from"), at, errors)
            b = _parse_date(item.get("to", item.get("from")), at, errors)
            if a and b:
                if b < a:
                    errors.append(CalendarError(f"{at}: 'to' is before 'from'", code="calendar.bad_range", path=at))
                out.update(a + timedelta(days=n) for n in range((b - a).days + 1))
        else:
            d = _parse_date(item.get("date") if isinstance(item, Mapping) else item, at, errors)
            if d:
                out.add(d)
    return out


class BusinessCalendar:
    """Working time of one organisation: weekly hours, holidays, extra working days."""

    __slots__ = ("key", "tz", "_week", "_holidays", "_extra", "_extra_spans", "_days")

    def __init__(self, key: str, tz: ZoneInfo, week: Mapping[int, tuple[tuple[time, time], ...]],
                 holidays: frozenset[date] = frozenset(), extra_days: frozenset[date] = frozenset(),
                 extra_spans: tuple[tuple[time, time], ...] = ()):
        self.key = key
        self.tz = tz
        self._week = tuple(tuple(week.get(i, ())) for i in range(7))
        self._holidays = holidays
        self._extra = extra_days
        self._extra_spans = extra_spans or next((s for s in self._week if s), ())
        #: day → its working intervals (``_intervals``), worked out once per day: the calendar is immutable
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        if not any(self._week) and not extra_days:
            raise CalendarError(f"calendar {key!r} has no working hours; give at least one weekday "
                                "spans such as \"mon\": [[\"09:00\", \"18:00\"]]", code="calendar.no_working_hours")

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> "BusinessCalendar":
        """Compile ``schemas/calendar.json`` data; every problem is reported at once."""
        errors: list[JimuError] = []
        key = definition.get("key", "")
        try:
            tz = ZoneInfo(definition.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            errors.append(CalendarError(f"unknown time zone {definition.get('timezone')!r}; use an IANA "
                                        "name such as Asia/Shanghai", code="calendar.bad_timezone",
                                        path="/timezone"))
            tz = ZoneInfo("UTC")
        hours = definition.get("hours", {})
        week: dict[int, tuple] = {}
        for name in hours:
            if name not in WEEKDAYS:
                errors.append(CalendarError(f"/hours/{name}: unknown weekday; use one of {', '.join(WEEKDAYS)}",
                                            code="calendar.bad_weekday", path=f"/hours/{name}"))
                continue
            week[WEEKDAYS.index(name)] = _parse_spans(hours[name], f"/hours/{name}", errors)
        holidays = _expand_dates(definition.get("holidays", ()), "/holidays", errors)
        extra = _expand_dates(definition.get("workdays", ()), "/workdays", errors)
        clash = holidays & extra
        if clash:
            errors.append(CalendarError(f"{', '.join(sorted(map(str, clash)))} listed both as holiday and as "
                                        "working day; keep one", code="calendar.conflicting_days", path="/workdays"))
        extra_spans = ()
        if "workday_hours" in definition:
            extra_spans = _parse_spans(definition["workday_hours"], "/workday_hours", errors)
        if errors:
            raise ValidationErrors(errors, f"calendar {key!r} has {len(errors)} problem(s)")
        return cls(key, tz, week, frozenset(holidays), frozenset(extra), extra_spans)

    # -- days ----------------------------------------------------------------
    def spans(self, day: date) -> tuple[tuple[time, time], ...]:
        """Local working spans of ``day`` (empty on holidays and days off)."""
        if day in self._extra:
            return self._extra_spans
        if day in self._holidays:
            return ()
        return self._week[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.spans(day))

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def _intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working spans of ``day`` as local instants, remembered per day (a deadline walks the same
        few days again and again; building them was most of the cost of the arithmetic)."""
        known = self._days.get(day)
        if known is None:
            known = tuple((datetime.combine(day, a, self.tz),
                           datetime.combine(day + timedelta(days=1), time(0), self.tz) if b == time.max
                           else datetime.combine(day, b, self.tz)) for a, b in self.spans(day))
            if len(self._days) >= 4096:
                self._days.clear()
            self._days[day] = known
        return known

    def is_working_time(self, moment: datetime) -> bool:
        local = self._local(moment)
        return any(a <= local < b for a, b in self._intervals(local.date()))

    # -- arithmetic ----------------------------------------------------------
    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when ``amount`` of working time has passed after ``start``.

        Time outside working spans does not count; a start outside working time
        begins counting at the next span. A zero amount returns ``start``.
        """
        if amount < timedelta(0):
            raise CalendarError("working time to add must not be negative", code="calendar.negative_duration")
        local = self._local(start)
        if amount == timedelta(0):
            return local
        left = amount
        day = local.date()
        for _ in range(MAX_SEARCH_DAYS):
            for a, b in self._intervals(day):
                if b <= local:
                    continue
                begin = max(a, local)
                available = b - begin
                if left <= available:
                    return (begin + left).astimezone(self.tz)
                left -= available
            day += timedelta(days=1)
        raise CalendarError(f"no working time within {MAX_SEARCH_DAYS} days after {start}",
                            code="calendar.no_working_time", calendar=self.key)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside [a, b); negative when ``b`` is before ``a``."""
        a, b = self._local(a), self._local(b)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            for start, end in self._intervals(day):
                lo, hi = max(start, a), min(end, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def workdays_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days in the local date range [a, b) (numpy ``busday_count`` convention)."""
        da = self._local(a).date() if isinstance(a, datetime) else a
        db = self._local(b).date() if isinstance(b, datetime) else b
        if db < da:
            return -self.workdays_between(db, da)
        return sum(1 for n in range((db - da).days) if self.is_working_day(da + timedelta(days=n)))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day, ``days`` working days after ``start``'s date."""
        if days < 0:
            raise CalendarError("working days to add must not be negative", code="calendar.negative_duration")
        local = self._local(start)
        day = local.date()
        for _ in range(MAX_SEARCH_DAYS):
            if days == 0:
                return datetime.combine(day, local.time(), self.tz)
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        raise CalendarError(f"no working day within {MAX_SEARCH_DAYS} days after {start}",
                            code="calendar.no_working_time", calendar=self.key)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.key!r}, {self.tz.key})"
