"""The compiled paths of ``FormSpec.clean`` give exactly what the general path gives.

``Widget.compile_coerce`` returns a ``FieldError`` instead of raising it, and
one-pass forms run a generated function per key order of the submission. For
every registered widget (several configs each) and a long list of good, odd and
bad raw values, the returned value (type, value and text) or error (code,
message and context) must equal what ``Widget.clean`` gives; and a form's
generated path must give the same values and errors as ``_one_pass``.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from engines.form import WIDGETS, compile_form
from engines.form.clean import MAX_SHAPES, CleanResult, _one_pass, _shape_source, plan_for
from engines.form.exceptions import FieldError
from engines.form.widget import inline_function

#: configs beyond each widget's ``config_schema["examples"]``, covering every branch of the fast paths
EXTRA_CONFIGS = {
    "text": [{}, {"max_length": 5, "min_length": 2}, {"min_length": 3}],
    "textarea": [{}, {"max_length": 5, "min_length": 2}],
    "number": [{}, {"integer": True}, {"decimals": 0}, {"decimals": 2, "min": -1.5, "max": 2.5},
               {"min": 0, "max": 1000, "integer": True}, {"min": -10 ** 16, "max": 10 ** 16}],
    "money": [{}, {"min": 0, "max": 100}, {"decimals": 0, "min": -5.5}, {"currency": "USD", "decimals": 4}],
    "select": [{"options": ["高", "中", "低", " 空格 "]},
               {"options": [{"value": "a", "label": {"zh-CN": "甲", "en": "A"}}, {"value": "1", "label": "一"}]}],
    "radio": [{"options": ["官网", "微信", "电话"]}],
    "checkboxes": [{"options": ["发票", "退款", "物流", "售后"]},
                   {"options": ["a", "b", "c"], "min_selected": 2, "max_selected": 2},
                   {"options": [{"value": "x", "label": {"zh-CN": "叉", "en": "X"}}, {"value": "y"}],
                    "max_selected": 1}],
    "switch": [{}],
    "email": [{}],
    "phone": [{"region": "cn"}, {"region": "intl"}, {"region": "any"}],
    "url": [{}],
    "date": [{}, {"timezone": "Asia/Shanghai"}, {"min": "2026-01-01", "max": "2026-12-31"}],
    "datetime": [{}, {"timezone": "Asia/Shanghai"}, {"min": "2026-01-01T00:00:00Z"}],
    "rating": [{"max": 5}, {"max": 10}, {"max": 1}],
    "user": [{}, {"multiple": True}],
    "group": [{}, {"multiple": True}],
}

#: raw values every widget is tried with: good for some widgets, bad or odd for others
JUNK = [
    None, "", " ", "  \t", "\n", "abc", "x" * 150, "x" * 3000, " padded ", "line\nbreak", "cr\rhere", "a\r\nb",
    0, 1, -1, 2, 5, 6, 9, -5, 7.0, 1.5, -0.0, 2.675, 1.005, 10 ** 13, 10 ** 15, -10 ** 15, 10 ** 15 - 1,
    2 ** 31, 2 ** 31 - 1, float("inf"), float("-inf"), float("nan"), True, False, "0", "1", "4", "9", "1,234",
    "¥12.5", "12.345 USD", "1e3", "Infinity", "NaN", "١٢", "¥", "CNY", "--", "12.5%",
    # numbers as text (a spreadsheet's cells): whole, fractional, integral-looking, at and past the limits
    "42", "-7", "007", "-0", "+5", "523.17", "-0.5", "12.0", "12.50", "0.1", "2.675", "1.005", "-1.5", "2.5",
    "999999999999999", "1000000000000000", "-999999999999999", "999999999999999.5", "12.0000000000000001",
    "1000", "1001", "-11", "3.", ".5", "1.2.3", "٣",
    "true", " Yes ", "OFF", "是", "maybe", "高", " 高 ", "特急", "甲", "A", "a", "x", "一", "1", " 空格 ", "空格",
    [], ["发票"], ["发票", "退款"], ["发票", "发票"], ["发票", "加急"], ["a", "b"], ["a", "b", "c"], ["a", " b "],
    ["甲"], [1], [True], ["x", "y"], ("发票",), [None], {"value": "高"}, {}, {"id": 3}, [1, 2, 2], [1, -2],
    "user@example.com", "User@Example.COM", " user@example.com ", "not-an-email", "a@b", "@example.com",
    "x" * 65 + "@example.com", "x" * 64 + "@example.com", "name@exa_mple.com", "a@" + "b" * 63 + ".cn",
    "a@" + "b" * 64 + ".cn", "a@-b.cn", "a@b-.cn", "a@b--c.cn", "a@b.c", "a@b.cn.", "a@@b.cn", "a@b.c-n", "a@1.cn",
    "a@sub.b.cn", "a@B.cn", "https://x.y:8080/a", "https://x.y:123456", "https://x.y:80?q=1#f", "https://x.y#",
    "https://x.y/é", "http://x.y/\x7f",
    "13812345678", "+8613812345678", "0086 138-1234-5678", "138 1234 5678", "12345", "+14155550100", "+1",
    "https://example.com/t/1", "HTTPS://Example.com", "http://x", "ftp://x", "https://", "https://a b", "//x.y",
    " https://example.com ", "Http://x.y", "\x01https://x.y", "httpx://a.b", "İttp://x.y", "mailto:a@b.c", "https://example.com/\x01", "http://[::1", "https://例子.中国/路径",
    "1381234567", "138123456789", "0013812345678", "008613812345678", "23812345678", "+86 138 1234 5678",
    "2026-00-10", "2026-12-32", "2026-1 -10", "2026-02-29", "2024-02-29", "2026-1-5", "2026-11-23\n",
    "2026-11-23", "2026/11/3", "2026-13-45", "2026-02-30", "0000-01-01", "2026-1a-23", " 2026-11-2", "2026-11-2 ",
    "2026-11-23T09:30:00Z", "2026-11-23T09:30:00+08:00", "2026-11-23T09:30:00.5+08:00", "2026-11-23T09:30:00",
    "2026-11-23 09:30", "2026-11-23T25:00:00Z", "yesterday", "Z", "٢٠٢٦-١١-٢٣", " 2026-11-23T09:30:00Z",
    "09:30", "24:00", "2h30m", "1:30:00",
    date(2026, 11, 23), datetime(2026, 11, 23, 9, 30), datetime(2026, 11, 23, 9, 30, 1, 5, tzinfo=timezone.utc),
    time(9, 30), timedelta(hours=2), Decimal("12.345"), Decimal("NaN"), Decimal("-0"), object(),
]


def _configs(type_name: str) -> list[dict]:
    cls = WIDGETS.get(type_name)
    return [*(cls.config_schema.get("examples") or [{}]), *EXTRA_CONFIGS.get(type_name, [])]


def _outcome_of_clean(widget, raw):
    try:
        value = widget.clean(raw)
    except FieldError as exc:
        return ("error", exc.code, exc.message, exc.context)
    return ("ok", type(value), value, str(value))


def _outcome_of_coerce(coerce, raw):
    value = coerce(raw)
    if isinstance(value, FieldError):
        assert value.__class__ is FieldError, "compile_coerce returns plain FieldErrors"
        return ("error", value.code, value.message, value.context)
    return ("ok", type(value), value, str(value))


def _same(a, b) -> bool:
    if a[0] == "ok" and b[0] == "ok" and isinstance(a[2], float) and a[2] != a[2]:
        return b[2] != b[2] and a[1] is b[1]
    return a == b


CASES = [(t, i, c) for t in WIDGETS.types() for i, c in enumerate(_configs(t))]


@pytest.mark.parametrize("type_name,index,config", CASES, ids=[f"{t}-{i}" for t, i, _ in CASES])
def test_compile_coerce_agrees_with_clean(type_name, index, config):
    widget = WIDGETS.get(type_name)(config)
    coerce = widget.compile_coerce()
    raws = list(JUNK)
    rng = random.Random(f"{type_name}-{index}")
    for _ in range(40):
        try:
            value = widget.random_value(rng)
        except (NotImplementedError, FieldError):  # e.g. bounds beyond the widget's own range
            break
        raws += [value, widget.export_value(value)]
        if isinstance(value, str):
            raws += [f" {value} ", value.upper(), value + "\n"]
    for raw in raws:
        try:
            expected = _outcome_of_clean(widget, raw)
        except Exception as exc:  # a widget may refuse a Python object outright; the fast path must too
            with pytest.raises(type(exc)):
                coerce(raw)
            continue
        got = _outcome_of_coerce(coerce, raw)
        assert _same(got, expected), (type_name, config, raw, got, expected)


@pytest.mark.parametrize("type_name,index,config", CASES, ids=[f"{t}-{i}" for t, i, _ in CASES])
def test_inline_accept_agrees_with_compile_coerce(type_name, index, config):
    """Where a widget's inline test holds, its value is exactly what ``compile_coerce`` returns."""
    widget = WIDGETS.get(type_name)(config)
    accept = inline_function(widget)
    if accept is None:
        assert widget.inline_accept() is None, "a built-in template always compiles"
        return
    coerce = widget.compile_coerce()
    rng = random.Random(f"inline-{type_name}-{index}")
    raws = list(JUNK)
    for _ in range(40):
        try:
            value = widget.random_value(rng)
        except FieldError:  # bounds beyond the widget's own range
            break
        raws += [value, widget.export_value(value), f" {value} ", str(value)]
    accepted_any = False
    for raw in raws:
        accepted, value = accept(raw)
        if accepted:
            accepted_any = True
            assert _same(("ok", type(value), value, str(value)), _outcome_of_coerce(coerce, raw)), (raw, value)
    assert accepted_any, "the inline path is used for typical values"


