"""Names, not keys (issue 18 item 1), from the outside: a library app whose fields carry generated
keys (radio_1, text_1) and human labels. The builder's expression check takes labels, answers the text
to store with keys, refuses a label two fields share naming both, and the end user's process page
shows labels and step names, never keys."""
import copy

import pytest

from tests.builder.test_api import login
from tests.conftest import install_package, make_user

# the database is not what these tests are about (the report previews' PostgreSQL path is
# tests/builder/test_report_preview_api.py's): SQLite keeps them fast
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORM = {"key": "loan_form", "version": 1, "label": {"zh-CN": "借阅申请", "en": "Loan request"}, "fields": [
    {"key": "text_1", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"},
    {"key": "radio_1", "label": {"zh-CN": "借阅类型", "en": "Loan type"}, "widget": "radio",
     "config": {"options": ["馆内", "外借", "其他"]}},
    {"key": "number_1", "label": {"zh-CN": "天数", "en": "Days"}, "widget": "number"}]}
FLOW = {"key": "loan_flow", "version": 1, "form": "loan_form", "label": "借阅审批", "start": "on_create",
        "nodes": [{"id": "start_1", "type": "start"}, {"id": "gateway_1", "type": "exclusive_gateway"},
                  {"id": "user_task_1", "type": "user_task",
                   "config": {"assignee": {"kind": "role", "value": "librarian"}}},
                  {"id": "end_1", "type": "end"}],
        "edges": [{"id": "e1", "from": "start_1", "to": "gateway_1"},
                  {"id": "e2", "from": "gateway_1", "to": "user_task_1", "condition": 'radio_1 == "其他"'},
                  {"id": "e3", "from": "gateway_1", "to": "end_1", "default": True},
                  {"id": "e4", "from": "user_task_1", "to": "end_1"}]}


def _package():
    return {"format": "jimu.app", "version": 2, "app": {"key": "library", "version": "1.0.0", "label": "图书馆"},
            "roles": [{"key": "librarian", "version": 1, "label": "Librarian", "builder": True,
                       "permissions": {"loan_form": ["create", "read", "update"]}}],
            "forms": [copy.deepcopy(FORM)], "flows": [copy.deepcopy(FLOW)]}


@pytest.fixture
def lib(jimu, client):
    install_package(jimu, _package())
    make_user(jimu, "lib", roles=["librarian"])
    return login(client, "lib")


def _fields(form=FORM):
    return [{"key": f["key"], "label": f["label"]} for f in form["fields"]]


def test_an_expression_typed_with_labels_is_stored_with_keys(lib):
    resp = lib.post("/builder/api/expr/check", json={"source": '借阅类型 == "其他" and 天数 > 30', "fields": _fields()})
    body = resp.get_json()
    assert body["ok"], body
    assert body["source"] == 'radio_1 == "其他" and number_1 > 30'
    assert body["names"] == ["number_1", "radio_1"]
    # the English labels work the same; a text that merely looks like a label stays text
    body = lib.post("/builder/api/expr/check", json={"source": 'Loan type == "借阅类型"', "fields": _fields()}).get_json()
    assert body["source"] == 'radio_1 == "借阅类型"'
    # before: labels were unknown names (only keys were given to the check)
    old = lib.post("/builder/api/expr/check", json={"source": '借阅类型 == "其他"',
                                                    "names": [f["key"] for f in FORM["fields"]]}).get_json()
    assert not old["ok"] and old["error"]["code"] == "expr.unknown_name"


def test_a_label_two_fields_share_is_a_clear_error_naming_both(lib):
    fields = _fields() + [{"key": "select_2", "label": "借阅类型"}]
    body = lib.post("/builder/api/expr/check", json={"source": '天数 > 1 and 借阅类型 == "其他"', "fields": fields}).get_json()
    assert not body["ok"]
    error = body["error"]
    assert error["code"] == "expr.ambiguous_name" and set(error["fields"]) == {"radio_1", "select_2"}
    assert error["position"] == len("天数 > 1 and ") + 1          # at the name as typed


def test_an_unknown_name_points_at_what_was_typed(lib):
    typed = '借阅类型 == "其他" and 作者 == "x"'
    error = lib.post("/builder/api/expr/check", json={"source": typed, "fields": _fields()}).get_json()["error"]
    assert error["code"] == "expr.unknown_name" and error["position"] == typed.index("作者") + 1
    assert error["expression"] == typed


def test_the_process_page_shows_labels_not_keys(jimu, lib):
    resp = lib.post("/api/v1/forms/loan_form/records", json={"text_1": "三体", "radio_1": "其他", "number_1": 3})
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    page = lib.get(f"/forms/loan_form/{rid}/process").get_data(as_text=True)
    assert "借阅类型 == &#34;其他&#34;" in page or '借阅类型 == "其他"' in page
    assert "radio_1" not in page
    assert ">user_task_1<" not in page and "人工任务" in page


def test_what_refers_to_a_field_or_a_form_is_listed_before_deleting(lib):
    report = {"key": "by_type", "version": 1, "label": "按类型", "type": "pie", "form": "loan_form",
              "dimensions": [{"field": "radio_1"}], "measures": [{"key": "n", "agg": "count"}]}
    draft = lib.get("/builder/api/apps/library/draft").get_json()
    package = draft["package"]
    package["reports"] = [report]
    package["dashboards"] = [{"key": "board", "version": 1, "label": "概览",
                              "charts": [{"report": "by_type", "x": 0, "y": 0, "w": 6, "h": 4}]}]
    ask = lambda **body: lib.post("/builder/api/apps/library/references?lang=zh-CN",  # noqa: E731
                                  json={"package": package, **body}).get_json()["references"]
    assert [r["where"] for r in ask(kind="forms", key="loan_form", field="radio_1")] == [
        "流程 '借阅审批' 的连线 '条件分支 → 人工任务'", "报表 '按类型' 的第 1 个维度"]
    assert [r["where"] for r in ask(kind="forms", key="loan_form")] == [
        "流程 '借阅审批'", "报表 '按类型'", "角色 'Librarian'"]
    assert [r["where"] for r in ask(kind="reports", key="by_type")] == ["仪表盘 '概览' 的第 1 个图表"]
    assert ask(kind="forms", key="loan_form", field="number_1") == []
    # once deleted, the draft's check flags each of them in words
    package["reports"] = []
    checked = lib.post("/builder/api/apps/library/draft/validate?lang=zh-CN", json={"package": package}).get_json()
    assert "仪表盘 '概览' 的第 1 个图表 用到了不存在的报表 'by_type'" in [e["message"] for e in checked["errors"]]
