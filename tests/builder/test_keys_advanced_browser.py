"""Names, not keys (issue 18): a field's key and a flow node's id are generated and shown only in a closed
"高级 / Advanced" detail (with the node's settings only edited as raw JSON) at the bottom of the property panel; a newcomer selecting a field or a node never sees
them, and a power user who opens the detail still changes them there. Checked on a library app."""
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
                       "fields": [{"key": "书名", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"}]}],
            "flows": [{"key": "lending", "version": 1, "label": {"zh-CN": "借阅审批", "en": "Lending"}, "form": "loan",
                       "nodes": [{"id": "start", "type": "start"},
                                 {"id": "task_1", "type": "user_task", "label": {"zh-CN": "审核", "en": "Review"},
                                  "config": {"assignee": {"kind": "initiator"}}},
                                 {"id": "end", "type": "end"}],
                       "edges": [{"id": "e1", "from": "start", "to": "task_1"},
                                 {"id": "e2", "from": "task_1", "to": "end"}]}]}


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


def _saved(page):
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")


def _open_advanced(page, box_id, summary):
    """The key's input is in the DOM but not on screen until the closed 高级 detail is opened."""
    box = page.locator(f"#{box_id}")
    assert box.count() == 1 and not box.is_visible()
    detail = page.locator(f"details.advanced:has(#{box_id})")
    assert detail.get_attribute("open") is None
    assert detail.locator("summary").inner_text() == summary
    assert page.get_by_text("字段标识").or_(page.get_by_text("节点标识")).filter(visible=True).count() == 0
    detail.locator("summary").click()
    box.wait_for()                                        # visible now
    return box


def test_keys_are_under_advanced_and_still_editable_there(jimu, live_server, librarian, artifacts):
    page = librarian
    # the form designer: select the field; its key is not on the panel
    page.goto(f"{live_server}/builder/apps/{APP}/forms/loan")
    page.locator('.field-card[data-key="书名"]').click()
    page.locator("#prop-label-zh").wait_for()
    page.screenshot(path=str(artifacts / "builder-field-panel-no-key.png"), full_page=True)
    key = _open_advanced(page, "prop-key", "高级")
    assert key.input_value() == "书名" and key.is_disabled()   # published: its key is stable
    assert page.locator("#prop-key-note").inner_text() == "已发布的字段标识不可修改"
    # a new field gets a generated key; a power user changes it under 高级 (kept open once opened)
    page.locator('.palette-item[data-widget="text"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#prop-key')?.value === 'text_1'")
    key = page.locator("#prop-key")
    assert key.is_visible()
    key.fill("author")
    key.press("Tab")                                      # the key changes on "change"
    page.locator('.field-card[data-key="author"]').wait_for()
    assert page.locator("#prop-key").is_visible()         # the redrawn panel keeps the detail open
    _saved(page)
    (form,) = _draft(jimu)["forms"]
    assert [f["key"] for f in form["fields"]] == ["书名", "author"]

    # the flow designer, in English: select the node; its id is not on the panel
    page.goto(f"{live_server}/builder/apps/{APP}/flows/lending?lang=en")
    steps_flow.node(page, "task_1").locator(".fd-shape").click()
    page.locator("#node-label-zh").wait_for()
    assert not page.get_by_text("Node id").is_visible()
    page.screenshot(path=str(artifacts / "builder-node-panel-no-id-en.png"), full_page=True)
    assert page.get_by_text("notify (JSON)").count() == 1 and not page.get_by_text("notify (JSON)").is_visible()
    node_id = _open_advanced(page, "node-id", "Advanced")
    assert page.get_by_text("notify (JSON)").is_visible()    # raw JSON settings sit with the id
    assert node_id.input_value() == "task_1"
    node_id.fill("review")
    node_id.press("Tab")
    steps_flow.node(page, "review").wait_for()
    _saved(page)
    (flow,) = _draft(jimu)["flows"]
    assert [n["id"] for n in flow["nodes"]] == ["start", "review", "end"]
    assert {(e["from"], e["to"]) for e in flow["edges"]} == {("start", "review"), ("review", "end")}
