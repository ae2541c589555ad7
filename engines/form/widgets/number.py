"""Number (integer or decimal)."""
from __future__ import annotations

import random
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from ..widget import Widget


class NumberWidget(Widget):
    type = "number"
    label = {"zh-CN": "数字", "en": "Number"}
    icon = "hash"
    group = "basic"
    value_kind = "number"
    macro = "number"
    config_schema = {"type": "object", "properties": {"decimals": {"type": "integer", "minimum": 0, "maximum": 10}},
                     "additionalProperties": True}

    def sa_type(self):
        return sa.Integer() if self.config.get("decimals", 0) == 0 and self.config.get("integer") else sa.Float()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            raise self.error("form.invalid_number", "enter a number")
        if isinstance(raw, (int, float)):
            return raw
        try:
            d = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise self.error("form.invalid_number", "enter a number") from None
        if not d.is_finite():
            raise self.error("form.invalid_number", "enter a finite number")
        return int(d) if d == d.to_integral_value() and "." not in str(raw) else float(d)

    def json_schema(self):
        return {"type": ["number", "string", "null"]}

    def random_value(self, rng: random.Random):
        return rng.randint(0, 1000)
