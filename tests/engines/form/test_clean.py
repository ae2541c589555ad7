"""``FormSpec.clean``: visibility, conditional requirement, defaults, formulas and the validation block."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from engines.expr import EvalContext
from engines.form import compile_form
from engines.form.exceptions import FormDefinitionError

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
CTX = EvalContext(now=NOW, user={"id": 7, "name": "王五"})


def form(*fields, **extra):
    return compile_form({"key": "t", "label": "T", "fields": list(fields), **extra})


def codes(result):
    return sorted((e.get("field"), e["code"]) for e in result.errors)


TICKET = form(
    {"key": "渠道", "label": "渠道", "widget": "select", "required": True, "config": {"options": ["官网", "电话", "其他"]}},
    {"key": "其他渠道", "label": "其他渠道", "widget": "text", "visible_if": '渠道 == "其他"', "required": True},
    {"key": "电话", "label": {"zh-CN": "电话", "en": "Phone"}, "widget": "phone", "required_if": '渠道 == "电话"'},
    {"key": "单价", "label": "单价", "widget": "money"},
    {"key": "数量", "label": "数量", "widget": "number", "default": 1, "config": {"integer": True, "min": 1}},
    {"key": "总价", "label": "总价", "widget": "formula", "config": {"result": "number", "decimals": 2},
     "formula": "单价 * 数量"},
    {"key": "提交日", "label": "提交日", "widget": "date", "default_expr": "today()"},
    {"key": "提交人", "label": "提交人", "widget": "user", "default_expr": "current_user_id"},
    {"key": "编号", "label": "编号", "widget": "text", "validation": {"pattern": r"[A-Z]{2}-\d{4}"}},
)


def test_a_hidden_field_is_dropped_and_not_required():
    r = TICKET.clean({"渠道": "官网", "其他渠道": "朋友介绍"}, context=CTX)
    assert r.ok, r.errors
    assert "其他渠道" not in r.values and "其他渠道" in r.hidden


def test_a_shown_field_is_kept_and_required():
    assert TICKET.clean({"渠道": "其他", "其他渠道": "朋友介绍"}, context=CTX).values["其他渠道"] == "朋友介绍"
    assert codes(TICKET.clean({"渠道": "其他"}, context=CTX)) == [("其他渠道", "form.required")]


def test_required_if():
    assert codes(TICKET.clean({"渠道": "电话"}, context=CTX)) == [("电话", "form.required")]
    assert TICKET.clean({"渠道": "官网"}, context=CTX).ok
    r = TICKET.clean({"渠道": "电话", "电话": "13812345678"}, context=CTX)
    assert r.ok and r.values["电话"] == "13812345678"


def test_defaults_values_and_expressions_on_create_only():
    r = TICKET.clean({"渠道": "官网"}, context=CTX)
    assert r.values["数量"] == 1
    assert r.values["提交日"] == date(2026, 11, 23)
    assert r.values["提交人"] == 7
    existing = {"id": 1, "渠道": "官网", "数量": 5, "单价": Decimal("2.00"), "提交日": date(2026, 1, 1)}
    r = TICKET.clean({"单价": "3"}, context=CTX, existing=existing, partial=True)
    assert r.ok and "数量" not in r.values and "提交日" not in r.values


def test_fixed_defaults_are_cleaned_once_and_still_fresh_or_reported_per_record():
    """A fixed default is cleaned when the form's plan is built: a number or a choice serves every
    record; a multi-choice default (a list) is a new list for each record."""
    f = form({"key": "数量", "label": "数量", "widget": "number", "default": "2", "config": {"integer": True}},
             {"key": "标签", "label": "标签", "widget": "checkboxes", "default": ["甲"],
              "config": {"options": ["甲", "乙"]}})
    first, second = f.clean({}, context=CTX), f.clean({}, context=CTX)
    assert first.values["数量"] == second.values["数量"] == 2
    assert first.values["标签"] == second.values["标签"] == ["甲"] and first.values["标签"] is not second.values["标签"]
    assert first.ok and second.ok


def test_a_formula_reads_the_formulas_computed_before_it_in_the_same_pass():
    """Formulas are computed in dependency order over one scope: each sees the values of those
    before it (money read as a number), on a create and on an update of the stored record."""
    f = form({"key": "单价", "label": "单价", "widget": "money"},
             {"key": "小计", "label": "小计", "widget": "formula", "config": {"result": "number", "decimals": 2},
              "formula": "单价 * 2"},
             {"key": "含税", "label": "含税", "widget": "formula", "config": {"result": "number", "decimals": 2},
              "formula": "小计 * 1.1"},
             {"key": "说明", "label": "说明", "widget": "formula", "config": {"result": "text"},
              "formula": "if(含税 > 10, \"大\", \"小\")"})
    r = f.clean({"单价": "5.25"}, context=CTX)
    assert (r.values["小计"], r.values["含税"], r.values["说明"]) == (10.5, 11.55, "大")
    r = f.clean({"单价": "1"}, context=CTX, existing={"id": 1, "单价": Decimal("5.25"), "小计": 10.5, "含税": 11.55,
                                                     "说明": "大"}, partial=True)
    assert (r.values["小计"], r.values["含税"], r.values["说明"]) == (2, 2.2, "小")


def test_formula_over_coerced_and_merged_values():
    r = TICKET.clean({"渠道": "官网", "单价": "12.50", "数量": "3"}, context=CTX)
    assert r.values["总价"] == 37.5
    r = TICKET.clean({"数量": 2}, context=CTX, existing={"id": 1, "渠道": "官网", "单价": Decimal("1.25"), "数量": 5},
                     partial=True)
    assert r.values["总价"] == 2.5
    assert TICKET.clean({"渠道": "官网"}, context=CTX).values["总价"] is None, "an empty input makes it empty"


def test_a_computed_field_ignores_what_was_sent():
    r = TICKET.clean({"渠道": "官网", "单价": "2", "数量": 2, "总价": 999}, context=CTX)
    assert r.values["总价"] == 4


def test_every_error_comes_back_at_once_with_codes():
    r = TICKET.clean({"渠道": "传真", "电话": "123", "数量": 0, "编号": "x-1", "多余": 1}, context=CTX)
    assert codes(r) == [("多余", "form.unknown_field"), ("数量", "form.too_small"), ("渠道", "form.invalid_choice"),
                        ("电话", "form.invalid_phone"), ("编号", "form.pattern")]
    assert all(e.get("message") for e in r.errors)


def test_validation_block_bounds_lengths_and_message():
    spec = form(
        {"key": "d", "label": "D", "widget": "date", "validation": {"min": "2026-01-01", "max": "2026-12-31"}},
        {"key": "t", "label": "T", "widget": "text",
         "validation": {"min_length": 2, "max_length": 4, "message": {"zh-CN": "两到四个字", "en": "2-4 chars"}}},
        {"key": "tags", "label": "Tags", "widget": "checkboxes", "config": {"options": ["a", "b", "c"]},
         "validation": {"max_length": 1}},
        {"key": "at", "label": "At", "widget": "time", "validation": {"min": "09:00"}},
    )
    r = spec.clean({"d": "2027-01-01", "t": "x", "tags": ["a", "b"], "at": "08:00"})
    assert codes(r) == [("at", "form.too_small"), ("d", "form.too_large"), ("t", "form.too_short"),
                        ("tags", "form.too_long")]
    assert next(e for e in r.errors if e["field"] == "t")["message"] == "两到四个字"
    assert spec.clean({"d": "2026-06-01", "t": "abc", "tags": ["c"], "at": "09:00"}).ok


def test_pattern_with_catastrophic_backtracking_is_cut_off():
    spec = form({"key": "s", "label": "S", "widget": "text", "validation": {"pattern": r"(x+x+)+y"}})
    r = spec.clean({"s": "x" * 5000})
    assert codes(r) == [("s", "form.pattern_timeout")]


def test_a_bad_pattern_is_reported_not_raised():
    spec = form({"key": "s", "label": "S", "widget": "text", "validation": {"pattern": "("}})
    assert codes(spec.clean({"s": "x"})) == [("s", "form.bad_pattern")]


def test_partial_update_checks_only_what_was_sent():
    spec = form({"key": "a", "label": "A", "widget": "text", "required": True},
                {"key": "b", "label": "B", "widget": "number"})
    assert spec.clean({"b": 2}, existing={"id": 1, "a": "x"}, partial=True).ok
    assert codes(spec.clean({"a": ""}, existing={"id": 1, "a": "x"}, partial=True)) == [("a", "form.required")]
    assert codes(spec.clean({"b": 2})) == [("a", "form.required")]


def test_hidden_on_update_keeps_the_stored_value_for_later_rules():
    spec = form({"key": "kind", "label": "K", "widget": "select", "config": {"options": ["x", "y"]}},
                {"key": "extra", "label": "E", "widget": "number", "visible_if": 'kind == "y"'},
                {"key": "twice", "label": "T", "widget": "formula", "formula": "extra * 2"})
    r = spec.clean({"kind": "x", "extra": 5}, existing={"id": 1, "kind": "y", "extra": 3}, partial=True)
    assert "extra" not in r.values and r.values["twice"] == 6


def test_sub_table_rows_are_cleaned_with_their_own_fields():
    spec = form({"key": "items", "label": "Items", "widget": "subtable", "required": True, "config": {"fields": [
        {"key": "name", "label": "Name", "widget": "text", "required": True},
        {"key": "qty", "label": "Qty", "widget": "number", "config": {"integer": True, "min": 1}},
        {"key": "line", "label": "Line", "widget": "formula", "formula": "qty * 2"}]}})
    r = spec.clean({"items": [{"name": "a", "qty": "2"}, {"qty": 0}]})
    assert sorted((e["row"], e["sub_field"], e["code"]) for e in r.errors) == [(1, "name", "form.required"),
                                                                           (1, "qty", "form.too_small")]
    assert spec.clean({"items": [{"id": 4, "name": "a", "qty": 2}]}).values["items"] == [
        {"name": "a", "qty": 2, "line": 4, "id": 4}]
    assert codes(spec.clean({"items": []})) == [("items", "form.required")]


def test_one_pass_and_general_paths_agree():
    """A form without conditions takes the fused path; adding a no-op condition forces the general one."""
    fields = [{"key": "a", "label": "A", "widget": "text", "required": True},
              {"key": "n", "label": "N", "widget": "number", "config": {"min": 0}, "validation": {"max": 10}},
              {"key": "e", "label": "E", "widget": "email"},
              {"key": "c", "label": "C", "widget": "checkboxes", "config": {"options": ["x", "y"]}, "required": True}]
    simple = form(*fields)
    general = form(*fields, {"key": "z", "label": "Z", "widget": "text", "visible_if": "true"})
    from engines.form.clean import plan_for
    assert plan_for(simple).one_pass and not plan_for(general).one_pass
    for data in ({}, {"a": "x", "n": 11, "e": "bad", "c": []}, {"a": " ok ", "n": "3", "e": "A@B.CO", "c": ["y"]},
                 {"a": None, "n": -1, "c": "x"}):
        r1, r2 = simple.clean(data), general.clean(data)
        assert sorted(map(str, r1.errors)) == sorted(map(str, r2.errors))
        assert r1.values == r2.values


def test_definition_errors():
    with pytest.raises(FormDefinitionError) as info:
        form({"key": "a", "label": "A", "widget": "formula"},
             {"key": "b", "label": "B", "widget": "nope"},
             {"key": "c", "label": "C", "widget": "select", "config": {}},
             {"key": "x", "label": "X", "widget": "number", "formula": "y + 1"},
             {"key": "y", "label": "Y", "widget": "number", "formula": "x + 1"})
    found = {(e.get("field"), e["code"]) for e in info.value.errors}
    assert ("a", "form.formula_missing") in found
    assert ("b", "widget.unknown_type") in found
    assert ("c", "form.bad_config") in found
    assert any(e["code"] == "form.formula_cycle" and e["fields"] == ["x", "y"] for e in info.value.errors)


def test_json_schema_of_a_form_validates_what_clean_accepts():
    from jsonschema import Draft202012Validator
    schema = TICKET.json_schema()
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema)
    good = {"渠道": "电话", "电话": "13812345678", "单价": "2.50", "数量": 2, "编号": "AB-1234"}
    assert TICKET.clean(good, context=CTX).ok and not list(v.iter_errors(good))
    assert "总价" not in schema["properties"], "computed fields are not submitted"
    assert list(v.iter_errors({"渠道": "传真"}))


def test_read_only_fields_come_only_through_the_trusted_system_path():
    """On create and update, on the one-pass path and the general one: a person's value is dropped."""
    fields = [{"key": "a", "label": "A", "widget": "text"},
              {"key": "stamp", "label": "S", "widget": "text", "read_only": True},
              {"key": "need", "label": "N", "widget": "text", "read_only": True, "required": True}]
    simple = form(*fields)
    general = form(*fields, {"key": "z", "label": "Z", "widget": "text", "visible_if": "true"})
    from engines.form.clean import plan_for
    assert plan_for(simple).one_pass
    for spec in (simple, general):
        for _ in range(3):  # the third time a generated shape function answers
            r = spec.clean({"a": "x", "stamp": "forged", "need": "forged"})
            assert "stamp" not in r.values and codes(r) == [("need", "form.required")]
        r = spec.clean({"a": "x", "stamp": "rule", "need": "flow"}, trusted=True)
        assert r.ok and (r.values["stamp"], r.values["need"]) == ("rule", "flow")
        r = spec.clean({"stamp": "forged"}, existing={"id": 1, "a": "x", "stamp": "s", "need": "n"}, partial=True)
        assert r.ok and "stamp" not in r.values
        r = spec.clean({"stamp": "rule"}, existing={"id": 1, "a": "x", "stamp": "s", "need": "n"}, partial=True,
                       trusted=True)
        assert r.values["stamp"] == "rule"


