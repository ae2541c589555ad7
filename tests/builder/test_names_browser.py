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

    # the flow designer's diagram reads the same way
    page.goto(f"{live_server}/builder/apps/library/flows/loan_flow")
    page.wait_for_selector(".fd-edge-label")
    canvas = page.locator("svg").first.text_content()
    assert "借阅类型" in canvas and "radio_1" not in canvas
    assert not errors
