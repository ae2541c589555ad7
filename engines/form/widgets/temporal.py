"""Date and time widgets: date, datetime (aware, stored in UTC), time of day and duration."""
from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from engines.sqltypes import UTCDateTime

from ..widget import Widget, coerce_from
from ._common import config_schema, to_decimal

_TZ = {"type": "string", "default": "UTC", "minLength": 1,
       "description": "IANA time zone (e.g. Asia/Shanghai) used for input without an offset and for display."}
_DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def _zone(name: str | None):
    if not name or name == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


class DateWidget(Widget):
    """A calendar date (``2026-11-23``; ``2026/11/23`` is accepted)."""

    type = "date"
    label = {"zh-CN": "日期", "en": "Date"}
    icon = "calendar"
    group = "datetime"
    value_kind = "date"
    macro = "date"
    config_schema = config_schema({
        "min": {"type": "string", "format": "date", "description": "Earliest date accepted (ISO)."},
        "max": {"type": "string", "format": "date", "description": "Latest date accepted (ISO)."},
        "timezone": {**_TZ, "description": "Zone a datetime given for this date is read in."},
    }, examples=[{"min": "2000-01-01"}], description="A calendar date.")

    def sa_type(self):
        return sa.Date()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, datetime):
            if raw.tzinfo is not None:
                raw = raw.astimezone(_zone(self.config.get("timezone")))
            return raw.date()
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            text = raw.strip()
            m = _DATE_RE.match(text)
            try:
                if m:
                    return date(int(m[1]), int(m[2]), int(m[3]))
                if len(text) > 10 and text[10] in "T ":
                    return self.to_python(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                pass
        raise self.error("form.invalid_date", "enter a date such as 2026-11-23 / 请输入日期，如 2026-11-23")

    def validate(self, value):
        for bound, code, bad in (("min", "form.too_early", lambda b: value < b),
                                 ("max", "form.too_late", lambda b: value > b)):
            if self.config.get(bound):
                b = date.fromisoformat(self.config[bound])
                if bad(b):
                    raise self.error(code, f"{'on or after' if bound == 'min' else 'on or before'} {b} / "
                                           f"{'不早于' if bound == 'min' else '不晚于'} {b}", **{bound: b.isoformat()})

    def compile_clean(self):
        if not self._stock(DateWidget):
            return self.clean
        if self.config.get("min") or self.config.get("max"):
            return self.clean
        slow, fromiso = self.clean, date.fromisoformat

        def fast(raw):
            if type(raw) is str and len(raw) == 10 and raw[4] == "-" and raw[7] == "-" and raw.isascii():
                try:
                    return fromiso(raw)
                except ValueError:
                    pass
            return slow(raw)
        return fast

    def compile_coerce(self):
        if self.config.get("min") or self.config.get("max") or not self._stock(DateWidget, "compile_clean"):
            return super().compile_coerce()
        slow, fromiso = coerce_from(self.clean), date.fromisoformat
        invalid = self.shared_error("form.invalid_date", "enter a date such as 2026-11-23 / 请输入日期，如 2026-11-23")

        def coerce(raw):
            if type(raw) is str and len(raw) == 10 and raw[4] == "-" and raw[7] == "-" and raw.isascii():
                try:
                    return fromiso(raw)
                except ValueError:
                    # no blank at either end: ``to_python`` reads the same 10 characters, digits or not
                    if raw[0] > " " and raw[-1] > " ":
                        return invalid
            return slow(raw)
        return coerce

    def export_value(self, value):
        return None if value is None else value.isoformat()

    def json_schema(self):
        return {"type": ["string", "null"], "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

    def random_value(self, rng: random.Random):
        lo = date.fromisoformat(self.config["min"]) if self.config.get("min") else date(2020, 1, 1)
        hi = date.fromisoformat(self.config["max"]) if self.config.get("max") else lo + timedelta(days=3650)
        return lo + timedelta(days=rng.randint(0, (hi - lo).days))


class DatetimeWidget(Widget):
    """A moment in time: aware, stored and returned in UTC. Input without an offset is read in ``timezone``."""

    type = "datetime"
    label = {"zh-CN": "日期时间", "en": "Date and time"}
    icon = "clock"
    group = "datetime"
    value_kind = "datetime"
    macro = "datetime"
    config_schema = config_schema({
        "timezone": _TZ,
        "min": {"type": "string", "format": "date-time", "description": "Earliest moment accepted (ISO)."},
        "max": {"type": "string", "format": "date-time", "description": "Latest moment accepted (ISO)."},
    }, examples=[{"timezone": "Asia/Shanghai"}], description="A date and time.")

    def sa_type(self):
        return UTCDateTime()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        zone = _zone(self.config.get("timezone"))
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, date):
            value = datetime(raw.year, raw.month, raw.day)
        elif isinstance(raw, str):
            text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
            m = _DATE_RE.match(text)
            try:
                value = datetime(int(m[1]), int(m[2]), int(m[3])) if m else datetime.fromisoformat(text)
            except ValueError:
                value = None
            if value is None:
                raise self.error("form.invalid_datetime", "enter a date and time such as 2026-11-23T09:30:00+08:00"
                                                          " / 请输入日期时间，如 2026-11-23 09:30")
        else:
            raise self.error("form.invalid_datetime", "enter a date and time / 请输入日期时间")
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(timezone.utc).replace(microsecond=0)

    def validate(self, value):
        for bound, code in (("min", "form.too_early"), ("max", "form.too_late")):
            if self.config.get(bound):
                b = self.to_python(self.config[bound])
                if (value < b) if bound == "min" else (value > b):
                    raise self.error(code, f"{'not before' if bound == 'min' else 'not after'} {b.isoformat()} / "
                                           f"{'不早于' if bound == 'min' else '不晚于'} {b.isoformat()}",
                                     **{bound: b.isoformat()})

    def compile_clean(self):
        if not self._stock(DatetimeWidget):
            return self.clean
        if self.config.get("min") or self.config.get("max"):
            return self.clean
        slow, fromiso, utc = self.clean, datetime.fromisoformat, timezone.utc

        def fast(raw):
            if type(raw) is str and len(raw) >= 20 and raw[10] == "T" and raw.isascii():
                try:
                    v = fromiso(raw)
                except ValueError:
                    return slow(raw)
                if v.tzinfo is utc and not v.microsecond:
                    return v
                if v.tzinfo is not None:
                    return v.astimezone(utc).replace(microsecond=0)
            return slow(raw)
        return fast

    def compile_coerce(self):
        if self.config.get("min") or self.config.get("max") or not self._stock(DatetimeWidget, "compile_clean"):
            return super().compile_coerce()
        slow, fromiso, utc = coerce_from(self.clean), datetime.fromisoformat, timezone.utc
        invalid = self.shared_error("form.invalid_datetime", "enter a date and time such as 2026-11-23T09:30:00+08:00"
                                                      " / 请输入日期时间，如 2026-11-23 09:30")

        def coerce(raw):
            if type(raw) is str:
                if len(raw) >= 20 and raw[10] == "T" and raw.isascii():
                    try:
                        v = fromiso(raw)
                    except ValueError:
                        return slow(raw)
                    if v.tzinfo is utc and not v.microsecond:
                        return v
                    if v.tzinfo is not None:
                        return v.astimezone(utc).replace(microsecond=0)
                elif raw:
                    text = raw.strip()
                    # both readings of ``to_python`` (a date, ISO 8601) start with a digit
                    if not text or not text[0].isdecimal():
                        return invalid
            return slow(raw)
        return coerce

    def export_value(self, value):
        return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")

    def input_value(self, value):
        if isinstance(value, datetime):
            return value.astimezone(_zone(self.config.get("timezone"))).strftime("%Y-%m-%dT%H:%M")
        return super().input_value(value)

    def json_schema(self):
        return {"type": ["string", "null"], "format": "date-time"}

    def random_value(self, rng: random.Random):
        start = datetime(2020, 1, 1, tzinfo=timezone.utc)
        return start + timedelta(seconds=rng.randint(0, 10 * 365 * 86400))


class TimeWidget(Widget):
    """A time of day, kept as ``HH:MM`` (or ``HH:MM:SS`` with ``seconds``) so it sorts as text."""

    type = "time"
    label = {"zh-CN": "时间", "en": "Time"}
    icon = "clock"
    group = "datetime"
    value_kind = "time"
    macro = "time"
    orderable_text = True
    config_schema = config_schema({
        "seconds": {"type": "boolean", "default": False, "description": "Keep seconds (HH:MM:SS)."},
        "min": {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "description": "Earliest time, HH:MM."},
        "max": {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "description": "Latest time, HH:MM."},
    }, examples=[{"min": "08:00", "max": "20:00"}], description="A time of day.")
    _RE = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?$")

    def sa_type(self):
        return sa.String(8)

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, (time, datetime)):
            h, m, s = raw.hour, raw.minute, raw.second
        else:
            match = self._RE.match(raw.strip()) if isinstance(raw, str) else None
            if not match:
                raise self.error("form.invalid_time", "enter a time such as 09:30 / 请输入时间，如 09:30")
            h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
            if h > 23 or m > 59 or s > 59:
                raise self.error("form.invalid_time", "enter a time such as 09:30 / 请输入时间，如 09:30")
        return f"{h:02d}:{m:02d}:{s:02d}" if self.config.get("seconds") else f"{h:02d}:{m:02d}"

    def validate(self, value):
        lo, hi = self.config.get("min"), self.config.get("max")
        if lo and value < self.to_python(lo):
            raise self.error("form.too_early", f"not before {lo} / 不早于 {lo}", min=lo)
        if hi and value > self.to_python(hi):
            raise self.error("form.too_late", f"not after {hi} / 不晚于 {hi}", max=hi)

    def json_schema(self):
        return {"type": ["string", "null"], "pattern": r"^\d{1,2}:\d{2}(:\d{2})?$"}

    def random_value(self, rng: random.Random):
        lo = self.to_python(self.config.get("min") or "00:00")
        hi = self.to_python(self.config.get("max") or "23:59")
        lo_m, hi_m = int(lo[:2]) * 60 + int(lo[3:5]), int(hi[:2]) * 60 + int(hi[3:5])
        t = rng.randint(lo_m, hi_m)
        return self.to_python(f"{t // 60:02d}:{t % 60:02d}")


