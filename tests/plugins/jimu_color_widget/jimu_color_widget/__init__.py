"""A colour widget for Jimu: values are ``#rrggbb`` (``#RGB`` and CSS names are accepted)."""
from __future__ import annotations

import random
import re

import sqlalchemy as sa

from engines.form import Widget

NAMES = {"red": "#ff0000", "green": "#008000", "blue": "#0000ff", "black": "#000000", "white": "#ffffff",
         "红": "#ff0000", "绿": "#008000", "蓝": "#0000ff", "黑": "#000000", "白": "#ffffff"}
HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class ColorWidget(Widget):
    type = "color"
    label = {"zh-CN": "颜色", "en": "Colour"}
    icon = "palette"
    group = "basic"
    macro = "text"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"palette": {"type": "array", "items": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
                                   "description": "If given, only these colours are allowed."}},
        "additionalProperties": False,
        "examples": [{}, {"palette": ["#ff0000", "#00ff00"]}],
    }

    def sa_type(self):
        return sa.String(7)

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise self.error("color.invalid", "enter a colour such as #1e90ff / 请输入颜色，如 #1e90ff")
        text = raw.strip().lower()
        text = NAMES.get(text, text)
        m = HEX.fullmatch(text)
        if not m:
            raise self.error("color.invalid", "enter a colour such as #1e90ff / 请输入颜色，如 #1e90ff")
        digits = m[1].lower()
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return "#" + digits

    def validate(self, value):
        palette = self.config.get("palette")
        if palette and value not in palette:
            raise self.error("color.not_in_palette", "choose one of the palette's colours / 请选择调色板中的颜色",
                             palette=palette)

    def json_schema(self):
        return {"type": ["string", "null"], "pattern": "^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$"}

    def random_value(self, rng: random.Random):
        palette = self.config.get("palette")
        return rng.choice(palette) if palette else "#%06x" % rng.randrange(1 << 24)
