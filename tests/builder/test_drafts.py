"""builder.drafts without HTTP: version numbers and where compile problems point."""
import pytest

from apps import compile_package
from builder import drafts


@pytest.mark.parametrize("version, expected", [("1.0.0", "1.0.1"), ("2.3.9", "2.3.10"), ("1.2.3-beta.1", "1.2.4"),
                                               ("nonsense", "1.0.0")])
def test_bump(version, expected):
    assert drafts.bump(version) == expected


def test_next_version_keeps_a_newer_wanted_version_else_bumps():
    assert drafts.next_version(None, "0.1.0") == "0.1.0"
    assert drafts.next_version(None, None) == "1.0.0"
    assert drafts.next_version("1.0.0", "1.0.0") == "1.0.1"
    assert drafts.next_version("1.0.4", "1.0.2") == "1.0.5"
    assert drafts.next_version("1.0.4", "2.0.0") == "2.0.0"


def _errors(pkg):
    result = compile_package(pkg)
    return result if isinstance(result, list) else []


def _package(form):
    pkg = drafts.new_package("demo", "Demo")
    pkg["forms"].append(form)
    return pkg


def test_compile_problems_point_at_the_field_property_or_the_layout():
    form = {"key": "t", "version": 1, "label": "T", "fields": [
        {"key": "a", "label": "A", "widget": "number", "formula": "b + 1"},
        {"key": "b", "label": "B", "widget": "number", "formula": "a + 1"},
        {"key": "c", "label": "C", "widget": "text", "visible_if": "nope == 1"}],
        "layout": [{"type": "section", "label": "S", "items": ["a"], "visible_if": "missing > 1"}]}
    errors = _errors(_package(form))
    by_pointer = {e["pointer"]: e["code"] for e in errors}
    assert by_pointer["/forms/0/fields/2/visible_if"] == "expr.unknown_name"
    assert by_pointer["/forms/0/layout/0/visible_if"] == "expr.unknown_name"
    assert "form.formula_cycle" in by_pointer.values()
    assert all(e["pointer"].startswith("/forms/0") for e in errors)


def test_a_valid_draft_has_no_errors_and_schema_errors_come_alone():
    form = {"key": "t", "version": 1, "label": "T", "fields": [{"key": "a", "label": "A", "widget": "text"}]}
    assert _errors(_package(form)) == []
    broken = _package({"key": "t", "version": 1, "label": "T", "fields": [{"key": "a", "widget": "text"}]})
    errors = _errors(broken)
    assert [e["code"] for e in errors] == ["schema.required"] and errors[0]["pointer"] == "/forms/0/fields/0"


def test_expression_check_knows_system_columns_and_bounds_the_names():
    assert drafts.check_expression("id > 0 and created_by == current_user_id", [])["ok"]
    assert drafts.check_expression("", ["a"]) == {"ok": True, "names": [], "source": ""}   # nothing to store
    names = [f"n{i}" for i in range(drafts.MAX_NAMES + 10)]
    assert not drafts.check_expression(f"n{drafts.MAX_NAMES + 5} > 1", names)["ok"]


def test_new_package_refuses_a_bad_key():
    with pytest.raises(drafts.BuilderError) as exc:
        drafts.new_package("a-b", "x")
    assert exc.value.code == "builder.bad_key"
