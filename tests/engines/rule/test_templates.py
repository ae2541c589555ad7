"""Templates: {字段} placeholders, user values stay data, the sandbox holds (break-out attempts)."""
import pytest

from engines.rule import TemplateError, render


def test_placeholders_map_to_field_values():
    assert render("您好 {客户姓名}, 工单 {工单编号} 已受理", {"客户姓名": "张三", "工单编号": "T-001"}) == \
        "您好 张三, 工单 T-001 已受理"
    assert render("{缺失}|{客户.名称}", {"客户": {"名称": "ACME"}}) == "|ACME"


@pytest.mark.parametrize("payload", ["{{7*7}}", "{% for x in range(3) %}x{% endfor %}", "{客户姓名}",
                                     "{{ ''.__class__.__mro__ }}", "{# c #}"])
def test_user_values_are_data_never_template_code(payload):
    assert render("Hi {客户姓名}!", {"客户姓名": payload}) == f"Hi {payload}!"
    assert render("{{ record['客户姓名'] }}", {"客户姓名": payload}) == payload


def test_author_jinja_still_works_alongside_placeholders():
    out = render("{% if record['紧急程度'] == '高' %}[紧急] {% endif %}{标题}", {"紧急程度": "高", "标题": "宕机"})
    assert out == "[紧急] 宕机"


class TestTryingToBreakOut:
    @pytest.mark.parametrize("source", [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ record.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ record.update({'a': 1}) }}",
        "{{ [].append(1) }}",
    ])
    def test_sandbox_refuses(self, source):
        with pytest.raises(TemplateError):
            render(source, {"a": 0})

    def test_syntax_errors_are_coded(self):
        with pytest.raises(TemplateError) as exc:
            render("{% if %}", {})
        assert exc.value.code == "template.syntax"


class TestResourceLimits:
    """A render is bounded in steps, time and size, whatever the author writes."""

    @pytest.mark.parametrize("source, code", [
        ("{% for a in range(100000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", "template.too_long_running"),
        ("{% macro f(n) %}{% for i in range(9) %}{{ f(n) }}{% endfor %}{% endmacro %}{{ f(1) }}", None),
        ("{% for i in range(100000) %}{% set x = range(100000)|join %}{% endfor %}", "template.too_long_running"),
        ("{{ 'x' * 1000000000 }}", "template.too_large"),
        ("{{ [1] * 1000000000 }}", "template.too_large"),
        ("{{ 9 ** 99999999 }}", "template.too_large"),
    ])
    def test_runaway_templates_stop_quickly(self, source, code):
        import time
        t0 = time.monotonic()
        with pytest.raises(TemplateError) as exc:
            render(source, {})
        assert time.monotonic() - t0 < 5
        if code:
            assert exc.value.code == code

    def test_output_stops_at_the_cap_and_ordinary_loops_still_work(self):
        from engines.rule.templates import MAX_OUTPUT
        out = render("{% for a in range(100000) %}{% for b in range(10000) %}{{ b }}{% endfor %}{% endfor %}", {})
        assert len(out) == MAX_OUTPUT
        assert render("{% for i in record['行'] %}{{ loop.index }}/{{ loop.length }} {{ i }};"
                      "{% else %}none{% endfor %}", {"行": ["a", "b"]}) == "1/2 a;2/2 b;"
        assert render("{% for i in [] %}x{% else %}none{% endfor %} {{ 'ab' * 3 }} {{ 2 ** 10 }}", {}) == \
            "none ababab 1024"


def test_names_hook_changes_placeholders_only():
    from engines.rule.templates import compile_template
    tpl = compile_template("{处理人} {{ record['处理人'] }} {标题}")
    names = lambda key, value: {7: "张三"}.get(value, value) if key == "处理人" else value  # noqa: E731
    assert tpl.render({"处理人": 7, "标题": "打印机"}, names=names) == "张三 7 打印机"
    assert tpl.render({"处理人": 7, "标题": "打印机"}) == "7 7 打印机"


@pytest.mark.parametrize("source", ["{客户姓名}您好，您的工单 {工单编号} 已受理。", "无占位符", "", "{a}{a}\n\n", "\\{a} { a } {a}}",
                                    "50% {a} #{b} }}", "{a.b}"])
def test_a_template_without_jinja_renders_as_jinja_would(source):
    """A template of text and placeholders only is joined directly, not run through Jinja (most message
    templates, rendered for every create that sends an automatic reply): the same text for every kind
    of value, names hook included."""
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from engines.rule.templates import Template
    values = [None, "v", "<b>&{{7*7}}", 5, 1.5, True, False, [1, None, "x"], datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc),
              date(2026, 1, 2), Decimal("1.10"), {"b": 3}]
    direct = Template(source)
    assert direct._plain is not None
    by_jinja = Template(source)
    by_jinja._plain = None
    for i, v in enumerate(values):
        record = {"客户姓名": v, "工单编号": values[-1 - i], "a": v, "b": values[i - 1]}
        for names in (None, lambda key, value: f"<{value}>" if key == "a" else value):
            assert direct.render(record, names=names) == by_jinja.render(record, names=names)
    assert Template("{% if 1 %}x{% endif %}")._plain is None and Template("{{ 1 }}\r\n")._plain is None
