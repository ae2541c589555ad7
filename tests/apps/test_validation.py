"""Package validation (stages of apps.compile_package): schema and semantic errors, all at once,
with codes and pointers."""
from __future__ import annotations

import pytest

from apps import compile_package
from apps import validation


def validate_package(package):
    """Every error the one pipeline finds ([] when the package compiles)."""
    result = compile_package(package)
    return result if isinstance(result, list) else []


def _codes(errors):
    return sorted((e["code"], e["pointer"]) for e in errors)


def test_the_fixture_package_is_valid(package):
    assert validate_package(package) == []


def test_five_mistakes_give_five_errors_with_codes_and_pointers(package):
    package["forms"][0]["fields"].append({"key": "created_at", "label": "建档", "widget": "text"})  # reserved
    package["forms"][1]["fields"][1]["config"]["form"] = "供应商"                                   # unknown link target
    package["roles"][0]["permissions"]["customer"].append("approve")                                 # unknown verb
    package["reports"][0]["dimensions"][0]["field"] = "渠道"                                         # unknown field
    package["app"]["version"] = "v1"                                                                  # schema: not semver
    errors = validate_package(package)
    assert _codes(errors) == [
        ("field.reserved_key", "/forms/0/fields/2/key"),
        ("package.unknown_field", "/reports/0/dimensions/0/field"),
        ("package.unknown_form", "/forms/1/fields/1/config/form"),
        ("role.unknown_verb", "/roles/0/permissions/customer/2"),
        ("schema.pattern", "/app/version"),
    ]
    for error in errors:  # every message says what is wrong and how to fix it
        assert ": " in error["message"] or "; " in error["message"]


def test_schema_errors_come_in_document_order_with_pointers(package):
    del package["forms"][1]["fields"][0]["label"]
    package["forms"][0]["fields"][1]["colour"] = "red"
    package["forms"][0]["label"] = {"zh-CN": 1}
    errors = validation.schema_errors(package)
    assert [(e["code"], e["pointer"]) for e in errors] == [
        ("schema.type", "/forms/0/label/zh-CN"),
        ("schema.additionalProperties", "/forms/0/fields/1"),
        ("schema.required", "/forms/1/fields/0"),
    ]
    assert "colour" in errors[1]["message"] and "spelling" in errors[1]["message"]


def test_not_an_object():
    assert validate_package(b"[]")[0]["code"] == "package.not_object"


@pytest.mark.parametrize("kind", ["roles", "groups", "forms", "rules", "reports", "dashboards", "templates"])
def test_duplicate_definition_keys(package, kind):
    package[kind].append(dict(package[kind][0]))
    errors = validate_package(package)
    assert _codes(errors) == [("package.duplicate_key", f"/{kind}/{len(package[kind]) - 1}/key")]
    assert errors[0]["first"] == f"/{kind}/0/key"


def test_duplicate_field_keys_including_sub_table_fields(package):
    order = package["forms"][1]
    order["fields"].append({"key": "金额", "label": "again", "widget": "number"})
    order["fields"][3]["config"]["fields"].append({"key": "数量", "label": "again", "widget": "number"})
    assert _codes(validate_package(package)) == [
        ("package.duplicate_key", "/forms/1/fields/3/config/fields/2/key"),
        ("package.duplicate_key", "/forms/1/fields/4/key"),
    ]


def test_same_key_in_form_and_its_sub_table_is_allowed(package):
    package["forms"][1]["fields"][3]["config"]["fields"].append({"key": "金额", "label": "行金额", "widget": "number"})
    assert validate_package(package) == []


@pytest.mark.parametrize("key", ["id", "row_version", "updated_by", "_secret"])
def test_reserved_field_keys(package, key):
    package["forms"][1]["fields"][3]["config"]["fields"][0]["key"] = key
    package["forms"][1]["fields"][3]["config"]["fields"][0]["label"] = key
    assert ("field.reserved_key", "/forms/1/fields/3/config/fields/0/key") in _codes(validate_package(package))


