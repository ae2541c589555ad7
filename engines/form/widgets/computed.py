"""Computed widgets: serial numbers, formulas and the system fields (created/updated by/at)."""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timezone

import sqlalchemy as sa

from engines.sqltypes import UTCDateTime

from ..widget import Widget
from ._common import config_schema
from .number import NumberWidget
from .temporal import DateWidget, DatetimeWidget, _zone
from .text import TextWidget
from .choice import SwitchWidget

_TOKEN = re.compile(r"\{([^{}]*)\}")
_DATE_TOKENS = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H"}
_DATE_TOKEN = re.compile(r"yyyy|yy|MM|dd|HH")


class SerialWidget(Widget):
    """A serial number such as ``GD-{yyyyMMdd}-{0000}``, allocated by the runtime on create.

    Tokens in braces: date parts (``yyyy``, ``yy``, ``MM``, ``dd``, ``HH``, in any
    combination, e.g. ``{yyyyMMdd}``) and one counter of zeros (``{0000}``: at
    least four digits). The counter restarts in every period the date parts
    name (``runtime/serials.py`` keeps one counter per ``period_key``).
    """

    type = "serial"
    label = {"zh-CN": "流水号", "en": "Serial number"}
    icon = "barcode"
    group = "advanced"
    macro = "serial"
    computed = True
    orderable_text = True
    config_schema = config_schema({
        "pattern": {"type": "string", "minLength": 1, "maxLength": 60, "default": "{yyyyMMdd}{0000}",
                    "pattern": r"^[^{}]*(\{(yyyy|yy|MM|dd|HH)+\}[^{}]*|\{0+\}[^{}]*)*$",
                    "description": "Text with {date parts} (yyyy, yy, MM, dd, HH) and one {0000} counter."},
        "timezone": {"type": "string", "default": "UTC", "description": "IANA zone the date parts are taken in."},
    }, examples=[{"pattern": "GD-{yyyyMMdd}-{0000}", "timezone": "Asia/Shanghai"}],
        description="An automatic serial number.")

    def __init__(self, config=None):
        super().__init__(config)
        self.pattern = self.config.get("pattern") or "{yyyyMMdd}{0000}"
        self.zone = _zone(self.config.get("timezone"))
        parts, date_fmt = [], []
        regex_parts, pos = [], 0
        self.width = 0
        for m in _TOKEN.finditer(self.pattern):
            literal = self.pattern[pos:m.start()]
            parts.append(literal.replace("%", "%%"))
            regex_parts.append(re.escape(literal))
            token = m[1]
            if token and set(token) == {"0"}:
                self.width = len(token)
                parts.append("\x00")
                regex_parts.append(r"\d{%d,}" % len(token))
            else:
                fmt = _DATE_TOKEN.sub(lambda t: _DATE_TOKENS[t[0]], token)
                parts.append(fmt)
                date_fmt.append(fmt)
                regex_parts.append(re.escape(token) if fmt == token else r"\d+")
            pos = m.end()
        parts.append(self.pattern[pos:].replace("%", "%%"))
        regex_parts.append(re.escape(self.pattern[pos:]))
        if not self.width:
            parts.append("\x00")
            regex_parts.append(r"\d+")
        self._format = "".join(parts).split("\x00")
        self._period = "-".join(date_fmt)
        self._regex = re.compile("^" + "".join(regex_parts) + "$")

    def sa_type(self):
        return sa.String(80)

    def period_key(self, now: datetime) -> str:
        """The counter's period: the pattern's date parts at ``now`` (``""`` = one counter forever)."""
        return self._local(now).strftime(self._period) if self._period else ""

    def format_serial(self, now: datetime, seq: int) -> str:
        local = self._local(now)
        return str(seq).zfill(self.width).join(local.strftime(part) for part in self._format)

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.astimezone(self.zone)

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise self.error("form.invalid_serial", "a serial number is text / 流水号应为文本")
        return raw.strip()

    def validate(self, value):
        if not self._regex.match(value):
            raise self.error("form.invalid_serial", f"does not follow the pattern {self.pattern} / "
                                                    f"流水号不符合格式 {self.pattern}", pattern=self.pattern)

    def json_schema(self):
        return {"type": ["string", "null"], "readOnly": True}

    def random_value(self, rng: random.Random):
        now = datetime(2026, 1, 1, tzinfo=timezone.utc).replace(day=rng.randint(1, 28), month=rng.randint(1, 12))
        return self.format_serial(now, rng.randint(1, 9999))


