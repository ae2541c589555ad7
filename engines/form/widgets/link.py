"""Link to a record of another form (single: a foreign key column; multiple: a child table)."""
from __future__ import annotations

import random

import sqlalchemy as sa

from ..widget import Widget


class LinkWidget(Widget):
    type = "link"
    label = {"zh-CN": "关联记录", "en": "Link to record"}
    icon = "link"
    group = "relation"
    value_kind = "link"
    macro = "link"
    config_schema = {"type": "object", "required": ["form"],
                     "properties": {"form": {"type": "string", "description": "target form key"},
                                    "multiple": {"type": "boolean", "default": False}},
                     "additionalProperties": True}

    def __init__(self, config=None):
        super().__init__(config)
        self.storage = "multi" if self.config.get("multiple") else "column"

    @property
    def target(self) -> str:
        return self.config["form"]

    def sa_type(self):
        return sa.BigInteger()

    def _one(self, raw):
        if isinstance(raw, dict):
            raw = raw.get("id")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise self.error("form.invalid_link", "choose a record by its id") from None
        if value <= 0:
            raise self.error("form.invalid_link", "choose a record by its id")
        return value

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return [] if self.storage == "multi" else None
        if self.storage == "multi":
            items = raw if isinstance(raw, list) else [raw]
            return list(dict.fromkeys(self._one(x) for x in items))
        return self._one(raw)

    def json_schema(self):
        return {"type": "array", "items": {"type": "integer", "minimum": 1}} if self.storage == "multi" else {"type": ["integer", "null"], "minimum": 1}

    def random_value(self, rng: random.Random):
        return [] if self.storage == "multi" else None
