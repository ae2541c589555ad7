"""Text widgets: single-line text, multi-line text and sanitised rich text."""
from __future__ import annotations

import random

import nh3
import sqlalchemy as sa

from ..widget import Widget, coerce_from
from ._common import config_schema

_TEXT_PROPS = {
    "max_length": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                   "description": "Most characters accepted (the column is sized from it up to 4000)."},
    "min_length": {"type": "integer", "minimum": 0, "description": "Fewest characters when a value is given."},
}


class TextWidget(Widget):
    """Single-line text: surrounding blanks are trimmed; line breaks are refused."""

    type = "text"
    label = {"zh-CN": "单行文本", "en": "Single-line text"}
    icon = "text"
    group = "basic"
    macro = "text"
    orderable_text = True
    multiline = False
    config_schema = config_schema(_TEXT_PROPS, examples=[{"max_length": 100}],
                                  description="Single-line text.")

    def sa_type(self):
        n = self.config.get("max_length")
        return sa.String(n) if n and n <= 4000 else sa.Text()

    def to_python(self, raw):
        if raw is None:
            return None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise self.error("form.invalid_text", "enter text / 请输入文本")
        return raw.strip()

    def validate(self, value):
        if not self.multiline and ("\n" in value or "\r" in value):
            raise self.error("form.multiline_text", "enter a single line / 请输入单行文本")
        n = self.config.get("max_length")
        if n and len(value) > n:
            raise self.error("form.too_long", f"at most {n} characters / 最多 {n} 个字符", max_length=n)
        m = self.config.get("min_length")
        if m and len(value) < m:
            raise self.error("form.too_short", f"at least {m} characters / 至少 {m} 个字符", min_length=m)

    def compile_clean(self):
        if not (self._stock(TextWidget) or self._stock(TextareaWidget)):
            return self.clean
        slow, multiline = self.clean, self.multiline
        lo, hi = self.config.get("min_length") or 1, self.config.get("max_length") or 1 << 62

        def fast(raw):
            if type(raw) is str:
                v = raw.strip()
                if lo <= len(v) <= hi and "\r" not in v and (multiline or "\n" not in v):
                    return v
            return slow(raw)
        return fast

    def compile_coerce(self):
        if not (self._stock(TextWidget, "compile_clean") or self._stock(TextareaWidget, "compile_clean")):
            return super().compile_coerce()
        slow = coerce_from(self.clean)
        multiline = self.multiline
        n, m = self.config.get("max_length"), self.config.get("min_length")
        hi, lo = n or 1 << 62, m or 0
        too_long = self.shared_error("form.too_long", f"at most {n} characters / 最多 {n} 个字符", max_length=n)
        too_short = self.shared_error("form.too_short", f"at least {m} characters / 至少 {m} 个字符", min_length=m)
        single = self.shared_error("form.multiline_text", "enter a single line / 请输入单行文本")

        def coerce(raw):
            if type(raw) is str:
                v = raw.strip()
                if not v:
                    return v
                if "\r" in v:
                    return slow(raw)
                if "\n" in v and not multiline:
                    return single
                size = len(v)
                if size > hi:
                    return too_long
                if size < lo:
                    return too_short
                return v
            return slow(raw)
        return coerce

    def inline_accept(self):
        if not (self._stock(TextWidget, "compile_clean", "compile_coerce")
                or self._stock(TextareaWidget, "compile_clean", "compile_coerce")):
            return None
        lines = "" if self.multiline else ' and "\\n" not in {tmp}'
        return ('type({raw}) is str and {lo} <= len({tmp} := {raw}.strip()) <= {hi} and "\\r" not in {tmp}' + lines,
                "{tmp}", {"lo": self.config.get("min_length") or 1, "hi": self.config.get("max_length") or 1 << 62})

    def json_schema(self):
        out = {"type": ["string", "null"]}
        if not self.multiline:  # one line: ``to_python`` refuses line breaks
            out["pattern"] = r"^[^\r\n]*$"
        if self.config.get("max_length"):
            out["maxLength"] = self.config["max_length"]
        return out

    def random_value(self, rng: random.Random):
        n = min(self.config.get("max_length") or 12, 12)
        lo = min(max(self.config.get("min_length") or 2, 2), n)
        return "".join(rng.choice("积木表单流程规则报表abcdef") for _ in range(rng.randint(lo, n)))