_RESULTS = {"number": NumberWidget, "text": TextWidget, "date": DateWidget, "datetime": DatetimeWidget,
            "bool": SwitchWidget}


class FormulaWidget(Widget):
    """A computed field: its value is the field's ``formula`` expression, evaluated by the form engine on
    every save (in dependency order) and stored. ``result`` says what the expression yields."""

    type = "formula"
    label = {"zh-CN": "公式", "en": "Formula"}
    icon = "function"
    group = "advanced"
    macro = "formula"
    computed = True
    requires_formula = True
    config_schema = config_schema({
        "result": {"enum": sorted(_RESULTS), "default": "number",
                   "description": "Type of the computed value, which sets the column type."},
        "decimals": {"type": "integer", "minimum": 0, "maximum": 10,
                     "description": "Decimal places kept of a number result."},
        "timezone": {"type": "string", "description": "Zone of date results computed from datetimes."},
    }, examples=[{"result": "number", "decimals": 2}], description="A value computed by an expression.")

    def __init__(self, config=None):
        super().__init__(config)
        result = self.config.get("result", "number")
        inner = {k: v for k, v in self.config.items() if k in ("decimals", "timezone")}
        self.inner = _RESULTS.get(result, NumberWidget)(inner)
        self.value_kind = self.inner.value_kind
        self.orderable_text = self.inner.orderable_text

    @classmethod
    def example_field(cls) -> dict:
        return {"config": {"result": "number", "decimals": 2}, "formula": "round(3 * 1.5, 2)"}

    def sa_type(self):
        return self.inner.sa_type()

    def to_python(self, raw):
        return self.inner.to_python(raw)

    def validate(self, value):
        self.inner.validate(value)

    def export_value(self, value):
        return self.inner.export_value(value)

    def json_schema(self):
        return {**self.inner.json_schema(), "readOnly": True}

    def random_value(self, rng: random.Random):
        return self.inner.random_value(rng)


class _SystemWidget(Widget):
    """Shows one of the record's system columns; nothing is stored for the field itself.

    ``source`` names the column (``created_at`` ...): pages and exports read
    ``record[widget.source]``.
    """

    group = "system"
    storage = "none"
    computed = True
    macro = "system"
    source: str = ""
    config_schema = config_schema({}, examples=[{}], description="A system field (read-only).")

    def json_schema(self):
        return {"readOnly": True}


class _SystemTime(_SystemWidget):
    value_kind = "datetime"
    icon = "clock"

    def __init__(self, config=None):
        super().__init__(config)
        self._dt = DatetimeWidget({})

    def to_python(self, raw):
        return self._dt.to_python(raw)

    def export_value(self, value):
        return self._dt.export_value(value)

    def random_value(self, rng: random.Random):
        return self._dt.random_value(rng)


class _SystemUser(_SystemWidget):
    value_kind = "user"
    icon = "user"

    def __init__(self, config=None):
        super().__init__(config)
        self._user = _user_widget()

    def to_python(self, raw):
        return self._user.to_python(raw)

    def random_value(self, rng: random.Random):
        return rng.randint(1, 50)


def _user_widget():
    from .people import UserWidget
    return UserWidget({})


class CreatedAtWidget(_SystemTime):
    type = "created_at"
    source = "created_at"
    label = {"zh-CN": "创建时间", "en": "Created at"}


class UpdatedAtWidget(_SystemTime):
    type = "updated_at"
    source = "updated_at"
    label = {"zh-CN": "更新时间", "en": "Updated at"}


class CreatedByWidget(_SystemUser):
    type = "created_by"
    source = "created_by"
    label = {"zh-CN": "创建人", "en": "Created by"}


class UpdatedByWidget(_SystemUser):
    type = "updated_by"
    source = "updated_by"
    label = {"zh-CN": "更新人", "en": "Updated by"}
