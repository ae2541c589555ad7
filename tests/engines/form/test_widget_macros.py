"""runtime/templates/widgets.html: one accessible control per widget macro."""
from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from engines.form import WIDGETS, compile_form

TEMPLATES = Path(__file__).resolve().parents[3] / "runtime" / "templates"
BUILT_INS = [t for t in WIDGETS.types() if WIDGETS.get(t).__module__.startswith("engines.")]


@pytest.fixture(scope="module")
def macros():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    env.globals["chosen_names"] = lambda f, value: []   # the runtime's names of chosen ids (runtime/ui/records.py)
    from runtime.i18n import in_language
    env.filters["in_language"] = in_language             # the runtime's one-language filter (runtime/i18n.py)
    return env.get_template("widgets.html").module


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict]]:
    p = Elements()
    p.feed(html)
    return p.elements


def field(type_name: str, **extra):
    cls = WIDGETS.get(type_name)
    spec = compile_form({"key": "f", "fields": [{"key": "k1", "label": {"zh-CN": "字段", "en": "Field"},
                                                 "widget": type_name, **cls.example_field(), **extra}]})
    return spec.fields[0]


@pytest.mark.parametrize("type_name", BUILT_INS)
def test_every_built_in_has_an_accessible_macro(macros, type_name):
    f = field(type_name, help={"zh-CN": "说明", "en": "Help"}, required=True)
    macro = getattr(macros, f.widget.macro)
    value = f.widget.random_value(random.Random(1))
    html = str(macro(f, value, {"code": "form.x", "message": "bad"}, "en"))
    elements = parse(html)
    main = [attrs for _, attrs in elements if attrs.get("id") == "f-k1"]
    assert len(main) == 1, html
    assert set(main[0]["aria-describedby"].split()) == {"help-k1", "err-k1"}
    assert main[0].get("aria-invalid") == "true"
    if not f.computed:
        assert any(attrs.get("name") == "k1" for _, attrs in elements), "the control posts under the field key"
    plain = parse(str(macro(f, None, None, "zh-CN")))
    assert all("aria-invalid" not in attrs for _, attrs in plain)


def test_values_and_config_are_escaped(macros):
    f = field("text")
    html = str(macros.text(f, '"><script>alert(1)</script>', None, "en"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    f = field("datetime", config={"timezone": '"><img src=x onerror=alert(1)>'})
    html = str(macros.datetime(f, None, None, "en"))
    assert "<img" not in html
    f = field("select", config={"options": [{"value": "<b>", "label": {"zh-CN": "<i>粗</i>", "en": "<i>bold</i>"}}]})
    html = str(macros.select(f, "<b>", None, "en"))
    assert "<i>" not in html and 'value="&lt;b&gt;" selected' in html


def test_choices_render_labels_in_the_language_and_mark_the_value(macros):
    f = field("radio", config={"options": [{"value": "h", "label": {"zh-CN": "高", "en": "High"}},
                                          {"value": "l", "label": {"zh-CN": "低", "en": "Low"}}]})
    html = str(macros.radio(f, "l", None, "en"))
    assert "High" in html and "高" not in html
    checked = [a for t, a in parse(html) if t == "input" and "checked" in a]
    assert [a["value"] for a in checked] == ["l"]
    f = field("checkboxes")
    html = str(macros.checkboxes(f, ["high", "low"], None, "zh-CN"))
    assert sorted(a["value"] for t, a in parse(html) if t == "input" and "checked" in a) == ["high", "low"]


def test_switch_posts_false_when_unticked(macros):
    f = field("switch")
    inputs = [a for t, a in parse(str(macros.switch(f, False, None, "en"))) if t == "input"]
    assert inputs[0] == {"type": "hidden", "name": "k1", "value": "false"}
    assert inputs[1]["value"] == "true" and "checked" not in inputs[1]


def test_field_row_wraps_label_help_and_errors(macros):
    f = field("email", help="工作邮箱")
    html = str(macros.field_row(f, "a@b.co", [{"code": "form.invalid_email", "message": "bad"}], "zh-CN",
                                macros.email))
    elements = parse(html)
    assert ("label", {"for": "f-k1"}) in elements
    assert any(a.get("id") == "help-k1" for _, a in elements)
    assert any(a.get("id") == "err-k1" and a.get("data-code") == "form.invalid_email" for _, a in elements)
