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


def test_names_hook_changes_placeholders_only():
    from engines.rule.templates import compile_template
    tpl = compile_template("{处理人} {{ record['处理人'] }} {标题}")
    names = lambda key, value: {7: "张三"}.get(value, value) if key == "处理人" else value  # noqa: E731
    assert tpl.render({"处理人": 7, "标题": "打印机"}, names=names) == "张三 7 打印机"
    assert tpl.render({"处理人": 7, "标题": "打印机"}) == "7 7 打印机"
