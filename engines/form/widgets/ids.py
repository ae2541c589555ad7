"""The shared base of every widget whose value is an id (or, with ``multiple``, a list of ids):
links to records, users and groups. They read, check, import and export ids the same way; only the
id's range, its SQL type and the noun in the error differ."""
from __future__ import annotations

import random
from typing import Any, Mapping

import sqlalchemy as sa

from ..widget import Widget, coerce_from


class IdWidget(Widget):
    """Positive whole ids. A single id is one column; ``multiple`` stores a list in a child table.

    Subclasses set ``id_limit`` (exclusive upper bound, the column's range), ``noun`` (en, zh-CN)
    for the error message and ``random_top`` for demo values."""

    id_limit = 2 ** 31
    noun = ("record", "记录")
    random_top = 50

    def __init__(self, config=None):
        super().__init__(config)
        self.storage = "multi" if self.config.get("multiple") else "column"

    def sa_type(self):
        return sa.BigInteger() if self.id_limit > 2 ** 31 else sa.Integer()

    def _invalid(self) -> tuple[str, str]:
        en, zh = self.noun
        return f"form.invalid_{self.type}", f"choose a {en} by id / 请选择{zh}"

    def _one(self, raw: Any) -> int:
        if isinstance(raw, Mapping):
            raw = raw.get("id")
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw < self.id_limit:
            raise self.error(*self._invalid())
        return raw

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return [] if self.storage == "multi" else None
        if self.storage == "multi":
            items = raw if isinstance(raw, (list, tuple)) else [raw]
            return list(dict.fromkeys(self._one(x) for x in items))
        return self._one(raw)

    def compile_clean(self):
        if self.storage == "multi" or not self._stock(IdWidget):
            return self.clean
        slow, top = self.clean, self.id_limit

        def fast(raw):
            if type(raw) is int and 0 < raw < top:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if self.storage == "multi" or not self._stock(IdWidget, "compile_clean"):
            return super().compile_coerce()
        slow, top = coerce_from(self.clean), self.id_limit
        invalid = self.shared_error(*self._invalid())

        def coerce(raw):
            if type(raw) is int:
                return raw if 0 < raw < top else invalid
            return slow(raw)
        return coerce

    def inline_accept(self):
        if self.storage == "multi" or not self._stock(IdWidget, "compile_clean", "compile_coerce"):
            return None
        return "type({raw}) is int and 0 < {raw} < {top}", "{raw}", {"top": self.id_limit}

    def value_from_formdata(self, formdata, files, key):
        if self.storage == "multi" and hasattr(formdata, "getlist"):
            return [v for v in formdata.getlist(key) if v != ""]
        return formdata.get(key)

    def import_cell(self, text):
        if self.storage == "multi" and text and text[:1] != "[":
            return [p.strip() for p in text.split(",") if p.strip()]
        return super().import_cell(text)

    def json_schema(self):
        # an id, or the object ``expand`` gives for it (only its id is read), so a record read with
        # ``expand`` can be sent back as it came
        one = {"type": ["integer", "object"], "exclusiveMinimum": 0, "exclusiveMaximum": self.id_limit,
               "required": ["id"], "properties": {"id": {"type": "integer", "exclusiveMinimum": 0,
                                                         "exclusiveMaximum": self.id_limit}}}
        if self.storage == "multi":
            # an id sent twice is kept once (to_python), so repeats are not refused
            return {"type": "array", "items": one}
        return {**one, "type": ["integer", "object", "null"]}

    def random_value(self, rng: random.Random):
        """Ids only make sense against real rows; demo data picks from those where it can."""
        if self.storage == "multi":
            return rng.sample(range(1, self.random_top), rng.randint(1, 3))
        return rng.randint(1, self.random_top)