class TextareaWidget(TextWidget):
    """Multi-line text; line breaks are kept (normalised to ``\\n``)."""

    type = "textarea"
    label = {"zh-CN": "多行文本", "en": "Multi-line text"}
    icon = "align-left"
    macro = "textarea"
    multiline = True
    orderable_text = False
    config_schema = config_schema({**_TEXT_PROPS,
                                   "rows": {"type": "integer", "minimum": 1, "maximum": 50, "default": 4,
                                            "description": "Visible rows of the input."},
                                   "insert_from": {
                                       "type": "array", "maxItems": 5,
                                       "description": "Records whose text a person may insert into this field "
                                                      "(knowledge articles, canned replies): the form shows a "
                                                      "search beside the input; only records the person may "
                                                      "read are offered.",
                                       "items": {"type": "object", "required": ["form", "title_field", "text_field"],
                                                 "additionalProperties": False, "properties": {
                                                     "form": {"type": "string", "description": "The form offered."},
                                                     "title_field": {"type": "string",
                                                                     "description": "Field shown in the list."},
                                                     "text_field": {"type": "string",
                                                                    "description": "Field whose text is inserted."},
                                                     "filter": {"type": "array", "description":
                                                                "List filter of the offered records (e.g. only "
                                                                "published articles), as in views."},
                                                     "label": {"description": "What the picker is called."}}}}},
                                  examples=[{"rows": 4, "max_length": 2000}], description="Multi-line text.")

    def sa_type(self):
        return sa.Text()

    def to_python(self, raw):
        value = super().to_python(raw)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value

    def random_value(self, rng: random.Random):
        return "\n".join(super(TextareaWidget, self).random_value(rng) for _ in range(rng.randint(1, 3)))


#: tags and attributes kept by the rich-text sanitiser; everything else is removed (never escaped back)
RICH_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "del", "sub", "sup", "h1", "h2", "h3", "h4",
             "ul", "ol", "li", "blockquote", "pre", "code", "a", "img", "table", "thead", "tbody", "tr",
             "th", "td", "hr", "span"}
RICH_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
                   "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


class RichtextWidget(TextWidget):
    """Rich text (HTML) sanitised with nh3 on every write: scripts, handlers and ``javascript:`` go."""

    type = "richtext"
    label = {"zh-CN": "富文本", "en": "Rich text"}
    icon = "file-text"
    macro = "richtext"
    multiline = True
    orderable_text = False
    config_schema = config_schema({
        "max_length": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                       "description": "Most characters of HTML after sanitising."},
        "allow_images": {"type": "boolean", "default": True, "description": "Keep <img> tags (http/https only)."},
    }, examples=[{"max_length": 20000}], description="Sanitised HTML.")

    def sa_type(self):
        return sa.Text()

    def to_python(self, raw):
        value = super().to_python(raw)
        if not value:
            return value
        tags = set(RICH_TAGS)
        if self.config.get("allow_images") is False:
            tags.discard("img")
        cleaned = nh3.clean(value, tags=tags, attributes=RICH_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer").strip()
        return cleaned

    def validate(self, value):
        n = self.config.get("max_length")
        if n and len(value) > n:
            raise self.error("form.too_long", f"at most {n} characters / 最多 {n} 个字符", max_length=n)

    def random_value(self, rng: random.Random):
        words = ["积木", "表单", "<b>流程</b>", "规则", "<em>报表</em>", "data"]
        return "<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) + "</p>"
