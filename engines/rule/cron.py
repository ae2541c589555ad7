"""Five-field cron expressions (minute hour day-of-month month day-of-week), pure.

Supports ``*``, numbers, ranges ``a-b``, lists ``a,b`` and steps ``*/n`` /
``a-b/n``; day-of-week 0–7 (0 and 7 are Sunday). When both day fields are
restricted a day matches either (classic cron). ``next_after`` steps minute
by minute through candidate days only, so it is cheap; times are in the
rule's time zone and returned in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .exceptions import RuleError

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


class CronError(RuleError):
    code = "rule.bad_cron"


def _field(text: str, lo: int, hi: int, name: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            if not s.isdigit() or int(s) == 0:
                raise CronError(f"bad step in the {name} field: {s!r}")
            step = int(s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            x, y = part.split("-", 1)
            if not (x.isdigit() and y.isdigit()):
                raise CronError(f"bad range in the {name} field: {part!r}")
            a, b = int(x), int(y)
        elif part.isdigit():
            a = b = int(part)
        else:
            raise CronError(f"bad value in the {name} field: {part!r}")
        if not (lo <= a <= hi and lo <= b <= hi and a <= b):
            raise CronError(f"the {name} field takes {lo}–{hi}, not {part!r}")
        out.update(range(a, b + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday (Python), converted from cron's 0 = Sunday
    any_day: bool
    any_weekday: bool
    tz: str = "UTC"

    def _day_ok(self, d: datetime) -> bool:
        if d.month not in self.months:
            return False
        dom, dow = d.day in self.days, d.weekday() in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def next_after(self, after: datetime) -> datetime:
        zone = ZoneInfo(self.tz) if self.tz != "UTC" else timezone.utc
        t = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 5):
            if self._day_ok(t):
                for h in sorted(x for x in self.hours if x >= t.hour):
                    mins = sorted(m for m in self.minutes if h > t.hour or m >= t.minute)
                    if mins:
                        return t.replace(hour=h, minute=mins[0]).astimezone(timezone.utc)
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
        raise CronError(f"cron {self.source!r} never fires")


def parse_cron(source: str, tz: str = "UTC") -> Cron:
    if not isinstance(source, str):
        raise CronError("a schedule is a cron text such as '0 9 * * 1-5'")
    parts = source.split()
    if len(parts) != 5:
        raise CronError(f"a cron expression has 5 fields (minute hour day month weekday), not {len(parts)}")
    sets = [_field(p, lo, hi, n) for p, (lo, hi), n in zip(parts, _RANGES, _NAMES)]
    weekdays = frozenset((d - 1) % 7 for d in sets[4])
    try:
        ZoneInfo(tz)
    except Exception:
        raise CronError(f"unknown time zone {tz!r}") from None
    return Cron(source, sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*", tz)