def test_conditions_read_formulas_and_a_partial_update_rechecks_what_its_change_affects():
    spec = form({"key": "price", "label": "P", "widget": "number"},
                {"key": "qty", "label": "Q", "widget": "number"},
                {"key": "total", "label": "T", "widget": "formula", "formula": "coalesce(price, 0) * coalesce(qty, 0)"},
                {"key": "approver", "label": "A", "widget": "text", "required_if": "total > 100"},
                {"key": "note", "label": "N", "widget": "text", "visible_if": "total > 10", "required": True},
                {"key": "other", "label": "O", "widget": "text", "required_if": "price == 999"})
    assert codes(spec.clean({"price": 50, "qty": 3, "note": "n"})) == [("approver", "form.required")]
    stored = {"id": 1, "price": 5, "qty": 1, "total": 5, "approver": None, "note": None, "other": None}
    assert codes(spec.clean({"qty": 30}, existing=stored, partial=True)) == [("approver", "form.required"),
                                                                            ("note", "form.required")]
    assert spec.clean({"qty": 2}, existing=stored, partial=True).ok          # total 10: no condition holds
    r = spec.clean({"qty": 3}, existing=stored, partial=True)               # 15: the note shows and is required
    assert codes(r) == [("note", "form.required")] and r.values["total"] == 15
