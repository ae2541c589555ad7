"""The form designer in Chromium: a builder adds fields by drag and by keyboard, labels one,
writes a visible_if (a bad one first, with the live error), previews, publishes, and the
runtime form shows the new field."""
import copy
import re

import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.sample_package import package

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _crm():
    data = copy.deepcopy(package())
    data["roles"].append({"key": "designer", "version": 1, "label": "Designer", "builder": True,
                          "permissions": {"客户": ["create", "read", "update"]}})
    return data


@pytest.fixture
def designer_page(jimu, live_server, page):
    install_package(jimu, _crm())
    make_user(jimu, "bea", roles=["designer"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page


def test_build_a_field_publish_and_use_it(designer_page, live_server, jimu, artifacts):
    page = designer_page
    page.goto(f"{live_server}/builder/")
    page.wait_for_selector(".app-card")
    page.screenshot(path=str(artifacts / "builder-home.png"), full_page=True)
    page.get_by_role("link", name="客户管理").click()
    page.wait_for_selector("#kinds a")
    page.get_by_role("link", name="客户", exact=True).click()
    page.wait_for_selector(".palette-item")
    cards = page.locator(".field-card")
    assert cards.count() == 3

    # drag a single-line text widget from the palette onto the end of the canvas
    page.locator('.palette-item[data-widget="text"]').drag_to(page.locator(".zone.top"),
                                                              target_position={"x": 200, "y": 400})
    page.wait_for_selector('.field-card[data-key="text_1"]')
    assert page.locator(".field-card").nth(3).get_attribute("data-key") == "text_1"

    # an existing card is dragged too: text_1 to the top
    page.locator('.field-card[data-key="text_1"]').drag_to(
        page.locator(".field-card").first, source_position={"x": 8, "y": 8}, target_position={"x": 40, "y": 3})
    page.wait_for_function("document.querySelector('.field-card').dataset.key === 'text_1'")
    page.get_by_role("button", name="撤销").click()
    page.wait_for_function("document.querySelectorAll('.field-card')[3].dataset.key === 'text_1'")
    page.locator('.field-card[data-key="text_1"]').click()

    # the keyboard does the same: focus a palette button, Enter adds after the selected field
    page.locator('.palette-item[data-widget="textarea"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.field-card[data-key="textarea_1"]')
    assert page.locator(".field-card").nth(4).get_attribute("data-key") == "textarea_1"
    assert page.evaluate("document.activeElement.dataset.key") == "textarea_1"
    page.keyboard.press("Alt+ArrowUp")                       # move it above text_1
    page.wait_for_function("document.querySelectorAll('.field-card')[3].dataset.key === 'textarea_1'")
    page.keyboard.press("Delete")                            # and delete it again
    page.wait_for_function("!document.querySelector('.field-card[data-key=\"textarea_1\"]')")
    page.get_by_role("button", name="撤销").click()          # undo brings it back
    page.wait_for_selector('.field-card[data-key="textarea_1"]')
    page.get_by_role("button", name="重做").click()
    page.wait_for_function("!document.querySelector('.field-card[data-key=\"textarea_1\"]')")

    # properties of text_1: label and a visible_if, bad first
    page.locator('.field-card[data-key="text_1"]').click()
    page.select_option("#prop-widget", "textarea")           # swap the widget, then take it back
    page.wait_for_function("document.querySelector('.field-card[data-key=\"text_1\"] .item-type').textContent === '多行文本'")
    page.get_by_role("button", name="撤销").click()
    page.wait_for_function("document.querySelector('.field-card[data-key=\"text_1\"] .item-type').textContent === '单行文本'")
    page.fill("#prop-label-zh", "客户姓名")
    page.fill("#prop-label-en", "Customer name")
    page.wait_for_function("document.querySelector('.field-card[data-key=\"text_1\"] .item-label').textContent.includes('客户姓名')")
    vis = page.locator("#prop-visible_if")
    vis.fill("等级 >")
    error = page.locator("#prop-visible_if-msg .expr-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "expr.syntax"
    assert re.search(r"第 \d+ 个字符", error.inner_text())
    page.locator(".problems").wait_for()                      # the draft's problems list it too
    # in words naming the field, not a JSON pointer (issue 18 item 5)
    assert "字段 '客户姓名'" in page.locator(".problems").inner_text()
    assert "/visible_if" not in page.locator(".problems").inner_text()
    page.screenshot(path=str(artifacts / "builder-form-designer-error.png"), full_page=True)

    # leaving with unsaved changes asks first; dismissing stays on the page
    asked = []
    page.once("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.locator("a.brand").click()          # any way out but the crumbs (which save on the way) asks
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"] and page.url.endswith("/forms/%E5%AE%A2%E6%88%B7")

    # autocomplete: type the start of a field name, pick it with Enter, finish the condition
    vis.fill("")
    vis.type("等")
    page.wait_for_selector("#prop-visible_if-list li")
    page.keyboard.press("Enter")
    vis.type(" > 1")
    assert vis.input_value() == "等级 > 1"
    page.locator("#prop-visible_if-msg .expr-ok").wait_for()
    page.wait_for_function("!document.querySelector('#problems') || document.querySelector('#problems').hidden")

    # the field and function pickers insert at the caret
    page.get_by_label("必填条件: 插入函数…").select_option("len")
    page.get_by_label("必填条件: 插入字段…").select_option("名称")
    assert page.locator("#prop-required_if").input_value() == "len(名称)"
    page.locator("#prop-required_if").press("End")
    page.locator("#prop-required_if").type(" > 2")
    page.locator("#prop-required_if-msg .expr-ok").wait_for()

    # live preview through the runtime renderer
    page.get_by_role("button", name="预览").click()
    frame = page.frame_locator("#preview-frame")
    frame.locator('[data-field="text_1"]').wait_for(state="attached")
    assert "客户姓名" in frame.locator('[data-field="text_1"] label').inner_text()
    page.screenshot(path=str(artifacts / "builder-form-designer.png"), full_page=True)

    # publish: the diff is shown first
    page.get_by_role("button", name="发布", exact=True).click()
    dialog = page.locator("dialog.builder-dialog")
    dialog.wait_for()
    # the diff names the field by its label; its generated key only under 高级 (advanced)
    assert "字段 新增: 客户姓名" in dialog.inner_text() and "1.0.0 → 1.0.1" in dialog.inner_text()
    assert "text_1" not in dialog.inner_text()
    dialog.locator("details.advanced > summary").click()
    assert "text_1" in dialog.locator("details.advanced").inner_text()
    page.screenshot(path=str(artifacts / "builder-publish-diff.png"))
    page.locator("#confirm-publish").click()
    page.wait_for_function("document.getElementById('builder-status').textContent.includes('1.0.1')")
    page.locator("#open-runtime").wait_for()
    assert "1.0.1" in page.locator("#save-state").inner_text()

    from runtime.installer import installed_package
    with jimu.read() as conn:
        published = installed_package(conn, "crm")["forms"][0]["fields"][3]
    assert (published["key"], published["visible_if"], published["required_if"]) == \
        ("text_1", "等级 > 1", "len(名称) > 2")
    assert published["label"] == {"zh-CN": "客户姓名", "en": "Customer name"}

    page.locator("#open-runtime").click()                 # published: nothing unsaved, no warning
    page.wait_for_url("**/forms/%E5%AE%A2%E6%88%B7/new")
    field = page.locator('[data-field="text_1"]')
    field.wait_for(state="attached")
    assert "客户姓名" in field.locator("label").inner_text()
    assert field.is_hidden()                                 # visible_if 等级 > 1, and 等级 is empty
    page.fill("#f-等级", "3")
    field.wait_for(state="visible")
    assert not [e for e in page.errors if "expr.js" not in e and "404" not in e]


def test_import_shows_the_upgrade_diff_before_applying(designer_page, live_server, jimu, artifacts):
    import json
    page = designer_page
    new = _crm()
    new["app"]["version"] = "1.1.0"
    new["forms"][0]["fields"].append({"key": "网站", "label": "网站", "widget": "url"})
    page.goto(f"{live_server}/builder/")
    page.set_input_files("#import-file", files=[{"name": "crm.json", "mimeType": "application/json",
                                                 "buffer": json.dumps(new, ensure_ascii=False).encode()}])
    page.get_by_role("button", name="查看变更").click()
    result = page.locator("#import-result")
    result.locator("ul.diff-lines").wait_for()
    assert "crm: 1.0.0 → 1.1.0 (升级)" in result.inner_text() and "网站" in result.inner_text()
    with jimu.read() as conn:
        from runtime.installer import installed_package
        assert installed_package(conn, "crm")["app"]["version"] == "1.0.0"   # nothing applied yet
    page.screenshot(path=str(artifacts / "builder-import-diff.png"), full_page=True)
    page.locator("#apply-import").click()
    result.locator(".flash").wait_for()
    with jimu.read() as conn:
        assert installed_package(conn, "crm")["app"]["version"] == "1.1.0"
    page.wait_for_function("document.querySelector('.app-card').textContent.includes('1.1.0')")


def test_versions_page_rolls_back(designer_page, live_server, jimu, artifacts):
    page = designer_page
    new = _crm()
    new["app"]["version"] = "1.1.0"
    new["forms"][0]["fields"].append({"key": "网站", "label": "网站", "widget": "url"})
    install_package(jimu, new)
    page.goto(f"{live_server}/builder/apps/crm")
    page.wait_for_selector("#version-list li")
    assert page.locator("#version-list > li").count() == 2
    page.get_by_role("button", name=re.compile("对比 1.0.0 → 1.1.0")).click()
    page.wait_for_selector("#version-diff li")
    assert "网站" in page.locator("#version-diff").inner_text()
    page.locator('[data-rollback="1.0.0"]').click()
    page.locator("#confirm-rollback").click()
    page.wait_for_function("document.querySelectorAll('#version-list > li').length === 3")
    assert page.locator("#version-list > li.current strong").inner_text() == "1.1.1"
    page.screenshot(path=str(artifacts / "builder-app-versions.png"), full_page=True)


@pytest.fixture
def plugin_widget():
    """A third-party widget registered the way an entry point would register it."""
    from engines.form import WIDGETS
    from engines.form.widgets.text import TextWidget

    class StarsWidget(TextWidget):
        type = "test_stars"
        label = {"zh-CN": "星标", "en": "Stars"}
        group = "plugins"

    WIDGETS.register(StarsWidget)
    yield StarsWidget
    WIDGETS.unregister("test_stars")


def test_new_app_form_with_a_section_and_a_plugin_widget(jimu, live_server, page, artifacts, plugin_widget):
    make_user(jimu, "root", admin=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server, "root")
    page.goto(f"{live_server}/builder/")
    page.fill("#new-app-label", "客服")                          # only the name: the key is made from it
    assert not page.locator("#new-app-key").is_visible()           # (typed only under 高级)
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/builder/apps/%E5%AE%A2%E6%9C%8D")
    page.get_by_role("button", name="+ 新建表单").click()          # one click: created, named 表单1, open
    page.wait_for_url("**/builder/apps/%E5%AE%A2%E6%9C%8D/forms/form_1")
    page.wait_for_selector(".palette-item")
    assert page.input_value("#form-title-input") == "表单1"
    page.fill("#form-title-input", "工单")                        # renamed in place

    # the plugin's widget is in the palette, under its own group, and adds like any other
    plugin = page.locator('.palette-item[data-widget="test_stars"]')
    assert plugin.inner_text() == "星标"
    for widget in ("text", "test_stars"):
        page.locator(f'.palette-item[data-widget="{widget}"]').focus()
        page.keyboard.press("Enter")
    page.wait_for_selector('.field-card[data-key="test_stars_1"]')

    # a section, then move text_1 into it with the keyboard-friendly "move to" control
    page.get_by_role("button", name="添加区块").click()
    page.wait_for_selector(".node-card.section")
    page.fill("#sec-label-zh", "基本信息")
    page.select_option("#sec-columns", "2")
    page.locator('.field-card[data-key="text_1"]').click()
    page.fill("#prop-label-zh", "客户姓名")
    page.select_option("#prop-move", label="区块: 基本信息")
    page.wait_for_selector('.node-card.section .field-card[data-key="text_1"]')
    assert page.locator(".node-card.section .zone.cols-2").count() == 1
    # a palette widget dragged straight into the section
    page.locator('.palette-item[data-widget="phone"]').drag_to(page.locator(".node-card.section .zone"),
                                                               target_position={"x": 400, "y": 20})
    page.wait_for_selector('.node-card.section .field-card[data-key="phone_1"]')
    page.screenshot(path=str(artifacts / "builder-form-designer-section.png"), full_page=True)

    # a choice field: options edited in the panel generated from the widget's config schema
    page.locator('.palette-item[data-widget="radio"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.field-card[data-key="radio_1"]')
    page.fill("#prop-label-zh", "问题渠道")
    options = page.locator("ol.options > li")
    before = options.count()
    assert before >= 2
    while options.count() > 2:
        options.last.get_by_role("button", name=re.compile("移除")).click()
    page.get_by_role("button", name="+ 添加选项").click()
    options.last.locator("input.opt-value").fill("电话")
    options.last.locator("input.opt-value").press("Tab")
    options.first.locator("input.opt-value").fill("官网")
    options.first.locator("input.opt-value").press("Tab")
    options.nth(1).locator("input.opt-value").fill("微信")
    options.nth(1).locator("input.opt-value").press("Tab")
    page.get_by_label("不可重复").check()

    # a sub-table: its row fields are edited in the panel too, no JSON
    page.locator('.palette-item[data-widget="subtable"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.field-card[data-key="subtable_1"]')
    page.get_by_role("button", name="+ 添加子表字段").click()
    rows = page.locator(".subfields ol > li")
    count = rows.count()
    assert rows.last.locator("input").count() == 1     # its name; the generated key only under 高级
    assert not page.locator(".subfields .subfield-keys input").last.is_visible()
    rows.last.locator("input").first.fill("备注")
    rows.last.locator("input").first.press("Tab")
    rows.last.locator("select").select_option("textarea")
    page.locator(".subfields details.advanced > summary").click()   # the key is still there for who wants it
    page.locator(".subfields .subfield-keys input").last.fill("remark")
    page.locator(".subfields .subfield-keys input").last.press("Tab")
    page.locator('.field-card[data-key="subtable_1"] .item-label').click()   # reopen: the rows were kept
    assert page.locator(".subfields .subfield-keys input").last.input_value() == "remark"
    assert page.locator(".subfields ol > li").count() == count
    page.screenshot(path=str(artifacts / "builder-subtable.png"))

    # tabs: the channel goes into the first tab
    page.get_by_role("button", name="添加标签页").click()
    page.wait_for_selector(".node-card.tabs")
    page.locator('.field-card[data-key="radio_1"] .item-label').click()
    assert not errors
    page.select_option("#prop-move", label="区块: 基本信息 › 标签: 标签1")
    page.wait_for_selector('.node-card.tabs .field-card[data-key="radio_1"]')
    # the tab set goes to the top level and back into the section, by keyboard-reachable controls
    page.locator(".node-card.tabs > .node-head").focus()
    page.keyboard.press("Enter")
    page.select_option("#node-move", label="表单顶层")
    page.wait_for_selector(".zone.top > .node-card.tabs")
    page.select_option("#node-move", label="区块: 基本信息")
    page.wait_for_selector(".node-card.section .node-card.tabs")

    page.get_by_role("button", name="发布", exact=True).click()
    page.locator("#confirm-publish").click()
    page.wait_for_function("document.getElementById('builder-status').textContent.includes('1.0.0')")

    page.goto(f"{live_server}/forms/form_1/new")
    section = page.locator("details.section")
    assert "基本信息" in section.locator("summary").inner_text()
    assert section.locator('[data-field="text_1"] label').inner_text().startswith("客户姓名")
    assert page.locator('[data-field="test_stars_1"]').count() == 1
    channel = page.locator('[data-field="radio_1"]')
    assert "问题渠道" in channel.inner_text()
    assert [i.get_attribute("value") for i in channel.locator("input[type=radio]").all()] == ["官网", "微信", "电话"]
    from runtime.installer import export
    with jimu.read() as conn:
        published = export(conn, "客服")
    fields = {f["key"]: f for f in published["forms"][0]["fields"]}
    assert fields["radio_1"]["validation"] == {"unique": True}
    row = fields["subtable_1"]["config"]["fields"][-1]
    assert (row["label"], row["widget"]) == ("备注", "textarea")
    section_items = published["forms"][0]["layout"][1]["items"]     # the tabs went in after the selection
    assert section_items[:2] == ["text_1", "phone_1"]
    tabs = [item for item in section_items if isinstance(item, dict)]
    assert len(tabs) == 1 and tabs[0]["type"] == "tabs" and tabs[0]["tabs"][0]["items"] == ["radio_1"]
    assert page.get_by_role("tab", name="标签1").count() == 1

    # the designer speaks English too
    page.goto(f"{live_server}/builder/apps/%E5%AE%A2%E6%9C%8D/forms/form_1?lang=en")
    page.wait_for_selector(".palette-item")
    assert page.locator("#palette h2").inner_text() == "Widgets"
    assert page.get_by_role("button", name="Publish").count() == 1
    page.screenshot(path=str(artifacts / "builder-form-designer-en.png"), full_page=True)


def test_a_save_over_someone_elses_newer_save_keeps_saying_so(designer_page, live_server, jimu):
    from builder import drafts
    page = designer_page
    page.goto(f"{live_server}/builder/apps/crm/forms/客户")
    page.wait_for_selector(".palette-item")
    page.locator('.palette-item[data-widget="text"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.field-card[data-key="text_1"]')
    with jimu.begin() as conn:                     # another builder saves the draft meanwhile
        draft = drafts.get_draft(conn, "crm")
        drafts.save_draft(conn, "crm", draft["package"], draft["revision"], now=jimu.now(), actor_id=None)
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('save-state').textContent === '草稿已被他人修改, 请刷新'")
    page.wait_for_timeout(300)                     # the message stays; nothing redraws it away
    assert page.inner_text("#save-state") == "草稿已被他人修改, 请刷新"
    assert not page.locator("#btn-save").is_disabled()   # the change is still unsaved