def test_unknown_widget_and_bad_widget_config(package):
    package["forms"][0]["fields"][0]["widget"] = "hologram"
    package["forms"][0]["fields"][1]["config"] = {"decimals": 99}
    errors = validate_package(package)
    assert _codes(errors) == [("field.invalid_config", "/forms/0/fields/1/config/decimals"),
                              ("field.unknown_widget", "/forms/0/fields/0/widget")]
    unknown = next(e for e in errors if e["code"] == "field.unknown_widget")
    assert "text" in unknown["message"] and unknown["widget"] == "hologram"  # names the known widgets


def test_title_field_and_layout(package):
    package["forms"][0]["title_field"] = "phone"
    package["forms"][1]["layout"][0]["tabs"][1]["items"] = ["明细", "金额", {"type": "section", "items": ["备注"]}]
    errors = validate_package(package)
    assert _codes(errors) == [
        ("form.unknown_title_field", "/forms/0/title_field"),
        ("layout.duplicate_field", "/forms/1/layout/0/tabs/1/items/1"),
        ("layout.unknown_field", "/forms/1/layout/0/tabs/1/items/2/items/0"),
    ]
    assert errors[1]["first"] == "/forms/1/layout/0/tabs/0/items/2"


def test_sample_names_unknown_field(package):
    package["forms"][1]["sample"]["折扣"] = {"weights": {"1": 1}}
    assert _codes(validate_package(package)) == [("package.unknown_field", "/forms/1/sample/折扣")]


def test_role_permissions_name_forms_and_verbs(package):
    package["roles"][0]["permissions"]["ghost"] = ["read", "fly"]
    assert _codes(validate_package(package)) == [("package.unknown_form", "/roles/0/permissions/ghost"),
                                                 ("role.unknown_verb", "/roles/0/permissions/ghost/1")]


def test_rule_references(package):
    rule = package["rules"][0]
    rule["condition"]["all"].append({"any": [{"field": "客户.phone"}, {"field": "明细.品名"}, {"field": "明细.颜色"}]})
    rule["actions"].append({"type": "create_record", "form": "customer", "field": "name"})
    rule["actions"].append({"type": "create_record", "form": "customer", "field": "编号"})
    rule["actions"].append({"type": "set_field", "field": "金额.x"})
    errors = validate_package(package)  # the rule engine adds what it finds in these made-up actions
    assert _codes(e for e in errors if e["code"].startswith("package.")) == [
        ("package.unknown_field", "/rules/0/actions/2/field"),
        ("package.unknown_field", "/rules/0/actions/3/field"),
        ("package.unknown_field", "/rules/0/condition/all/2/any/0/field"),
        ("package.unknown_field", "/rules/0/condition/all/2/any/2/field"),
    ]


def test_rule_form_unknown(package):
    package["rules"][0]["form"] = "发票"
    assert _codes(validate_package(package)) == [("package.unknown_form", "/rules/0/form")]


def test_report_fields_allow_system_columns_and_join_aliases(package):
    report = package["reports"][0]
    report["joins"] = [{"field": "客户", "as": "c"}]
    report["filters"] += [{"field": "c.vip", "op": "gte", "value": 1}, {"field": "c.level", "op": "eq", "value": 1},
                          {"field": "updated_by", "op": "eq", "value": 7}]
    assert _codes(validate_package(package)) == [("package.unknown_field", "/reports/0/filters/2/field")]


def test_report_form_and_dashboard_report_unknown(package):
    package["reports"][0]["form"] = "发票"
    package["dashboards"][0]["charts"][0]["report"] = "nope"
    assert _codes(validate_package(package)) == [("package.unknown_form", "/reports/0/form"),
                                                 ("package.unknown_report", "/dashboards/0/charts/0/report")]


FLOW = {"key": "approve", "version": 1, "label": "审批", "form": "订单",
        "nodes": [{"id": "start", "type": "start"}, {"id": "审核", "type": "user_task"}, {"id": "end", "type": "end"}],
        "edges": [{"id": "e1", "from": "start", "to": "审核"}, {"id": "e2", "from": "审核", "to": "end",
                                                                "condition": "金额 > 100"}]}


