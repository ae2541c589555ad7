"""Choice widgets: dropdown, radio buttons, checkboxes (several values) and switch (yes/no)."""
from __future__ import annotations

import random
from typing import Any, Mapping

import sqlalchemy as sa

from ..spec import label_text
from ..widget import Widget, coerce_from, shared
from ._common import OPTIONS_SCHEMA, config_schema, normalize_options

_EXAMPLE_OPTIONS = [{"value": "high", "label": {"zh-CN": "高", "en": "High"}},
                    {"value": "medium", "label": {"zh-CN": "中", "en": "Medium"}},
                    {"value": "low", "label": {"zh-CN": "低", "en": "Low"}}]


class _Options:
    """Options bound once per field: value lookup, and labels (any language) mapped to values."""

    def __init__(self, options: Any):
        self.options = normalize_options(options)
        self.values = [o["value"] for o in self.options]
        self.by_value = {o["value"]: o for o in self.options}
        self.by_label: dict[str, str] = {}
        for o in self.options:
            label = o["label"]
            for text in (label.values() if isinstance(label, Mapping) else [label]):
                self.by_label.setdefault(str(text), o["value"])

    def lookup(self, raw: Any) -> str | None:
        if isinstance(raw, Mapping):
            raw = raw.get("value")
        if isinstance(raw, bool) or raw is None:
            return None
        if isinstance(raw, (int, float)):
            raw = str(raw)
        if not isinstance(raw, str):
            return None
        raw = raw.strip()
        if raw in self.by_value:
            return raw
        return self.by_label.get(raw)

    def lookup_text(self, raw: str) -> str | None:
        """``lookup`` of a ``str``, without the type tests."""
        raw = raw.strip()
        return raw if raw in self.by_value else self.by_label.get(raw)

    def label(self, value: str, lang: str = "zh-CN") -> str:
        o = self.by_value.get(value)
        return label_text(o["label"], lang, value) if o else value


class SelectWidget(Widget):
    """One value from a fixed list of options (a dropdown). An option's label is accepted for its value."""

    type = "select"
    label = {"zh-CN": "下拉选择", "en": "Dropdown"}
    icon = "chevron-down"
    group = "choice"
    value_kind = "choice"
    macro = "select"
    config_schema = config_schema({"options": OPTIONS_SCHEMA}, required=["options"],
                                  examples=[{"options": _EXAMPLE_OPTIONS}], description="One of a list of options.")

    def __init__(self, config=None):
        super().__init__(config)
        self.choices = _Options(self.config.get("options"))

    def sa_type(self):
        n = max((len(v) for v in self.choices.values), default=1)
        return sa.String(max(n, 64)) if n <= 255 else sa.Text()

    def _invalid(self):
        shown = ", ".join(self.choices.values[:10])
        return self.error("form.invalid_choice", f"choose one of: {shown} / 请从选项中选择", options=self.choices.values)

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        value = self.choices.lookup(raw)
        if value is None:
            raise self._invalid()
        return value

    def compile_clean(self):
        if not self._stock(SelectWidget):
            return self.clean
        slow = self.clean
        exact = frozenset(v for v in self.choices.values if v == v.strip())

        def fast(raw):
            if type(raw) is str and raw in exact:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(SelectWidget, "compile_clean"):
            return super().compile_coerce()
        slow, lookup, invalid = coerce_from(self.clean), self.choices.lookup_text, shared(self._invalid())
        exact = frozenset(v for v in self.choices.values if v == v.strip())

        def coerce(raw):
            if type(raw) is str:
                if raw in exact:
                    return raw
                if raw:
                    value = lookup(raw)
                    return invalid if value is None else value
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not self._stock(SelectWidget, "compile_clean", "compile_coerce"):
            return None
        return ("type({raw}) is str and {raw} in {exact}", "{raw}",
                {"exact": frozenset(v for v in self.choices.values if v == v.strip())})

    def json_schema(self):
        return {"enum": [*self.choices.values, None]}

    def random_value(self, rng: random.Random):
        return rng.choice(self.choices.values)


class RadioWidget(SelectWidget):
    """One value from a short list of options, shown as radio buttons."""

    type = "radio"
    label = {"zh-CN": "单选", "en": "Radio buttons"}
    icon = "circle-dot"
    macro = "radio"
    config_schema = config_schema({
        "options": OPTIONS_SCHEMA,
        "inline": {"type": "boolean", "default": True, "description": "Lay the buttons out in one row."},
    }, required=["options"], examples=[{"options": ["官网", "微信", "电话", "邮件", "API"]}],
        description="One of a few options, as radio buttons.")