def test_a_broken_inline_template_is_ignored():
    base = WIDGETS.get("rating")

    class Broken(base):
        type = "broken_rating"

        def inline_accept(self):
            return "type({raw}) is int and {nope}", "{raw}", {}

    class BadName(base):
        type = "bad_name_rating"

        def inline_accept(self):
            return "{__x}", "{raw}", {"__x": 1}

    class Clobbers(base):
        type = "clobbering_rating"

        def inline_accept(self):
            return "type({raw}) is int and (values := {raw})", "{raw}", {}

    class ReadsLocals(base):
        type = "peeking_rating"

        def inline_accept(self):
            return "errors is not None", "{raw}", {}

    class Nests(base):
        type = "nesting_rating"

        def inline_accept(self):
            return "all(x for x in [{raw}])", "{raw}", {}

    for cls in (Broken, BadName, Clobbers, ReadsLocals, Nests):
        assert inline_function(cls({"max": 5})) is None, cls
    spec = compile_form({"key": "b", "label": "B", "fields": [{"key": "r", "label": "R", "widget": "rating"}]})
    assert plan_for(spec).inputs[0].inline is not None


def test_returned_errors_are_never_raised_constants_by_clean():
    """``clean`` raises a fresh error each time; the shared constants of the fast path stay untouched."""
    widget = WIDGETS.get("rating")({"max": 5})
    constant = widget.compile_coerce()(9)
    assert isinstance(constant, FieldError) and constant.__traceback__ is None
    for _ in range(2):
        with pytest.raises(FieldError) as info:
            widget.clean(9)
        assert info.value is not constant
    assert constant.__traceback__ is None


