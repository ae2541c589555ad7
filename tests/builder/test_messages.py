"""One language on screen (issue 18 item 5), from the outside with a library app: the builder's check
and publish say what is wrong in the UI language naming the object ("规则 '两小时未处理提醒' 没有动作"),
not ``/rules/0/actions [] should be non-empty``; a form named like another app's is refused at once;
report previews word their refusals."""
import copy

import pytest

from tests.builder.test_api import login
from tests.builder.test_names import _package
from tests.conftest import install_package, make_user

# the database is not what these tests are about (the report previews' PostgreSQL path is
# tests/builder/test_report_preview_api.py's): SQLite keeps them fast
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

RULE = {"key": "overdue", "version": 1, "label": {"zh-CN": "两小时未处理提醒", "en": "Two-hour reminder"},
        "form": "loan_form", "trigger": {"type": "record_created"}, "actions": []}


@pytest.fixture
def lib(jimu, client):
    install_package(jimu, _package())
    make_user(jimu, "lib", roles=["librarian"])
    return login(client, "lib")


def _save(client, mutate):
    draft = client.get("/builder/api/apps/library/draft").get_json()
    mutate(draft["package"])
    resp = client.put("/builder/api/apps/library/draft", json={"package": draft["package"], "revision": draft["revision"]})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["revision"]


def test_publish_errors_name_the_rule_in_the_ui_language(lib):
    revision = _save(lib, lambda p: p.setdefault("rules", []).append(copy.deepcopy(RULE)))
    resp = lib.post("/builder/api/apps/library/publish?lang=zh-CN", json={"revision": revision})
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    (error,) = [e for e in body["errors"] if e["pointer"] == "/rules/0/actions"]
    assert error["message"] == "规则 '两小时未处理提醒' 没有动作"
    assert error["code"] == "schema.minItems" and "non-empty" in error["detail"]    # the code stays for scripts
    assert "草稿有" in body["message"]

    checked = lib.post("/builder/api/apps/library/draft/validate?lang=en", json={}).get_json()
    (error,) = [e for e in checked["errors"] if e["pointer"] == "/rules/0/actions"]
    assert error["message"] == "Rule 'Two-hour reminder' has no actions"


def test_a_flow_condition_problem_names_the_flow_and_its_connection(lib):
    def bad_condition(p):
        p["flows"][0]["edges"][1]["condition"] = '作者 == "x"'
    _save(lib, bad_condition)
    checked = lib.post("/builder/api/apps/library/draft/validate?lang=zh-CN", json={}).get_json()
    texts = [e["message"] for e in checked["errors"]]
    assert any(t.startswith("流程 '借阅审批' 的连线 '条件分支 → 人工任务'") and "'作者'" in t for t in texts), texts
    assert not any("/flows/" in t or "unknown name" in t for t in texts)


def test_an_expression_error_is_worded_in_chinese_for_a_chinese_builder(lib):
    resp = lib.post("/builder/api/expr/check?lang=zh-CN", json={
        "source": '作者 == "x"', "fields": [{"key": "text_1", "label": "书名"}]}).get_json()
    assert resp["error"]["message"] == "条件用到了 '作者', 它不是本表单的字段"


def test_a_new_items_generated_key_is_one_no_app_holds(jimu, lib):
    """Before: the builder typed a key, and one another app held was accepted, then refused at publish.
    Now "+ 新建表单" asks for a generated key: form_1 is taken by another app here, so this one gets form_2."""
    other = copy.deepcopy(_package())
    other["app"] = {"key": "archive", "version": "1.0.0", "label": {"zh-CN": "档案馆", "en": "Archive"}}
    other["forms"][0]["key"] = "form_1"
    other["roles"], other["flows"] = [], []
    install_package(jimu, other)
    assert lib.get("/builder/api/apps/library/names/forms").get_json() == {"key": "form_2"}
    assert lib.get("/builder/api/apps/library/names/flows").get_json() == {"key": "flow_1"}
    assert lib.get("/builder/api/apps/library/names/nonsense").status_code == 400
    assert lib.get("/builder/api/apps/archive/names/forms").status_code == 403      # not this builder's app


def test_a_report_preview_refusal_is_worded(lib):
    bad = {"key": "by_type", "version": 1, "label": "按类型", "type": "kpi", "form": "loan_form",
           "dimensions": [{"field": "radio_1"}], "measures": [{"key": "n", "agg": "count"}]}
    resp = lib.post("/builder/api/apps/library/reports/preview?lang=zh-CN", json={"report": bad})
    assert resp.status_code == 422
    (error,) = resp.get_json()["error"]["errors"]
    assert error["code"] == "report.dimension_count" and error["message"].startswith("报表 '按类型' ")
    assert "维度" in error["message"]


def test_end_users_read_validation_messages_in_their_language_only(jimu, client):
    """Before: "Title is required / 请填写书名" on the form page, whatever the reader's language."""
    package = _package()
    package["forms"][0]["fields"][0]["required"] = True
    install_package(jimu, package)
    make_user(jimu, "lib", roles=["librarian"])
    user = login(client, "lib")
    with user.session_transaction() as s:
        token = s["csrf"]
    for lang, wanted, unwanted in (("zh-CN", "请填写书名", "is required"), ("en", "Title is required", "请填写")):
        resp = user.post(f"/forms/loan_form/new?lang={lang}", data={"csrf_token": token, "radio_1": "外借"})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422 and wanted in page and unwanted not in page, (lang, page[:2000])
