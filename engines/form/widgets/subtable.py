"""Sub-table: rows with their own fields, stored in a child table."""
from __future__ import annotations

import random

from ..widget import Widget
from ._common import config_schema


class SubtableWidget(Widget):
    """A list of rows; each row is cleaned by the nested form of ``config.fields`` (``FieldSpec.children``)."""

    type = "subtable"
    label = {"zh-CN": "子表单", "en": "Sub-table"}
    icon = "table"
    group = "relation"
    storage = "children"
    value_kind = "json"
    macro = "subtable"
    config_schema = config_schema({
        "fields": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["key", "widget"]},
                   "description": "The fields of each row (field definitions)."},
        "max_rows": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000,
                     "description": "Most rows accepted."},
        "min_rows": {"type": "integer", "minimum": 0, "description": "Fewest rows when any are given."},
    }, required=["fields"], examples=[{"fields": [
        {"key": "item", "label": {"zh-CN": "品名", "en": "Item"}, "widget": "text", "required": True},
        {"key": "qty", "label": {"zh-CN": "数量", "en": "Qty"}, "widget": "number", "config": {"integer": True}}]}],
        description="Rows with their own fields.")

    def to_python(self, raw):
        if raw is None or raw == "":
            return []
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise self.error("form.invalid_rows", "send the sub-table as a list of row objects / 子表单应为行对象列表")
        limit = self.config.get("max_rows", 1000)
        if len(raw) > limit:
            raise self.error("form.too_many_rows", f"at most {limit} rows / 最多 {limit} 行", max_rows=limit)
        return raw

    def validate(self, value):
        lo = self.config.get("min_rows")
        if lo and len(value) < lo:
            raise self.error("form.too_few_rows", f"at least {lo} rows / 至少 {lo} 行", min_rows=lo)

    def json_schema(self):
        return {"type": "array", "items": {"type": "object"}, "maxItems": self.config.get("max_rows", 1000)}

    def random_value(self, rng: random.Random):
        """Rows of random values from each row field's own widget."""
        from .. import WIDGETS
        rows = []
        for _ in range(rng.randint(max(1, self.config.get("min_rows") or 1), 3)):
            row = {}
            for fdef in self.config.get("fields", []):
                widget = WIDGETS.get(fdef["widget"])(fdef.get("config") or {})
                if widget.computed or widget.storage in ("none", "children") or fdef.get("formula"):
                    continue
                row[fdef["key"]] = widget.export_value(widget.random_value(rng))
            rows.append(row)
        return rows
