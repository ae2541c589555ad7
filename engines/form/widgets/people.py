"""User and group pickers: ids of platform users or groups; several with ``multiple``."""
from __future__ import annotations

import random
from typing import Any, Mapping

import sqlalchemy as sa

from ..widget import Widget, coerce_from
from ._common import config_schema


class UserWidget(Widget):
    """A platform user by id (``multiple``: several, in a child table).

    The widget checks the shape (positive whole ids); the runtime owns the
    users table and may check that they exist.
    """

    type = "user"
    label = {"zh-CN": "成员", "en": "User"}
    icon = "user"
    group = "relation"
    value_kind = "user"
    macro = "user"
    noun = ("user", "成员")
    config_schema = config_schema({
        "multiple": {"type": "boolean", "default": False, "description": "Several users."},
        "default_current_user": {"type": "boolean", "default": False,
                                 "description": "The builder offers current_user_id as the default."},
        "roles": {"type": "array", "items": {"type": "string"},
                  "description": "Only offer users with one of these roles in the picker."},
    }, examples=[{"multiple": False}, {"multiple": True}], description="A platform user.")

    def __init__(self, config=None):
        super().__init__(config)
        self.storage = "multi" if self.config.get("multiple") else "column"

    def sa_type(self):
        return sa.Integer()

    def _one(self, raw: Any) -> int:
        if isinstance(raw, Mapping):
            raw = raw.get("id")
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw < 2 ** 31:
            en, zh = self.noun
            raise self.error(f"form.invalid_{self.type}", f"choose a {en} by id / 请选择{zh}")
        return raw

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return [] if self.storage == "multi" else None
        if self.storage == "multi":
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            return list(dict.fromkeys(self._one(x) for x in items))
        return self._one(raw)

    def compile_clean(self):
        if not self._stock(UserWidget):
            return self.clean
        if self.storage == "multi":
            return self.clean
        slow = self.clean

        def fast(raw):
            if type(raw) is int and 0 < raw < 2 ** 31:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if self.storage == "multi" or not self._stock(UserWidget, "compile_clean"):
            return super().compile_coerce()
        slow = coerce_from(self.clean)
        en, zh = self.noun
        invalid = self.shared_error(f"form.invalid_{self.type}", f"choose a {en} by id / 请选择{zh}")

        def coerce(raw):
            if type(raw) is int:
                return raw if 0 < raw < 2 ** 31 else invalid
            return slow(raw)
        return coerce

    def inline_accept(self):
        if self.storage == "multi" or not self._stock(UserWidget, "compile_clean", "compile_coerce"):
            return None
        return "type({raw}) is int and 0 < {raw} < {top}", "{raw}", {"top": 2 ** 31}

    def value_from_formdata(self, formdata, files, key):
        if self.storage == "multi" and hasattr(formdata, "getlist"):
            return [v for v in formdata.getlist(key) if v != ""]
        return formdata.get(key)

    def import_cell(self, text):
        if self.storage == "multi" and text and text[:1] != "[":
            return [p.strip() for p in text.split(",") if p.strip()]
        return super().import_cell(text)

    def json_schema(self):
        if self.storage == "multi":
            return {"type": "array", "items": {"type": "integer", "minimum": 1}, "uniqueItems": True}
        return {"type": ["integer", "null"], "minimum": 1}

    def random_value(self, rng: random.Random):
        if self.storage == "multi":
            return rng.sample(range(1, 50), rng.randint(1, 3))
        return rng.randint(1, 50)


class GroupWidget(UserWidget):
    """A platform group (team) by id."""

    type = "group"
    label = {"zh-CN": "部门/组", "en": "Group"}
    icon = "users"
    value_kind = "group"
    macro = "group"
    noun = ("group", "部门/组")
    config_schema = config_schema({
        "multiple": {"type": "boolean", "default": False, "description": "Several groups."},
    }, examples=[{"multiple": False}, {"multiple": True}], description="A platform group.")