_UNITS = {"d": 86400, "day": 86400, "days": 86400, "天": 86400, "日": 86400,
          "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600, "小时": 3600, "时": 3600,
          "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "分钟": 60, "分": 60,
          "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "秒": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|天|日|小时|时|分钟|分|秒)",
                   re.IGNORECASE)
_CLOCK = re.compile(r"^(\d+):(\d{2})(?::(\d{2}))?$")


def parse_duration(text: str) -> int | None:
    """Seconds in ``"2h30m"``, ``"1d 2h"``, ``"1.5h"``, ``"2小时30分"``, ``"1:30:00"`` or ``"90"`` (seconds)."""
    text = text.strip().lower()
    if not text or len(text) > 64:
        return None
    m = _CLOCK.match(text)
    if m:
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        return h * 3600 + mi * 60 + s if mi < 60 and s < 60 else None
    d = to_decimal(text)
    if d is not None:
        return int(d) if d == d.to_integral_value() else None
    total, pos = 0, 0
    for part in _PART.finditer(text):
        if text[pos:part.start()].strip():
            return None
        total += float(part[1]) * _UNITS[part[2].lower()]
        pos = part.end()
    if pos == 0 or text[pos:].strip():
        return None
    return round(total)


class DurationWidget(Widget):
    """A length of time in whole seconds; accepts ``2h30m``, ``1d 2h``, ``1:30:00`` or a number of seconds."""

    type = "duration"
    label = {"zh-CN": "时长", "en": "Duration"}
    icon = "timer"
    group = "datetime"
    value_kind = "duration"
    macro = "duration"
    config_schema = config_schema({
        "min": {"type": ["integer", "string"], "description": "Shortest duration (seconds or text such as 30m)."},
        "max": {"type": ["integer", "string"], "description": "Longest duration (seconds or text such as 8h)."},
        "unit": {"enum": ["s", "m", "h", "d"], "default": "m", "description": "Unit shown in the input."},
    }, examples=[{"min": 0, "max": "30d", "unit": "h"}], description="A duration in seconds.")

    def sa_type(self):
        return sa.BigInteger()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, timedelta):
            return int(raw.total_seconds())
        if isinstance(raw, bool):
            value = None
        elif isinstance(raw, int):
            value = raw
        elif isinstance(raw, float):
            value = int(raw) if raw.is_integer() else None
        elif isinstance(raw, str):
            value = parse_duration(raw)
        else:
            value = None
        if value is None or value < 0 or value >= 2 ** 53:
            raise self.error("form.invalid_duration", "enter a duration such as 2h30m / 请输入时长，如 2h30m")
        return value

    def validate(self, value):
        lo, hi = self.config.get("min"), self.config.get("max")
        if lo is not None and value < self.to_python(lo):
            raise self.error("form.too_short", f"at least {lo} / 不少于 {lo}", min=lo)
        if hi is not None and value > self.to_python(hi):
            raise self.error("form.too_long", f"at most {hi} / 不多于 {hi}", max=hi)

    def input_value(self, value):
        if isinstance(value, int):
            return format_duration(value)
        return super().input_value(value)

    def json_schema(self):
        return {"type": ["integer", "string", "null"], "minimum": 0}

    def random_value(self, rng: random.Random):
        lo = self.to_python(self.config.get("min", 0))
        hi = self.to_python(self.config.get("max", 86400 * 3))
        return rng.randint(lo, hi)


def format_duration(seconds: int) -> str:
    """``9000`` → ``"2h30m"`` (the inverse of ``parse_duration``)."""
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
