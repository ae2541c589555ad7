"""Sub-table: rows with their own fields, stored in a child table."""
from __future__ import annotations

import random

from ..widget import Widget


class SubtableWidget(Widget):
    type = "subtable"
    label = {"zh-CN": "子表单", "en": "Sub-table"}
    icon = "table"
    group = "relation"
    storage = "children"
    value_kind = "json"
    macro = "subtable"
    config_schema = {"type": "object", "required": ["fields"],
                     "properties": {"fields": {"type": "array", "items": {"type": "object"}},
                                    "max_rows": {"type": "integer", "minimum": 1}},
                     "additionalProperties": True}

    def to_python(self, raw):
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise self.error("form.invalid_rows", "send the sub-table as a list of row objects")
        limit = self.config.get("max_rows", 1000)
        if len(raw) > limit:
            raise self.error("form.too_many_rows", f"at most {limit} rows", max_rows=limit)
        return raw

    def random_value(self, rng: random.Random):
        return []
