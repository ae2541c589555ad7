"""Single-line text."""
from __future__ import annotations

import random

import sqlalchemy as sa

from ..widget import Widget


class TextWidget(Widget):
    type = "text"
    label = {"zh-CN": "单行文本", "en": "Single-line text"}
    icon = "text"
    group = "basic"
    macro = "text"
    config_schema = {"type": "object", "properties": {"max_length": {"type": "integer", "minimum": 1}},
                     "additionalProperties": True}

    def sa_type(self):
        n = self.config.get("max_length")
        return sa.String(n) if n and n <= 4000 else sa.Text()

    def to_python(self, raw):
        if raw is None:
            return None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise self.error("form.invalid_text", "enter text")
        return raw.strip()

    def json_schema(self):
        return {"type": ["string", "null"], **({"maxLength": self.config["max_length"]} if self.config.get("max_length") else {})}

    def random_value(self, rng: random.Random):
        return "".join(rng.choice("积木表单流程规则报表abcdef") for _ in range(rng.randint(2, 12)))
