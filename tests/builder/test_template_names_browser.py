"""Names, not keys, in a rule's message template: the fields of a form made in the builder have generated
keys (text_1, radio_1); the template box shows and inserts {书名} / {Title}, the variable list offers names,
and the draft stores the keys (renaming a field rewrites nothing). The crumbs name the app, not its key."""
from __future__ import annotations

import pytest

from tests.builder.steps_people import directory
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

APP = "library"
FORM = {"key": "form_1", "version": 1, "label": {"zh-CN": "借阅", "en": "Loans"},
        "fields": [{"key": "text_1", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"},
                   {"key": "radio_1", "label": {"zh-CN": "状态", "en": "State"}, "widget": "radio",
                    "config": {"options": [{"value": "借出", "label": "借出"}, {"value": "归还", "label": "归还"}]}},
                   {"key": "user_1", "label": {"zh-CN": "借阅人", "en": "Borrower"}, "widget": "user"}]}
RULE = {"key": "rule_1", "version": 1, "label": {"zh-CN": "借阅通知", "en": "Loan notice"}, "form": "form_1",
        "trigger": {"type": "record_created"},
        "actions": [{"type": "notify", "channel": "email", "to": {"user_fields": ["user_1"]},
                     "subject": "{text_1} 已借出", "body": "你好"}]}


def _stored_action(jimu):
    from builder import drafts
    with jimu.read() as conn:
        return drafts.get_draft(conn, APP)["package"]["rules"][0]["actions"][0]


def _open_the_rule(jimu, live_server, page):
    """The library's draft with its loan form and notice rule, opened in the rule designer by a designer."""
    from builder import drafts
    install_package(jimu, directory())
    bea = make_user(jimu, "bea", roles=["designer"])
    with jimu.begin() as conn:
        draft = drafts.create_app_draft(conn, APP, {"zh-CN": "图书馆", "en": "Library"}, now=jimu.now(),
                                        actor_id=bea, creator=bea)
        pkg = draft["package"]
        pkg.update(forms=[FORM], rules=[RULE])
        drafts.save_draft(conn, APP, pkg, draft["revision"], now=jimu.now(), actor_id=bea)
    browser_login(page, live_server, "bea")
    page.goto(f"{live_server}/builder/apps/{APP}/rules/rule_1")


def test_template_variables_show_names_and_store_keys(jimu, live_server, page, artifacts):
    _open_the_rule(jimu, live_server, page)
    subject = page.locator("#action-0-subject")
    subject.wait_for()
    assert subject.input_value() == "{书名} 已借出"
    assert "图书馆" in page.locator(".crumbs").inner_text() and APP not in page.locator(".crumbs").inner_text()
    options = page.eval_on_selector_all("#action-0-body-var option", "els => els.map(e => e.textContent)")
    assert {"{书名}", "{状态}", "{借阅人}"} <= set(options)
    assert not any(k in " ".join(options) for k in ("text_1", "radio_1", "user_1"))
    body = page.locator("#action-0-body")
    body.click()
    body.press("End")
    page.select_option("#action-0-body-var", value="radio_1")
    assert body.input_value() == "你好{状态}"
    body.type(", {借阅人}")                  # a name typed by hand counts as well
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")
    action = _stored_action(jimu)
    assert (action["subject"], action["body"]) == ("{text_1} 已借出", "你好{radio_1}, {user_1}")
    page.locator("#action-0").screenshot(path=str(artifacts / "rule-template-names-zh-CN.png"))

    page.goto(f"{live_server}/builder/apps/{APP}/rules/rule_1?lang=en")
    page.locator("#action-0-subject").wait_for()
    assert page.locator("#action-0-subject").input_value() == "{Title} 已借出"
    assert page.locator("#action-0-body").input_value() == "你好{State}, {Borrower}"
    page.locator("#action-0").screenshot(path=str(artifacts / "rule-template-names-en.png"))


def test_a_new_app_needs_only_its_name(jimu, live_server, page):
    """新建应用 with a name only: the key is made from the name, and one already taken gets _2; the key box
    waits under 高级 (advanced)."""
    from builder import drafts
    install_package(jimu, directory())
    bea = make_user(jimu, "bea", roles=["designer"])
    with jimu.begin() as conn:
        drafts.create_app_draft(conn, "图书馆", "图书馆", now=jimu.now(), actor_id=bea, creator=bea)
    browser_login(page, live_server, "bea")
    page.goto(f"{live_server}/builder/")
    assert not page.locator("#new-app-key").is_visible()
    page.fill("#new-app-label", "图书馆")
    page.locator("#new-app-label").press("Enter")
    page.wait_for_url("**/builder/apps/%E5%9B%BE%E4%B9%A6%E9%A6%86_2")
    assert page.locator("#app-title").inner_text() == "图书馆"


def test_a_notification_shows_the_settings_of_its_channel_only(jimu, live_server, page, artifacts):
    """An e-mail notification offered the SMS vendor's template code, parameters and signature and the
    webhook's URL beside its copies and files; each channel now shows what it reads (the registry says)."""
    _open_the_rule(jimu, live_server, page)
    page.locator("#action-0-subject").wait_for()

    def shown(*keys):
        return {k for k in keys if page.locator(f"#action-0-{k}").count()}
    others = ("sms_template", "params", "sign_name", "url", "secret", "mentions")
    assert shown("cc", "attach", "auto_submitted") == {"cc", "attach", "auto_submitted"}
    assert shown(*others) == set()
    page.select_option("#action-0-channel", value="sms")
    page.locator("#action-0-sms_template").wait_for()
    assert shown("sms_template", "params", "sign_name") == {"sms_template", "params", "sign_name"}
    assert shown("cc", "attach", "auto_submitted", "url", "mentions") == set()
    page.select_option("#action-0-channel", value="wecom")
    page.locator("#action-0-url").wait_for()
    assert shown("url", "mentions", "mention_all") == {"url", "mentions", "mention_all"}
    assert shown("cc", "sms_template", "secret") == set()
    page.locator("#action-0").screenshot(path=str(artifacts / "rule-notify-wecom-zh-CN.png"))