def test_a_subclass_that_changes_a_value_method_gets_the_generic_path():
    base = WIDGETS.get("rating")

    class Strict(base):
        type = "strict_rating"

        def validate(self, value):
            if value < 3:
                raise self.error("form.too_low", "at least 3 / 至少 3")
            super().validate(value)

    coerce = Strict({"max": 5}).compile_coerce()
    assert coerce(4) == 4
    assert coerce(2).code == "form.too_low"
    assert coerce(9).code == "form.invalid_rating"


def test_a_plugin_error_subclass_comes_back_as_a_plain_field_error():
    class Odd(FieldError):
        code = "form.odd"

    base = WIDGETS.get("text")

    class NoOdd(base):
        type = "no_odd"

        def validate(self, value):
            if len(value) % 2:
                raise Odd("even lengths only / 只接受偶数长度", parity="odd")

    got = NoOdd({}).compile_coerce()("abc")
    assert got.__class__ is FieldError and got.code == "form.odd" and got.context == {"parity": "odd"}


# -- the generated per-shape functions ---------------------------------------------------------------------

BENCH_LIKE = {
    "key": "shapes", "label": "Shapes",
    "fields": [
        {"key": "标题", "label": {"zh-CN": "标题", "en": "Title"}, "widget": "text", "required": True,
         "config": {"max_length": 10}, "validation": {"pattern": r"[^x]*"}},
        {"key": "数量", "label": "数量", "widget": "number", "config": {"min": 0, "max": 100, "integer": True},
         "validation": {"max": 50}},
        {"key": "金额", "label": "金额", "widget": "money", "config": {"min": 0}},
        {"key": "紧急程度", "label": "紧急程度", "widget": "select", "required": True, "config": {"options": ["高", "低"]}},
        {"key": "标签", "label": "标签", "widget": "checkboxes", "required": True,
         "config": {"options": ["发票", "退款"]}},
        {"key": "已付款", "label": "已付款", "widget": "switch", "required": True},
        {"key": "手机", "label": "手机", "widget": "phone", "config": {"region": "cn"}},
        {"key": "日期", "label": "日期", "widget": "date", "required": True},
        {"key": "评分", "label": "评分", "widget": "rating", "config": {"max": 5}},
        {"key": "客户", "label": "客户", "widget": "user"},
        {"key": "时长", "label": "时长", "widget": "duration"},
        # a key that would break generated source if it were ever written into it
        {"key": "a'); import os; ('", "label": "注入", "widget": "text"},
    ],
}
GOOD = {"标题": "工单", "数量": 3, "金额": 1.5, "紧急程度": "高", "标签": ["发票"], "已付款": False, "手机": "13812345678",
        "日期": "2026-11-23", "评分": 4, "客户": 9, "时长": "2h", "a'); import os; ('": "ok"}
