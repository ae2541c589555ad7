"""Reusable UI steps for the rule designer: what a business user does, with clicks and typing only.

``build_unresolved_mail_rule`` is called by the rule designer's own browser test and by the combined
acceptance test after a form has been built: from the app page it creates a rule that e-mails the
record's assignee when the record is still unresolved 2 hours after creation, and publishes it.
"""
from __future__ import annotations

from typing import Iterable


def new_rule(page, live_server: str, app_key: str, rule_label: str, rule_key: str | None = None) -> None:
    """A new rule's designer (``steps_form.new_item``) named ``rule_label``."""
    from tests.builder.steps_form import new_item
    new_item(page, live_server, app_key, "rules", rule_key, rule_label)
    page.wait_for_selector("#rule-trigger-type")
    if rule_key is None:
        page.fill("#rule-label-zh", rule_label)


def choose(page, selector: str, *, value: str | None = None, label: str | None = None) -> None:
    """Pick an option of a <select> (the user clicks it and chooses)."""
    if value is not None:
        page.select_option(selector, value=value)
    else:
        page.select_option(selector, label=label)


def set_time_trigger(page, *, hours: float = 2, field: str = "created_at") -> None:
    choose(page, "#rule-trigger-type", value="time_after")
    page.wait_for_selector("#rule-trigger-amount")
    choose(page, "#rule-trigger-field", value=field)
    choose(page, "#rule-trigger-direction", value="after")
    page.fill("#rule-trigger-amount", str(hours))
    choose(page, "#rule-trigger-unit", value="hours")


def add_field_condition(page, field: str, op: str, values: Iterable[str] = (), *, group_id: str = "cond-root") -> str:
    """Add a field test to a condition group; ``values`` are ticked (options) or typed (comma-separated)."""
    before = page.locator(f"#{group_id} > .rule-items > li").count()
    page.locator(f"#{group_id}-add").click()
    prefix = f"cond-{before}" if group_id == "cond-root" else f"{group_id}-{before}"
    page.wait_for_selector(f"#{prefix}-field")
    choose(page, f"#{prefix}-field", value=field)
    choose(page, f"#{prefix}-op", value=op)
    values = list(values)
    if values:
        box = page.locator(f"#{prefix}-value")
        box.wait_for()
        if box.evaluate("el => el.tagName") == "FIELDSET":
            for v in values:
                box.get_by_label(v, exact=True).check()
        elif box.evaluate("el => el.tagName") == "SELECT":
            box.select_option(label=values[0])
        else:
            box.click()
            box.type(", ".join(values))
    return prefix


def type_template(page, box_id: str, parts: Iterable[tuple[str, str]]) -> None:
    """Type into a template box; ("text", "...") is typed, ("var", "field_key") is inserted from the variable list."""
    box = page.locator(f"#{box_id}")
    box.click()
    box.press("End")
    for kind, value in parts:
        if kind == "text":
            box.type(value)
        else:
            page.select_option(f"#{box_id}-var", value=value)
            box.press("End")


def add_mail_action(page, *, user_fields: Iterable[str] = (), subject: Iterable[tuple[str, str]],
                    body: Iterable[tuple[str, str]], people: Iterable[str] = ()) -> int:
    """Add "发送通知" by e-mail to the people named in ``user_fields`` and to ``people`` of the record's
    process (``assignee``: 当前处理人, ``lead``: 当前处理人的组长, ``submitter``: 提交人, each one
    checkbox); returns the action's index."""
    index = page.locator("#rule-action-list > li").count()
    choose(page, "#rule-add-action", value="notify")
    page.wait_for_selector(f"#action-{index}")
    choose(page, f"#action-{index}-channel", value="email")
    for key in user_fields:
        page.locator(f'#action-{index}-to-user_fields input[value="{key}"]').check()
    for who in people:
        page.locator(f"#action-{index}-to-{who}").check()
    type_template(page, f"action-{index}-subject", subject)
    type_template(page, f"action-{index}-body", body)
    return index


def publish(page) -> str:
    """Publish the draft: the diff dialog, confirm; returns the status line's text."""
    page.locator("#btn-publish").click()
    page.locator("dialog.builder-dialog").wait_for()
    page.locator("#confirm-publish").click()
    page.wait_for_function("document.getElementById('builder-status').textContent.includes('发布成功')"
                           " || document.getElementById('builder-status').textContent.includes('Published')")
    return page.locator("#builder-status").inner_text()


def build_unresolved_mail_rule(page, live_server: str, app_key: str, form_key: str, status_field: str, *,
                               assignee_field: str, resolved: Iterable[str] = ("已解决", "已关闭"),
                               title_field: str | None = None, rule_key: str = "unresolved_2h",
                               rule_label: str = "2 小时未解决提醒", hours: float = 2,
                               dry_run: bool = True, screenshot: str | None = None) -> None:
    """Through the UI alone: a rule on ``form_key`` that, ``hours`` after a record is created, e-mails the
    user named in ``assignee_field`` when ``status_field`` is none of ``resolved``; then publish it.

    ``status_field`` may be a choice field (its options are ticked) or a text field (the values are typed).
    """
    new_rule(page, live_server, app_key, rule_label, rule_key)
    if page.locator("#rule-form").input_value() != form_key:
        choose(page, "#rule-form", value=form_key)
    set_time_trigger(page, hours=hours)
    add_field_condition(page, status_field, "not_in", resolved)
    title = [("var", title_field)] if title_field else [("var", "id")]
    add_mail_action(page, user_fields=[assignee_field],
                    subject=[("text", f"{hours:g} 小时仍未解决: ")] + title,
                    body=[("text", "记录 ")] + title + [("text", " 创建后仍未解决, 当前状态: "), ("var", status_field)])
    if dry_run:
        page.locator("#btn-dry-run").click()
        page.wait_for_selector("#rule-dry-summary, #rule-dry-result .error-list, #rule-dry-result [role=alert]")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    publish(page)


def build_still_at_step_mail_rule(page, live_server: str, app_key: str, form_key: str, step_label: str, *,
                                  title_field: str | None = None, rule_key: str | None = None,
                                  rule_label: str = "2 小时未处理提醒", hours: float = 2,
                                  screenshot: str | None = None) -> None:
    """Through the UI alone, the tutorial rule without a status field: ``hours`` after a record is
    created, while its flow still waits at the step labelled ``step_label`` (流程节点 = 处理中), e-mail
    the person who holds that task now (当前处理人); then publish it."""
    new_rule(page, live_server, app_key, rule_label, rule_key)
    if page.locator("#rule-form").input_value() != form_key:
        choose(page, "#rule-form", value=form_key)
    set_time_trigger(page, hours=hours)
    add_field_condition(page, "process.node", "eq", [step_label])
    title = [("var", title_field)] if title_field else [("var", "id")]
    add_mail_action(page, people=["assignee"], subject=[("text", f"{hours:g} 小时未处理: ")] + title,
                    body=[("text", "记录 ")] + title + [("text", f" 仍在{step_label}")])
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    publish(page)
