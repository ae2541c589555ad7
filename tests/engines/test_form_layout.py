"""Form layout: sections and tabs place fields; a hidden section hides its fields on the server."""
import pytest

from engines.form import compile_form
from engines.form.exceptions import FormDefinitionError

FORM = {"key": "ticket", "fields": [
    {"key": "类型", "label": "类型", "widget": "text"},
    {"key": "原因", "label": "原因", "widget": "text"},
    {"key": "备注", "label": "备注", "widget": "text"},
    {"key": "内部", "label": "内部", "widget": "text"},
], "layout": [
    {"type": "section", "label": {"zh-CN": "退款", "en": "Refund"}, "columns": 2,
     "visible_if": '类型 == "退款"', "items": ["原因"]},
    {"type": "tabs", "tabs": [{"label": "备注", "items": ["备注"]}]},
]}


def test_fields_in_a_hidden_section_are_dropped():
    spec = compile_form(FORM)
    hidden = spec.clean({"类型": "咨询", "原因": "偷偷写", "备注": "b"})
    assert hidden.values == {"类型": "咨询", "备注": "b"} and "原因" in hidden.hidden
    shown = spec.clean({"类型": "退款", "原因": "质量问题"})
    assert shown.values["原因"] == "质量问题"


def test_layout_tree_places_every_field_once_and_appends_the_rest():
    spec = compile_form(FORM)
    kinds = [n.kind for n in spec.layout.nodes]
    assert kinds == ["section", "tabs", "field", "field"]
    assert [n.key for n in spec.layout.nodes if n.kind == "field"] == ["类型", "内部"]
    client = spec.client_spec()
    assert next(f for f in client["fields"] if f["key"] == "原因")["sections"][0]["t"] == "cmp"
    assert client["layout"][0]["columns"] == 2


def test_layout_problems_are_reported_together():
    bad = dict(FORM, layout=["ghost", "类型", "类型", {"type": "section", "visible_if": "nope ==", "items": []}])
    with pytest.raises(FormDefinitionError) as info:
        compile_form(bad)
    codes = sorted(e["code"] for e in info.value.errors)
    assert codes == ["expr.syntax", "form.layout_duplicate", "form.layout_unknown_field"]
