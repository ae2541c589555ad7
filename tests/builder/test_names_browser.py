"""Names, not keys, in Chromium (issue 18 item 1): the library app's fields have generated keys; the
builder types a condition with labels, the draft stores keys, the editor and the flow diagram show labels."""
import json

import pytest

from tests.builder.test_names import _package
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_a_condition_typed_with_labels_is_saved_with_keys_and_shown_with_labels(jimu, live_server, page):
    install_package(jimu, _package())
    make_user(jimu, "lib", roles=["librarian"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "lib")
    page.goto(f"{live_server}/builder/apps/library/forms/loan_form")
    page.locator('.field-card[data-key="number_1"]').click()
    picker = page.get_by_label("显示条件: 插入字段…")
    assert "radio_1" not in picker.inner_text() and "借阅类型" in picker.inner_text()
    box = page.locator("#prop-visible_if")
    box.type("借")                                            # autocomplete offers the label
    page.wait_for_selector("#prop-visible_if-list li")
    assert "借阅类型" in page.locator("#prop-visible_if-list").inner_text()
    page.keyboard.press("Enter")
    box.type(' == "其他"')
    page.locator("#prop-visible_if-msg .expr-ok").wait_for()
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled || "
                           "document.getElementById('save-state').textContent.includes('已保存')")
    page.wait_for_timeout(200)
    draft = json.loads(page.evaluate("fetch('/builder/api/apps/library/draft').then(r => r.text())"))
    field = next(f for f in draft["package"]["forms"][0]["fields"] if f["key"] == "number_1")
    assert field["visible_if"] == 'radio_1 == "其他"'

    page.reload()
    page.locator('.field-card[data-key="number_1"]').click()
    assert page.locator("#prop-visible_if").input_value() == '借阅类型 == "其他"'

    # deleting 借阅类型 shows first what uses it; cancelling keeps it
    page.locator('.field-card[data-key="radio_1"]').focus()
    page.keyboard.press("Delete")
    refs = page.locator("#delete-refs li")
    refs.first.wait_for()
    assert sorted(refs.all_inner_texts()) == sorted(["表单 '借阅申请' 的字段 '天数'", "流程 '借阅审批' 的连线 '条件分支 → 人工任务'"])
    page.get_by_role("button", name="取消").click()
    assert page.locator('.field-card[data-key="radio_1"]').count() == 1

    # the flow designer's diagram reads the same way
    page.goto(f"{live_server}/builder/apps/library/flows/loan_flow")
    page.wait_for_selector(".fd-edge-label")
    canvas = page.locator("svg").first.text_content()
    assert "借阅类型" in canvas and "radio_1" not in canvas
    assert not errors


def test_rename_and_delete_on_the_app_page(jimu, live_server, page):
    """Before: nothing could be renamed or deleted (only the whole draft discarded). (A new form's key is
    generated apart from every other app's now: test_messages.test_a_new_items_generated_key_...)"""
    import copy
    from tests.builder.test_preview_samples import _archive
    package = _package()
    package["reports"] = [{"key": "by_type", "version": 1, "label": "按类型", "type": "pie", "form": "loan_form",
                           "dimensions": [{"field": "radio_1"}], "measures": [{"key": "n", "agg": "count"}]}]
    package["dashboards"] = [{"key": "board", "version": 1, "label": "概览",
                              "charts": [{"report": "by_type", "x": 0, "y": 0, "w": 6, "h": 4}]}]
    install_package(jimu, package)
    install_package(jimu, copy.deepcopy(_archive()))
    make_user(jimu, "lib", roles=["librarian"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "lib")
    page.goto(f"{live_server}/builder/apps/library")
    page.wait_for_selector("#kinds a")
    assert "loan_form" not in page.locator("#kinds").inner_text()           # keys stay off the page

    # rename: a new name, the same key
    page.locator('[data-rename="by_type"]').click()
    page.fill("#rename-box", "借阅类型分布")
    page.locator("#confirm-rename").click()
    page.wait_for_function("document.querySelector('#kinds').textContent.includes('借阅类型分布')")

    # delete: what refers to it is shown first
    page.locator('[data-delete="by_type"]').click()
    refs = page.locator("#delete-refs li")
    refs.first.wait_for()
    assert refs.all_inner_texts() == ["仪表盘 '概览' 的第 1 个图表"]
    page.locator("#confirm-delete").click()
    page.wait_for_function("!document.querySelector('[data-delete=\"by_type\"]')")
    # the item leaves the page at once; the draft has it gone when the save is announced
    page.wait_for_function("document.getElementById('builder-status').textContent.includes('已删除')")
    draft = json.loads(page.evaluate("fetch('/builder/api/apps/library/draft').then(r => r.text())"))
    assert draft["package"]["reports"] == [] and draft["package"]["forms"][0]["label"] == FORM_LABEL
    assert not errors


def test_a_second_edit_saved_while_the_first_is_on_its_way_is_not_taken_for_someone_elses(jimu, live_server, page):
    """Before: a delete confirmed while the rename's save was still on its way was sent with the revision the
    rename started from; one of the two saves was refused (409) and the page said someone else had changed
    the draft (a CI run on a loaded machine saw the delete lost). The page's own saves now go in turn."""
    package = _package()
    package["reports"] = [{"key": "by_type", "version": 1, "label": "按类型", "type": "pie", "form": "loan_form",
                           "dimensions": [{"field": "radio_1"}], "measures": [{"key": "n", "agg": "count"}]}]
    install_package(jimu, package)
    make_user(jimu, "lib", roles=["librarian"])
    browser_login(page, live_server, "lib")
    page.goto(f"{live_server}/builder/apps/library")
    page.wait_for_selector("#kinds a")
    held, statuses = [], []

    def hold_first_save(route):
        if route.request.method == "PUT" and not held:
            held.append(route)            # answered below, after the second edit
        else:
            route.continue_()
    page.route("**/builder/api/apps/library/draft", hold_first_save)
    page.on("response", lambda r: statuses.append(r.status) if r.request.method == "PUT" else None)

    page.locator('[data-rename="by_type"]').click()
    page.fill("#rename-box", "借阅类型分布")
    page.locator("#confirm-rename").click()
    for _ in range(500):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the rename was never saved"
    page.locator('[data-delete="by_type"]').click()
    page.locator("#confirm-delete").click()
    page.wait_for_timeout(300)            # time enough for a second save to go out beside the first
    held[0].continue_()
    # both saves answered: the delete's announced, or the page's conflict message shown
    page.wait_for_function("document.getElementById('builder-status').textContent.includes('已删除') || "
                           "document.getElementById('save-state').textContent.includes('草稿已被他人修改')")
    for _ in range(500):
        if len(statuses) >= 2:
            break
        page.wait_for_timeout(20)
    assert statuses == [200, 200], statuses
    assert "草稿已被他人修改" not in page.locator("#save-state").inner_text()
    draft = json.loads(page.evaluate("fetch('/builder/api/apps/library/draft').then(r => r.text())"))
    assert draft["package"]["reports"] == []


FORM_LABEL = {"zh-CN": "借阅申请", "en": "Loan request"}
