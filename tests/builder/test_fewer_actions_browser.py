"""Fewer actions in the builder (issue 18): one click on "+ 新建表单" / "+ 新建流程" creates the item with a
generated key and a default name and opens its designer, where the name is edited in place; a new choice
field starts with 选项1/选项2 and the form's first text field is its title; a new flow starts as
start → task → end, connected; a node dropped on a connection goes in between; "+" on a node adds the
next step already connected. Each is checked in the saved draft, on a library app."""
import pytest

from tests.builder import steps_flow
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

APP = "library"


def _package():
    return {"format": "jimu.app", "version": 2,
            "app": {"key": APP, "version": "1.0.0", "label": {"zh-CN": "图书馆", "en": "Library"}},
            "roles": [{"key": "librarian", "version": 1, "label": {"zh-CN": "馆员", "en": "Librarian"},
                       "builder": True, "permissions": {"loan": ["create", "read", "update"]}}],
            "forms": [{"key": "loan", "version": 1, "label": {"zh-CN": "借阅", "en": "Loan"}, "title_field": "书名",
                       "fields": [{"key": "书名", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"}]}]}


@pytest.fixture
def librarian(jimu, live_server, page):
    install_package(jimu, _package())
    make_user(jimu, "lia", roles=["librarian"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    browser_login(page, live_server, "lia")
    yield page
    assert not [e for e in errors if "404" not in e]


def _draft(jimu):
    from builder.drafts import get_draft
    with jimu.read() as conn:
        return get_draft(conn, APP)["package"]


def _item(jimu, kind, key):
    return next(i for i in _draft(jimu)[kind] if i["key"] == key)


def _one_click(page, live_server, kind, lang="zh-CN", screenshot=None):
    """The app page, then exactly one click on "+ 新建…": the designer opens on the saved new item."""
    page.goto(f"{live_server}/builder/apps/{APP}?lang={lang}")
    button = page.locator(f"#new-{kind}")
    button.wait_for()
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    button.click()
    page.wait_for_url(f"**/builder/apps/{APP}/{kind}/*")
    page.wait_for_function("() => !location.search.includes('new=1')")       # created and saved
    return page.url.split("/")[-1].split("?")[0]


def _saved(page):
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")


def test_one_click_makes_a_form_with_sensible_defaults(jimu, live_server, librarian, artifacts):
    page = librarian
    key = _one_click(page, live_server, "forms", screenshot=artifacts / "builder-app-new-items-zh.png")
    assert key == "form_1"                                          # generated: no key typed
    assert page.input_value("#form-title-input") == "表单1"
    assert _item(jimu, "forms", key) == {"key": key, "version": 1, "label": "表单1", "fields": []}

    page.fill("#form-title-input", "读者")                          # the name, edited in place
    page.press("#form-title-input", "Enter")
    for widget in ("radio", "text", "text", "checkboxes"):
        page.locator(f'.palette-item[data-widget="{widget}"]').click()
    page.locator('.field-card[data-key="checkboxes_1"]').wait_for()
    page.locator('.field-card[data-key="radio_1"]').click()
    page.locator("#props ol.options").wait_for()
    _saved(page)
    form = _item(jimu, "forms", key)
    fields = {f["key"]: f for f in form["fields"]}
    assert form["label"] == "读者"
    assert fields["radio_1"]["config"] == {"options": ["选项1", "选项2"]}     # never another app's options
    assert fields["checkboxes_1"]["config"] == {"options": ["选项1", "选项2"]}
    assert form["title_field"] == "text_1"                          # the first text field, not the second
    page.screenshot(path=str(artifacts / "builder-form-new-zh.png"), full_page=True)

    # deleting the title field hands the title to the next text field
    page.locator('.field-card[data-key="text_1"]').click()
    page.keyboard.press("Delete")
    page.locator('.field-card[data-key="text_1"]').wait_for(state="detached")
    _saved(page)
    assert _item(jimu, "forms", key)["title_field"] == "text_2"

    # in English: "Form 1" (表单1 was renamed), options Option 1 / Option 2
    key = _one_click(page, live_server, "forms", lang="en", screenshot=artifacts / "builder-app-new-items-en.png")
    assert key == "form_2" and page.input_value("#form-title-input") == "Form 1"
    page.locator("#btn-undo").click()                               # the creation is one undoable step
    page.locator("#form-gone").wait_for()
    page.locator("#btn-redo").click()
    page.locator("#form-gone").wait_for(state="detached")
    page.locator('.palette-item[data-widget="select"]').click()
    page.locator('.field-card[data-key="select_1"]').wait_for()
    _saved(page)
    assert _item(jimu, "forms", key)["fields"][0]["config"] == {"options": ["Option 1", "Option 2"]}
    page.screenshot(path=str(artifacts / "builder-form-new-en.png"), full_page=True)


def _boxes(flow):
    sizes = {"start": (56, 56), "end": (56, 56), "timer": (56, 56)}
    return {n["id"]: (n["position"]["x"], n["position"]["y"], *sizes.get(n["type"], (150, 60))) for n in flow["nodes"]}


def _apart(boxes):
    items = list(boxes.items())
    for i, (a, (ax, ay, aw, ah)) in enumerate(items):
        for b, (bx, by, bw, bh) in items[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b, boxes)


def test_one_click_makes_a_usable_flow_that_grows_by_drop_and_plus(jimu, live_server, librarian, artifacts):
    page = librarian
    key = _one_click(page, live_server, "flows")
    assert key == "flow_1" and page.input_value("#flow-title-input") == "流程1"
    flow = _item(jimu, "flows", key)
    assert flow["form"] == "loan" and flow["label"] == "流程1"
    assert [(e["from"], e["to"]) for e in flow["edges"]] == [("start", "user_task_1"), ("user_task_1", "end")]
    page.locator(".problems .fd-ok").wait_for()                     # it passes the checks as it is

    # a task dropped onto the connection user_task_1 → end goes in between: both parts connected
    new = steps_flow.drop_on_edge(page, "user_task", "user_task_1", "end")
    assert new == "user_task_2"
    # "+" on the start: the menu offers the most common step first; it goes in after the start
    steps_flow.node(page, "start").locator(".fd-add").click()
    menu = page.locator("#fd-add-menu [role=menuitem]")
    assert menu.first.get_attribute("data-node-type") == "user_task"
    assert "start" not in menu.evaluate_all("els => els.map(e => e.dataset.nodeType)")
    menu.first.click()
    steps_flow.edge(page, "start", "user_task_3").wait_for(state="attached")
    # by keyboard: a connection selected, Enter on a palette item puts the node into it
    steps_flow.select_edge(page, "user_task_2", "end")
    page.locator('.fd-item[data-node-type="timer"]').focus()
    page.keyboard.press("Enter")
    steps_flow.edge(page, "timer_1", "end").wait_for(state="attached")
    page.locator(".problems .fd-ok").wait_for()
    _saved(page)
    flow = _item(jimu, "flows", key)
    assert sorted((e["from"], e["to"]) for e in flow["edges"]) == sorted([
        ("start", "user_task_3"), ("user_task_3", "user_task_1"), ("user_task_1", "user_task_2"),
        ("user_task_2", "timer_1"), ("timer_1", "end")])
    _apart(_boxes(flow))                                            # the rest moved aside: nothing overlaps
    page.screenshot(path=str(artifacts / "builder-flow-new-zh.png"), full_page=True)

    # the same designer in English, with the "+" menu open by keyboard (the + key on a focused node)
    page.goto(f"{live_server}/builder/apps/{APP}/flows/{key}?lang=en")
    steps_flow.node(page, "user_task_2").focus()
    page.keyboard.press("+")
    page.locator("#fd-add-menu").wait_for()
    assert page.locator("#fd-add-menu [role=menuitem]").first.inner_text().endswith("User task")
    page.screenshot(path=str(artifacts / "builder-flow-new-en.png"), full_page=True)
    page.keyboard.press("Escape")
    page.locator("#fd-add-menu").wait_for(state="detached")