class CheckboxesWidget(SelectWidget):
    """Several values from a list of options, kept in a child table (``multi`` storage)."""

    type = "checkboxes"
    label = {"zh-CN": "多选", "en": "Checkboxes"}
    icon = "check-square"
    storage = "multi"
    macro = "checkboxes"
    config_schema = config_schema({
        "options": OPTIONS_SCHEMA,
        "min_selected": {"type": "integer", "minimum": 0, "description": "Fewest options to tick when any."},
        "max_selected": {"type": "integer", "minimum": 1, "description": "Most options to tick."},
    }, required=["options"], examples=[{"options": _EXAMPLE_OPTIONS, "max_selected": 2}],
        description="Several of a list of options.")

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return []
        items = raw if isinstance(raw, (list, tuple)) else [raw]
        out = []
        for item in items:
            value = self.choices.lookup(item)
            if value is None:
                raise self._invalid()
            if value not in out:
                out.append(value)
        return out

    def validate(self, value):
        lo, hi = self.config.get("min_selected"), self.config.get("max_selected")
        if lo and len(value) < lo:
            raise self.error("form.too_few_choices", f"choose at least {lo} / 至少选择 {lo} 项", min_selected=lo)
        if hi and len(value) > hi:
            raise self.error("form.too_many_choices", f"choose at most {hi} / 最多选择 {hi} 项", max_selected=hi)

    def compile_clean(self):
        if not self._stock(CheckboxesWidget):
            return self.clean
        slow = self.clean
        exact = frozenset(v for v in self.choices.values if v == v.strip())
        lo, hi = self.config.get("min_selected") or 1, self.config.get("max_selected") or len(exact) or 1

        def fast(raw):
            if type(raw) is list and lo <= len(raw) <= hi:
                for x in raw:
                    if type(x) is not str or x not in exact:
                        return slow(raw)
                if len(set(raw)) == len(raw):
                    return list(raw)
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(CheckboxesWidget, "compile_clean"):
            return super().compile_coerce()
        slow, lookup, invalid = coerce_from(self.clean), self.choices.lookup, shared(self._invalid())
        text = self.choices.lookup_text
        exact = frozenset(v for v in self.choices.values if v == v.strip())
        lo, hi = self.config.get("min_selected"), self.config.get("max_selected")
        too_few = self.shared_error("form.too_few_choices", f"choose at least {lo} / 至少选择 {lo} 项", min_selected=lo)
        too_many = self.shared_error("form.too_many_choices", f"choose at most {hi} / 最多选择 {hi} 项", max_selected=hi)

        def coerce(raw):
            if type(raw) is not list:
                return slow(raw)
            out = []
            for item in raw:
                if type(item) is str:
                    if item not in exact:
                        item = text(item)
                else:
                    item = lookup(item)
                if item is None:
                    return invalid
                if item not in out:
                    out.append(item)
            if out:
                if lo and len(out) < lo:
                    return too_few
                if hi and len(out) > hi:
                    return too_many
            return out
        return coerce

    def inline_accept(self):
        if not self._stock(CheckboxesWidget, "compile_clean", "compile_coerce"):
            return None
        lo, hi = self.config.get("min_selected"), self.config.get("max_selected")
        # nothing ticked, or one exact option when one is allowed
        return ("type({raw}) is list and (not {raw} or {one} and len({raw}) == 1"
                " and type({raw}[0]) is str and {raw}[0] in {exact})", "list({raw})",
                {"one": (not lo or lo <= 1) and (not hi or hi >= 1),
                 "exact": frozenset(v for v in self.choices.values if v == v.strip())})

    def value_from_formdata(self, formdata, files, key):
        getlist = getattr(formdata, "getlist", None)
        values = getlist(key) if getlist else formdata.get(key)
        return [v for v in values if v != ""] if isinstance(values, list) else values

    def import_cell(self, text):
        if text and text[:1] != "[":
            return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        return super().import_cell(text)

    def json_schema(self):
        # a choice sent twice is kept once (to_python), so repeats are not refused
        out: dict[str, Any] = {"type": "array", "items": {"enum": self.choices.values}}
        if self.config.get("max_selected"):
            out["maxItems"] = self.config["max_selected"]
        return out

    def random_value(self, rng: random.Random):
        hi = min(self.config.get("max_selected") or len(self.choices.values), len(self.choices.values))
        lo = min(max(self.config.get("min_selected") or 1, 1), hi)
        return rng.sample(self.choices.values, rng.randint(lo, hi))


_TRUE = frozenset(("true", "1", "on", "yes", "y", "t", "是", "开", "✓"))
_FALSE = frozenset(("false", "0", "off", "no", "n", "f", "否", "关", "✗"))


class SwitchWidget(Widget):
    """Yes or no. ``false`` is a value, not an empty field."""

    type = "switch"
    label = {"zh-CN": "开关", "en": "Switch"}
    icon = "toggle"
    group = "choice"
    value_kind = "bool"
    macro = "switch"
    config_schema = config_schema({
        "on_label": {"description": "Label of the on state.", "oneOf": [{"type": "string"}, {"type": "object"}]},
        "off_label": {"description": "Label of the off state.", "oneOf": [{"type": "string"}, {"type": "object"}]},
    }, examples=[{"on_label": {"zh-CN": "是", "en": "Yes"}, "off_label": {"zh-CN": "否", "en": "No"}}],
        description="A yes/no switch.")

    def sa_type(self):
        return sa.Boolean()

    def to_python(self, raw):
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise self.error("form.invalid_bool", "choose yes or no / 请选择是或否")

    def compile_clean(self):
        if not self._stock(SwitchWidget):
            return self.clean
        slow = self.clean

        def fast(raw):
            if raw is True or raw is False:
                return raw
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not self._stock(SwitchWidget, "compile_clean"):
            return super().compile_coerce()
        slow = coerce_from(self.clean)
        invalid = self.shared_error("form.invalid_bool", "choose yes or no / 请选择是或否")

        def coerce(raw):
            if raw is True or raw is False:
                return raw
            if type(raw) is str and raw:
                text = raw.strip().lower()
                return True if text in _TRUE else False if text in _FALSE else invalid
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not self._stock(SwitchWidget, "compile_clean", "compile_coerce"):
            return None
        return "{raw} is True or {raw} is False", "{raw}", {}

    def value_from_formdata(self, formdata, files, key):
        """The macro posts a hidden ``false`` before the checkbox, so an unticked box still says no."""
        getlist = getattr(formdata, "getlist", None)
        values = getlist(key) if getlist else [formdata.get(key)]
        values = [v for v in values if v is not None]
        return values[-1] if values else None

    def json_schema(self):
        return {"type": ["boolean", "null"]}

    def random_value(self, rng: random.Random):
        return rng.random() < 0.5
