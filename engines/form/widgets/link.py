"""Link to a record of another form (single: a foreign key column; multiple: a child table)."""
from __future__ import annotations

import random
from typing import Mapping

import sqlalchemy as sa

from ..widget import Widget
from ._common import config_schema


class LinkWidget(Widget):
    """A record of the form ``config.form``, by id. ``display_field`` names the target field shown
    for it; ``searchable`` lets the picker search the target's text fields."""

    type = "link"
    label = {"zh-CN": "关联记录", "en": "Link to record"}
    icon = "link"
    group = "relation"
    value_kind = "link"
    macro = "link"
    config_schema = config_schema({
        "form": {"type": "string", "minLength": 1, "description": "Key of the linked form."},
        "multiple": {"type": "boolean", "default": False, "description": "Several linked records."},
        "display_field": {"type": "string", "minLength": 1,
                          "description": "Field of the linked form shown for a record (default: its title_field)."},
        "searchable": {"type": "boolean", "default": True,
                       "description": "The picker searches the linked form instead of listing every record."},
        "search_fields": {"type": "array", "items": {"type": "string"},
                          "description": "Fields of the linked form the picker searches (default: its text fields)."},
        "filter": {"type": "array", "items": {"type": "object"},
                   "description": "Record-list filters limiting the records offered."},
    }, required=["form"], examples=[{"form": "customer", "display_field": "name", "searchable": True}],
        description="A link to records of another form.")

    def __init__(self, config=None):
        super().__init__(config)
        self.storage = "multi" if self.config.get("multiple") else "column"

    @property
    def target(self) -> str:
        return self.config["form"]

    @property
    def display_field(self) -> str | None:
        return self.config.get("display_field")

    @property
    def searchable(self) -> bool:
        return bool(self.config.get("searchable", True))

    def sa_type(self):
        return sa.BigInteger()

    def _one(self, raw):
        if isinstance(raw, Mapping):
            raw = raw.get("id")
        if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
            raw = None
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise self.error("form.invalid_link", "choose a record by its id / 请选择关联记录") from None
        if not 0 < value < 2 ** 63:
            raise self.error("form.invalid_link", "choose a record by its id / 请选择关联记录")
        return value

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return [] if self.storage == "multi" else None
        if self.storage == "multi":
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            return list(dict.fromkeys(self._one(x) for x in items))
        return self._one(raw)

    def compile_clean(self):
        if not self._stock(LinkWidget):
            return self.clean
        if self.storage == "multi":
            return self.clean
        slow = self.clean

        def fast(raw):
            if type(raw) is int and 0 < raw < 2 ** 63:
                return raw
            return slow(raw)
        return fast

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
        """Ids only make sense against real target records; demo data should pick from those."""
        if self.storage == "multi":
            return rng.sample(range(1, 100), rng.randint(1, 3))
        return rng.randint(1, 100)