def test_flow_checks(package):
    package["flows"] = [FLOW, {**FLOW, "key": "broken", "form": "ghost",
                               "nodes": FLOW["nodes"] + [{"id": "end", "type": "end"}],
                               "edges": FLOW["edges"] + [{"id": "e1", "from": "审核", "to": "nowhere"}]}]
    assert _codes(validate_package(package)) == [
        ("flow.dangling_edge", "/flows/1/edges/2/to"),
        ("flow.duplicate_id", "/flows/1/edges/2/id"),
        ("flow.duplicate_id", "/flows/1/nodes/3/id"),
        ("package.unknown_form", "/flows/1/form"),
    ]


def test_expressions_are_compiled_where_they_appear(package):
    package["forms"][0]["fields"][0]["visible_if"] = "vip > 1"
    package["forms"][0]["fields"][1]["required_if"] = "name !"
    package["forms"][1]["fields"][3]["config"]["fields"][1]["formula"] = "1 !"
    package["rules"][0]["condition"]["all"].append({"expr": "金额 !"})
    package["reports"][0]["filter_expr"] = "金额 > 0"
    package["flows"] = [dict(FLOW, edges=[*FLOW["edges"][:1], {**FLOW["edges"][1], "condition": "金额 !"}])]
    errors = [e for e in validate_package(package) if e["code"].startswith("expr.")]
    assert _codes(errors) == [("expr.syntax", "/flows/0/edges/1/condition"),
                              ("expr.syntax", "/forms/0/fields/1/required_if"),
                              ("expr.syntax", "/forms/1/fields/3/config/fields/1/formula"),
                              ("expr.syntax", "/rules/0/condition/all/2/expr")]
    required_if = next(e for e in errors if e["pointer"] == "/forms/0/fields/1/required_if")
    assert required_if["expression"] == "name !" and "position" in required_if  # the compiler's context is kept


def test_broken_shapes_give_schema_errors_not_crashes(package):
    package["forms"][0]["fields"] = {"name": "not a list"}
    package["forms"][1]["layout"] = "no"
    package["roles"][0]["permissions"] = ["read"]
    package["rules"][0]["condition"] = [1, None, "x"]
    package["flows"] = [{"key": "f", "version": 1, "nodes": "x", "edges": [1]}]
    codes = _codes(validate_package(package))
    for expected in [("schema.type", "/forms/0/fields"), ("schema.type", "/forms/1/layout"),
                     ("schema.type", "/roles/0/permissions"), ("schema.type", "/rules/0/condition")]:
        assert expected in codes


def test_pointer_escapes_tilde_and_slash():
    assert validation.pointer("a/b", "m~n", 0) == "/a~1b/m~0n/0"


def test_role_row_scopes_and_field_rules_are_checked_against_the_forms():
    """A row scope names a user/group field of a form the role is granted; field rules name real fields."""
    from tests.expense_package import package
    data = package()
    assert validate_package(data) == []
    employee, manager, auditor = data["roles"]
    employee["rows"]["claim"] = {"scope": "own", "field": "team"}          # a group field, not a user field
    manager["rows"]["claim"] = {"scope": "groups", "field": "nope"}
    auditor["rows"]["claim"] = {"scope": "condition", "condition": "amont > 5"}
    auditor["rows"]["claim_comment"] = {"scope": "all"}                    # auditors are not granted comments
    employee["fields"]["claim"]["secret"] = "hidden"
    employee["fields"]["claim"]["title"] = "invisible"                     # not a level
    found = {(e["code"], e.get("pointer")) for e in validate_package(data)}
    assert ("role.scope_field", "/roles/0/rows/claim/field") in found
    assert ("package.unknown_field", "/roles/1/rows/claim/field") in found
    assert ("package.unknown_field", "/roles/2/rows/claim/condition") in found
    assert ("role.not_granted", "/roles/2/rows/claim_comment") in found
    assert ("package.unknown_field", "/roles/0/fields/claim/secret") in found
    assert any(p == "/roles/0/fields/claim/title" for _, p in found)