BAD = {"标题": "x" * 20, "数量": 70, "金额": "abc", "紧急程度": "特急", "标签": ["加急"], "已付款": "maybe", "手机": "12345",
       "日期": "2026-13-45", "评分": 9, "客户": -1, "时长": "soon", "a'); import os; ('": ["list"]}
ODD = {"标题": "  ", "数量": "", "金额": None, "紧急程度": "", "标签": [], "已付款": None, "日期": "", "评分": 0,
       "标签x": 1, "id": 4, "created_at": "2026-01-01"}


def _submissions(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    keys = list(GOOD)
    out = []
    for _ in range(n):
        chosen = rng.sample(keys, rng.randint(0, len(keys)))
        if rng.random() < 0.5:
            chosen = [k for k in keys if k in chosen]  # the form's order, as most clients send it
        d = {}
        for k in chosen:
            d[k] = rng.choice((GOOD, GOOD, BAD, ODD)).get(k, GOOD[k])
        if rng.random() < 0.2:
            d[rng.choice(("id", "created_at", "标签x"))] = 1
        out.append(d)
    return out


def _reference(spec, data, partial):
    """What the loop over the submission (``_one_pass``, no generated code) gives."""
    result = CleanResult()
    plan = plan_for(spec)
    known = plan.known
    for key in data:
        if key not in known:
            result.errors.append({"code": "form.unknown_field", "field": key,
                                  "message": f"form {spec.key!r} has no field {key!r}; "
                                             f"its fields are {', '.join(spec.field_keys)}"})
    _one_pass(plan, data, result.values, result.errors, partial)
    return result


@pytest.mark.parametrize("partial", [False, True])
def test_generated_shapes_agree_with_the_loop(partial):
    spec = compile_form(BENCH_LIKE)
    plan = plan_for(spec)
    assert plan.one_pass
    for data in _submissions(7, 400):
        expected = _reference(spec, data, partial)
        for _ in range(2):  # a key order gets its generated function the second time it is seen
            got = spec.clean(data, partial=partial)
            assert got.errors == expected.errors, data
            assert got.values == expected.values and list(got.values) == list(expected.values), data
            assert [type(v) for v in got.values.values()] == [type(v) for v in expected.values.values()]
            assert got.hidden == set()
    assert plan.shapes, "the generated path was taken"
    assert len(plan.shapes) <= MAX_SHAPES


def test_template_checks_are_remembered_per_kind():
    from engines.form import widget as widget_module
    rating = WIDGETS.get("rating")
    assert widget_module.inline_template(rating({"max": 3})) is not None
    key = next(k for k in widget_module._CHECKED_TEMPLATES if "{top}" in k[0])
    assert widget_module._CHECKED_TEMPLATES[key] is True


def test_generated_source_holds_no_definition_text():
    spec = compile_form(BENCH_LIKE)
    source, consts = _shape_source(plan_for(spec), (*GOOD, "id"))
    for key in GOOD:
        assert key not in source
    assert "import" not in source and "values[K0] = v" in source
    assert set(GOOD) <= set(consts.values()), "keys are bound as constants"


def test_shapes_are_capped_and_then_the_loop_answers():
    spec = compile_form(BENCH_LIKE)
    plan = plan_for(spec)
    keys = list(GOOD)
    rng = random.Random(1)
    seen = set()
    for _ in range(MAX_SHAPES * 3):
        order = rng.sample(keys, len(keys))
        seen.add(tuple(order))
        data = {k: GOOD[k] for k in order}
        for _ in range(2):
            r = spec.clean(data)
            assert r.ok and r.values == spec.clean(GOOD).values
    assert len(plan.shapes) == MAX_SHAPES < len(seen)
    assert len(plan.seen) <= 4 * MAX_SHAPES


def test_a_key_order_met_once_is_not_compiled():
    spec = compile_form(BENCH_LIKE)
    plan = plan_for(spec)
    first = spec.clean(dict(GOOD))
    assert not plan.shapes and tuple(GOOD) in plan.seen
    second = spec.clean(dict(GOOD))
    assert list(plan.shapes) == [tuple(GOOD)]
    assert first.values == second.values and first.errors == second.errors == []


def test_a_mapping_that_is_not_a_dict_takes_the_loop():
    from types import MappingProxyType
    spec = compile_form(BENCH_LIKE)
    r = spec.clean(MappingProxyType(dict(BAD)))
    assert [e["field"] for e in r.errors] == list(BAD)
    assert r.errors == spec.clean(dict(BAD)).errors


def test_entries_of_shared_errors_are_fresh_dicts():
    spec = compile_form(BENCH_LIKE)
    first = spec.clean(dict(BAD))
    want = [dict(e) for e in first.errors]
    for e in first.errors:
        e["message"] = "changed by a caller"
        e.pop("code")
    second = spec.clean(dict(BAD))
    assert second.errors == want and second.errors[0] is not first.errors[0]
    assert next(e for e in want if e["field"] == "评分") == {
        "code": "form.invalid_rating", "message": "choose 1 to 5 / 请选择 1 到 5", "max": 5, "field": "评分",
        "label": "评分"}


def test_the_general_path_agrees_with_the_generated_one():
    """A no-op condition sends the same form down the general path (which also takes returned errors)."""
    simple = compile_form(BENCH_LIKE)
    general = compile_form({**BENCH_LIKE, "fields": [*BENCH_LIKE["fields"],
                                                     {"key": "z", "label": "Z", "widget": "text", "visible_if": "true"}]})
    assert plan_for(simple).one_pass and not plan_for(general).one_pass
    for data in _submissions(11, 300):
        data = {k: v for k, v in data.items() if k != "标签x"}  # its message lists the form's fields
        r1, r2 = simple.clean(data), general.clean(data)
        assert sorted(map(repr, r1.errors)) == sorted(map(repr, r2.errors)), data
        assert r1.values == r2.values
        assert [type(v) for v in r1.values.values()] == [type(r2.values[k]) for k in r1.values]


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, 4])
def test_money_fast_paths_round_like_clean(decimals):
    """Floats of every magnitude, halves and carries: the inline test, compile_coerce and clean agree."""
    widget = WIDGETS.get("money")({"decimals": decimals, "min": -5, "max": 10 ** 12})
    coerce, accept = widget.compile_coerce(), inline_function(widget)
    rng = random.Random(decimals)
    limit = 15 - decimals
    raws = [0.5, 1.005, 2.675, 0.125, -0.0, -4.995, -5.0, -5.004, 1e-5, 1e-7, 10.0 ** limit, 10.0 ** limit - 0.5,
            float(10 ** limit - 1), 10 ** limit - 0.0001, 999999999999.995, 10.0 ** 12, 10.0 ** 12 + 0.004]
    for _ in range(3000):
        exponent = rng.randint(-6, limit + 1)
        raws.append(round(rng.uniform(-6, 10) * 10.0 ** exponent, rng.randint(0, 6)))
        raws.append(rng.randint(-10, 10 ** 6) + rng.choice((0.005, 0.5, 0.0049999, 0.995, 0.1)))
    for raw in raws:
        expected = _outcome_of_clean(widget, raw)
        assert _same(_outcome_of_coerce(coerce, raw), expected), raw
        accepted, value = accept(raw)
        if accepted:
            assert ("ok", type(value), value, str(value)) == expected, raw
