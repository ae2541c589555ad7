"""The flow designer in Chromium: a builder draws a routing flow with the mouse (steps_flow),
publishes it, and the runtime routes records to the right assignee; a flow with an unreachable
node is refused with that node marked; the keyboard does what the mouse does."""
import copy

import pytest

from tests.builder import steps_flow as steps
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORM = {"key": "request", "version": 1, "label": {"zh-CN": "请求", "en": "Request"}, "title_field": "标题",
        "fields": [{"key": "标题", "label": {"zh-CN": "标题", "en": "Title"}, "widget": "text", "required": True},
                   {"key": "类别", "label": {"zh-CN": "类别", "en": "Category"}, "widget": "select",
                    "config": {"options": ["技术支持", "账务", "其他"]}},
                   {"key": "说明", "label": {"zh-CN": "说明", "en": "Details"}, "widget": "textarea"}]}


def _package(flows=()):
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "desk", "version": "1.0.0", "label": {"zh-CN": "服务台", "en": "Desk"}},
            "roles": [{"key": "designer", "version": 1, "label": "Designer", "builder": True,
                       "permissions": {"request": ["create", "read", "update"]}},
                      {"key": "staff", "version": 1, "label": "Staff",
                       "permissions": {"request": ["create", "read", "update"]}}],
            "groups": [{"key": "general", "version": 1, "label": {"zh-CN": "普通队列", "en": "General queue"},
                        "members": ["ann", "ben"], "lead": "ben"}],
            "forms": [copy.deepcopy(FORM)], "flows": list(flows)}


def _watch(page):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


@pytest.fixture
def desk(jimu):
    install_package(jimu, _package())
    users = {name: make_user(jimu, name, roles=["staff"]) for name in ("lead", "ann", "ben")}
    users["bea"] = make_user(jimu, "bea", roles=["designer"])
    return users


def _tasks(jimu):
    import sqlalchemy as sa
    from runtime.flows.tables import flow_instances, flow_tasks
    with jimu.read() as conn:
        rows = conn.execute(sa.select(flow_tasks.c.node_id, flow_tasks.c.assignee_kind, flow_tasks.c.assignee_user_id,
                                      flow_tasks.c.assignee_group, flow_instances.c.record_id)
                            .join(flow_instances, flow_instances.c.id == flow_tasks.c.instance_id)
                            .order_by(flow_tasks.c.id)).mappings().all()
    return [dict(r) for r in rows]


def test_build_a_routing_flow_with_the_mouse_and_records_are_routed(jimu, live_server, page, artifacts, desk):
    errors = _watch(page)
    browser_login(page, live_server, "bea")
    steps.build_routing_flow(page, live_server, "desk", "request", field="类别", value="技术支持",
                             lead="lead", queue="general", flow_key="routing", flow_label="分派",
                             screenshot=artifacts / "builder-flow-designer.png")
    page.screenshot(path=str(artifacts / "builder-flow-published.png"), full_page=True)

    from runtime.installer import installed_package
    with jimu.read() as conn:
        pkg = installed_package(conn, "desk")
    assert pkg["app"]["version"] == "1.0.1"
    (flow,) = pkg["flows"]
    assert flow["form"] == "request" and flow["label"] == "分派"
    types = {n["id"]: n["type"] for n in flow["nodes"]}
    assert sorted(types.values()) == ["end", "exclusive_gateway", "start", "user_task", "user_task"]
    assert all("position" in n for n in flow["nodes"])          # auto-layout placed every node
    cond = [e for e in flow["edges"] if e.get("condition")]
    assert [e["condition"] for e in cond] == ['类别 == "技术支持"']
    special = next(n for n in flow["nodes"] if n["id"] == cond[0]["to"])
    assert special["config"]["assignee"] == {"kind": "user", "value": "lead"}
    assert special["label"] == {"zh-CN": "技术支持", "en": "技术支持"}
    default = [e for e in flow["edges"] if e.get("default")]
    general = next(n for n in flow["nodes"] if n["id"] == default[0]["to"])
    assert general["config"]["assignee"] == {"kind": "group", "value": "general"}

    # the runtime: two records submitted through the form; one goes to the lead, one to the queue
    for title, category in (("打不开", "技术支持"), ("发票", "账务")):
        page.goto(f"{live_server}/forms/request/new")
        page.fill("#f-标题", title)
        page.select_option("#f-类别", category)
        page.locator("form button[type=submit].primary").click()
        page.wait_for_url("**/forms/request/*")
    tasks = _tasks(jimu)
    assert [(t["assignee_kind"], t["assignee_user_id"], t["assignee_group"]) for t in tasks] == \
        [("user", desk["lead"], None), ("group", None, "general")]
    assert tasks[0]["node_id"] == special["id"] and tasks[1]["node_id"] == general["id"]

    # the record's process diagram is drawn where the designer placed the nodes
    page.goto(f"{live_server}/forms/request/{tasks[0]['record_id']}/process")
    assert "技术支持" in page.locator("main svg").first.inner_html()
    page.screenshot(path=str(artifacts / "runtime-flow-routed.png"), full_page=True)

    # the lead sees the task in the inbox
    page.context.clear_cookies()
    browser_login(page, live_server, "lead")
    page.goto(f"{live_server}/tasks")
    assert "技术支持" in page.locator("main").inner_text()
    assert not [e for e in errors if "404" not in e]


def _broken_flow():
    return {"key": "review", "version": 1, "form": "request", "label": {"zh-CN": "审核", "en": "Review"},
            "nodes": [{"id": "start", "type": "start", "position": {"x": 40, "y": 140}},
                      {"id": "check", "type": "user_task", "label": "审核",
                       "config": {"assignee": {"kind": "user", "value": "lead"}}, "position": {"x": 200, "y": 130}},
                      {"id": "end", "type": "end", "position": {"x": 460, "y": 140}}],
            "edges": [{"id": "e1", "from": "start", "to": "check"}, {"id": "e2", "from": "check", "to": "end"}]}


def _install_review(jimu, flow=None):
    """The package with the flow ``review``, whose task is assigned to the user ``lead``: lead exists
    first (the compile pipeline refuses an unknown user), then gets the package's role staff."""
    make_user(jimu, "lead")
    install_package(jimu, _package([flow or _broken_flow()]))
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        set_roles(conn, _user_id(jimu, "lead"), ["staff"])


def _user_id(jimu, name):
    import sqlalchemy as sa
    from runtime import db
    with jimu.read() as conn:
        return conn.execute(sa.select(db.users.c.id).where(db.users.c.username == name)).scalar_one()


def _open_review(jimu, live_server, page):
    """The package with the flow ``review`` installed; the designer bea opens it in the flow designer.
    Returns the page's script errors (collected from before the login on)."""
    _install_review(jimu)
    make_user(jimu, "bea", roles=["designer"])
    errors = _watch(page)
    browser_login(page, live_server, "bea")
    steps.open_flow(page, live_server, "desk", "review")
    return errors


def test_publishing_an_unreachable_node_is_refused_and_the_node_is_marked(jimu, live_server, page, artifacts):
    errors = _open_review(jimu, live_server, page)
    page.locator(".problems .fd-ok").wait_for()
    # a second task is dropped and only connected onwards: nothing leads to it
    orphan = steps.drop_node(page, "user_task", 330, 330)
    steps.connect(page, orphan, "end")
    steps.node(page, orphan).and_(page.locator(".has-error")).wait_for()        # marked live, before publishing
    assert "flow.unreachable" in page.locator("#problems").inner_html()
    assert "has-error" not in steps.node(page, "check").get_attribute("class")

    page.locator("#btn-publish").click()
    page.locator("#confirm-publish").click()                  # the diff, then the server's refusal
    dialog = page.locator("dialog.builder-dialog")
    dialog.locator('li[data-pointer="/flows/0/nodes/3"]').first.wait_for()
    # in words naming the step, no JSON pointer on the screen (issue 18 item 5)
    assert "从开始走不到这里" in dialog.inner_text() and "/flows/" not in dialog.inner_text()
    page.screenshot(path=str(artifacts / "builder-flow-unreachable.png"), full_page=True)
    dialog.get_by_role("button").click()
    page.screenshot(path=str(artifacts / "builder-flow-unreachable-marked.png"), full_page=True)
    assert "has-error" in steps.node(page, orphan).get_attribute("class")
    assert "has-error" not in steps.node(page, "check").get_attribute("class")
    # the problem list selects the node it names
    finding = page.locator('#problems li[data-code="flow.unreachable"]')
    assert finding.get_attribute("data-pointer") == "/flows/0/nodes/3"
    finding.get_by_role("link").click()                      # the sentence names the step and selects it
    assert page.input_value("#node-id") == orphan

    from runtime.installer import installed_package
    with jimu.read() as conn:
        assert installed_package(conn, "desk")["app"]["version"] == "1.0.0"   # refused: nothing installed

    # connected, it publishes
    steps.connect(page, "check", orphan)
    page.locator(".problems .fd-ok").wait_for()
    steps.publish(page)
    with jimu.read() as conn:
        flow = installed_package(conn, "desk")["flows"][0]
    assert {(e["from"], e["to"]) for e in flow["edges"]} >= {("check", orphan), (orphan, "end")}
    assert not [e for e in errors if "404" not in e and "422" not in e]


def test_keyboard_adds_moves_connects_and_deletes_and_english(jimu, live_server, page, artifacts):
    errors = _open_review(jimu, live_server, page)

    # Tab visits the nodes, then the edges
    steps.node(page, "start").focus()
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate("[document.activeElement.dataset.kind, document.activeElement.dataset.id]"))
    assert order == [["node", "check"], ["node", "end"], ["edge", "e1"]]
    assert page.input_value("#edge-condition") == ""              # focusing an edge opened its panel

    # a node from the palette with Enter lands right of the selected node and takes the focus
    steps.node(page, "check").focus()
    page.locator('.fd-item[data-node-type="timer"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.fd-node[data-id="timer_1"]')
    assert page.evaluate("document.activeElement.dataset.id") == "timer_1"
    before = page.evaluate("document.querySelector('.fd-node[data-id=\"timer_1\"]').getAttribute('transform')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowRight")
    after = page.evaluate("document.querySelector('.fd-node[data-id=\"timer_1\"]').getAttribute('transform')")
    x0, y0 = (float(v) for v in before[len("translate("):-1].split(","))
    x1, y1 = (float(v) for v in after[len("translate("):-1].split(","))
    assert (x1 - x0, y1 - y0) == (40, 10)

    # C on "check" starts an edge, Enter on the timer ends it
    steps.node(page, "check").focus()
    page.keyboard.press("c")
    assert "connect-source" in steps.node(page, "check").get_attribute("class")
    steps.node(page, "timer_1").focus()
    page.keyboard.press("Enter")
    steps.edge(page, "check", "timer_1").wait_for()
    page.keyboard.press("Escape")                            # Esc: the flow's own properties
    page.locator("#flow-form").wait_for()
    # and the panel's "connect to" does the same for timer → end
    steps.select_node(page, "timer_1")
    page.select_option("#node-connect", "end")
    steps.edge(page, "timer_1", "end").wait_for()
    # the timer's own config comes from its schema: wait for a duration (number + unit) or until a date
    steps.select_node(page, "timer_1")
    assert (page.input_value("#node-mode"), page.input_value("#node-after"), page.input_value("#node-after-unit")) == \
        ("after", "1", "H")
    page.fill("#node-after", "30")
    page.select_option("#node-after-unit", "M")
    page.wait_for_function("document.querySelector('.fd-node[data-id=\"timer_1\"] .fd-detail').textContent === 'PT30M'")

    # Delete removes the focused node with its edges; undo brings all back, redo removes again
    steps.node(page, "timer_1").focus()
    page.keyboard.press("Delete")
    steps.node(page, "timer_1").wait_for(state="detached")
    assert steps.edge(page, "check", "timer_1").count() == 0
    page.locator("#btn-undo").click()
    steps.edge(page, "check", "timer_1").wait_for()
    page.keyboard.press("Control+y")
    steps.node(page, "timer_1").wait_for(state="detached")

    # (the draft is as it was now: the timer came and went) — back to the app after a change: the crumb
    # saves the draft on the way (nothing asked, nothing lost)
    assert page.locator("#btn-save").is_disabled()
    steps.node(page, "check").focus()
    page.keyboard.press("ArrowUp")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.locator(".crumbs a").nth(1).click()
    page.wait_for_selector("#kinds section")
    assert asked == [], page.url

    # the designer in English
    page.goto(f"{live_server}/builder/apps/desk/flows/review?lang=en")
    page.locator(".fd-node").first.wait_for()
    assert page.locator("#fd-palette h2").inner_text() == "Flow nodes"
    assert page.locator('.fd-item[data-node-type="exclusive_gateway"]').inner_text().endswith("Exclusive gateway")
    steps.select_node(page, "check")
    assert not page.locator("#node-id").is_visible()           # the id is under the closed "Advanced" detail
    page.locator("#node-advanced > summary").click()
    assert page.locator("#node-advanced > summary").inner_text() == "Advanced"
    assert page.locator("label[for=node-id]").inner_text() == "Node id"
    page.screenshot(path=str(artifacts / "builder-flow-designer-en.png"), full_page=True)
    assert not [e for e in errors if "404" not in e]


def test_only_builders_open_the_flow_designer(jimu, client):
    _install_review(jimu)
    make_user(jimu, "ann", roles=["staff"])
    from tests.builder.test_api import login
    login(client, "ann")
    assert client.get("/builder/apps/desk/flows/review").status_code == 403


def test_node_properties_from_the_panel_and_a_missing_default_edge(jimu, live_server, page, artifacts):
    """Countersign rule and assignees, SLA levels, field permissions, outcomes and an automatic
    step's actions, all set in the panel (no JSON); a gateway without a default edge is marked."""
    _install_review(jimu)
    make_user(jimu, "bea", roles=["designer"])
    errors = _watch(page)
    browser_login(page, live_server, "bea")
    steps.open_flow(page, live_server, "desk", "review")
    steps.delete_edge(page, "check", "end")
    gw = steps.drop_node(page, "exclusive_gateway", 330, 300)
    sign = steps.drop_node(page, "countersign", 560, 330)
    auto = steps.drop_node(page, "automatic", 560, 430)
    steps.connect(page, "check", gw)
    steps.connect(page, gw, "end")
    steps.type_condition(page, '类别 == "账务"')
    steps.connect(page, gw, sign)
    steps.type_condition(page, '类别 == "其他"')
    steps.connect(page, sign, auto)
    steps.connect(page, auto, "end")
    # two conditions and no default edge: a warning on the gateway, publishing still allowed
    steps.node(page, gw).and_(page.locator(".has-warning")).wait_for()
    assert page.locator('#problems li[data-code="flow.no_default_edge"]').count() == 1

    # countersign: two signers, two approvals needed
    steps.select_node(page, sign)
    page.select_option("#node-assignees-0-kind", "user")
    page.fill("#node-assignees-0-value", "le")
    page.wait_for_selector('#fd-props datalist option[value="lead"]', state="attached")   # suggested by the server
    page.fill("#node-assignees-0-value", "lead")
    page.locator("#node-add-assignee").click()
    page.select_option("#node-assignees-1-kind", "role")
    page.fill("#node-assignees-1-value", "staff")
    page.select_option("#node-rule", "count")
    page.fill("#node-count", "2")
    page.locator("#node-count").press("Tab")

    # the task: its assignee falls back to the queue when nobody resolves; outcomes, SLA levels, field permissions
    steps.select_node(page, "check")
    page.locator("#node-assignee-has-fallback").check()
    page.select_option("#node-assignee-fallback-kind", "group")
    page.fill("#node-assignee-fallback-value", "general")
    page.locator("#node-add-outcome").click()
    page.get_by_label("结果标识 1").fill("solved")
    page.get_by_label("结果标识 1").press("Tab")
    page.locator(".fd-section summary", has_text="时限").click()
    page.locator("#node-add-sla").click()
    page.fill("#sla-0-after", "4")
    page.locator("#sla-0-after").press("Tab")
    page.locator("#node-add-sla").click()
    page.select_option("#sla-1-unit", "D")
    page.select_option("#sla-1-action", "reassign")
    page.select_option("#sla-1-assignee-kind", "group")
    page.fill("#sla-1-assignee-value", "general")
    page.locator("#sla-0-unless").type('说明 != ""')            # met when a reply was written
    page.locator("#sla-0-unless-msg .expr-ok").wait_for()
    page.locator(".fd-section summary", has_text="字段权限").click()
    page.select_option('select[data-field="标题"]', "visible")
    page.select_option('select[data-field="说明"]', "required")

    # the automatic step sets a field
    steps.select_node(page, auto)
    page.locator("#node-add-action").click()
    page.select_option("#action-0-type", "set_fields")
    page.locator("#action-0-values-add").click()
    page.select_option("#action-0-values-0-field", "说明")
    page.fill("#action-0-values-0-value", "已会签")
    page.locator("#action-0-values-0-value").press("Tab")
    page.locator("#btn-layout").click()
    page.wait_for_function("!document.querySelector('#problems li:not([data-code=\"flow.no_default_edge\"])')")
    page.screenshot(path=str(artifacts / "builder-flow-properties.png"), full_page=True)
    steps.publish(page)

    from runtime.installer import installed_package
    with jimu.read() as conn:
        flow = installed_package(conn, "desk")["flows"][0]
    nodes = {n["id"]: n for n in flow["nodes"]}
    assert nodes[sign]["config"]["assignees"] == [{"kind": "user", "value": "lead"}, {"kind": "role", "value": "staff"}]
    assert (nodes[sign]["config"]["rule"], nodes[sign]["config"]["count"]) == ("count", 2)
    check = nodes["check"]["config"]
    assert check["assignee"] == {"kind": "user", "value": "lead", "fallback": {"kind": "group", "value": "general"}}
    assert check["outcomes"] == ["solved"]
    assert check["sla"] == [{"after": "PT4H", "action": "notify", "unless": '说明 != ""'},
                            {"after": "P2D", "action": "reassign", "assignee": {"kind": "group", "value": "general"}}]
    assert check["fields"] == {"标题": "visible", "说明": "required"}
    assert nodes[auto]["config"]["actions"] == [{"type": "set_fields", "values": {"说明": "已会签"}}]
    assert not [e for e in errors if "404" not in e]


@pytest.fixture
def plugin_node():
    """A third-party node type registered the way an entry point would register it."""
    from engines.flow import FLOW_NODES, FlowNode

    class ConfirmNode(FlowNode):
        type = "test_confirm"
        label = {"zh-CN": "外部确认", "en": "External confirmation"}
        group = "automation"
        config_schema = {"type": "object", "required": ["system"],
                         "properties": {"system": {"enum": ["erp", "crm"], "title": "System"},
                                        "retries": {"type": "integer", "minimum": 0, "title": "Retries"}}}

        def enter(self, run, node, token):
            run.leave(node, token)

    FLOW_NODES.register(ConfirmNode)
    yield ConfirmNode
    FLOW_NODES.unregister("test_confirm")


def test_a_plugin_node_type_is_in_the_palette_with_a_panel_from_its_schema(jimu, live_server, page, plugin_node):
    errors = _open_review(jimu, live_server, page)
    item = page.locator('.fd-item[data-node-type="test_confirm"]')
    assert item.inner_text().endswith("外部确认")
    steps.select_node(page, "check")
    item.focus()
    page.keyboard.press("Enter")                        # added right of the selected node
    steps.node(page, "test_confirm_1").wait_for()
    steps.connect(page, "check", "test_confirm_1")
    steps.connect(page, "test_confirm_1", "end")
    steps.delete_edge(page, "check", "end")
    # its required setting is missing: the engine's schema check marks the node
    steps.node(page, "test_confirm_1").and_(page.locator(".has-error")).wait_for()
    finding = page.locator('#problems li[data-code="flow.bad_config"]')
    assert finding.get_attribute("data-pointer") == "/flows/0/nodes/3/config"
    steps.select_node(page, "test_confirm_1")
    page.get_by_label("System").select_option('"erp"')
    page.get_by_label("Retries").fill("3")
    page.get_by_label("Retries").press("Tab")
    page.locator(".problems .fd-ok").wait_for()
    assert "has-error" not in steps.node(page, "test_confirm_1").get_attribute("class")
    steps.publish(page)
    from runtime.installer import installed_package
    with jimu.read() as conn:
        nodes = {n["id"]: n for n in installed_package(conn, "desk")["flows"][0]["nodes"]}
    assert nodes["test_confirm_1"]["config"] == {"system": "erp", "retries": 3}
    assert not [e for e in errors if "404" not in e]


def test_auto_layout_goes_left_to_right_in_layers_without_overlaps(jimu, live_server, page):
    make_user(jimu, "root", admin=True)
    browser_login(page, live_server, "root")
    page.goto(f"{live_server}/builder/")
    pos = page.evaluate("""async () => {
      const m = await import('/builder/static/flow-layout.js');
      const nodes = ['s', 'g', 'a', 'b', 'c', 'e', 'lost'].map((id) => ({ id }));
      const edges = [['s', 'g'], ['g', 'a'], ['g', 'e'], ['a', 'b'], ['b', 'c'], ['c', 'e'], ['c', 'a']]
        .map(([from, to]) => ({ from, to }));
      return m.layered(nodes, edges, { isStart: (n) => n.id === 's', size: () => ({ w: 100, h: 50 }) });
    }""")
    x = {k: v["x"] for k, v in pos.items()}
    assert x["s"] < x["g"] < x["a"] < x["b"] < x["c"] < x["e"] < x["lost"]   # c → a (a loop) is left out
    boxes = list(pos.values())
    for i, p in enumerate(boxes):                                            # no two nodes overlap
        for q in boxes[i + 1:]:
            assert abs(p["x"] - q["x"]) >= 100 or abs(p["y"] - q["y"]) >= 50
    # g → e skips three layers: the nodes it passes sit off its straight line
    assert all(pos[n]["y"] != pos["g"]["y"] for n in ("a", "b", "c"))


def test_a_flow_keyed_by_node_id_without_positions_opens_laid_out(jimu, live_server, page):
    flow = _broken_flow()
    flow["nodes"] = {n["id"]: {k: v for k, v in n.items() if k not in ("id", "position")} for n in flow["nodes"]}
    _install_review(jimu, flow)
    make_user(jimu, "bea", roles=["designer"])
    browser_login(page, live_server, "bea")
    steps.open_flow(page, live_server, "desk", "review")
    xs = [steps._center(steps.node(page, n).locator(".fd-shape"))[0] for n in ("start", "check", "end")]
    assert xs == sorted(xs)                                  # laid out left to right
    steps.node(page, "check").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Control+s")
    page.wait_for_function("document.getElementById('save-state').textContent === '已保存'")
    from builder.drafts import get_draft
    with jimu.read() as conn:
        saved = get_draft(conn, "desk")["package"]["flows"][0]
    assert isinstance(saved["nodes"], list)                                  # a list now, same ids
    assert sorted(n["id"] for n in saved["nodes"]) == ["check", "end", "start"]
    assert all("position" in n for n in saved["nodes"])                     # the others keep their place
    check = next(n for n in saved["nodes"] if n["id"] == "check")
    assert check["config"] == flow["nodes"]["check"]["config"]


def test_a_new_flow_is_one_undoable_change(jimu, live_server, page, desk):
    errors = _watch(page)
    browser_login(page, live_server, "bea")
    steps.open_new_flow(page, live_server, "desk", "triage", "分拣")
    from builder.drafts import get_draft
    with jimu.read() as conn:
        (flow,) = get_draft(conn, "desk")["package"]["flows"]          # saved at once
    assert (flow["key"], flow["label"], flow["form"]) == ("triage", "分拣", "request")
    assert [(e["from"], e["to"]) for e in flow["edges"]] == [("start", "user_task_1"), ("user_task_1", "end")]
    page.locator("#btn-undo").click()
    page.locator("#fd-gone").wait_for()
    assert page.locator("#fd-canvas").is_hidden()
    page.locator("#btn-redo").click()
    steps.node(page, "start").wait_for()
    assert page.locator("#fd-gone").count() == 0
    assert not [e for e in errors if "404" not in e]


def test_the_example_apps_flow_opens_whole_and_passes_its_checks(jimu, live_server, page, artifacts):
    import json
    from tests.conftest import ROOT
    package = json.loads((ROOT / "examples" / "customer_service.json").read_text(encoding="utf-8"))
    install_package(jimu, package)
    make_user(jimu, "root", admin=True)
    errors = _watch(page)
    browser_login(page, live_server, "root")
    flow = package["flows"][0]
    steps.open_flow(page, live_server, package["app"]["key"], flow["key"])
    page.locator(".problems .fd-ok").wait_for()
    assert page.locator(".fd-node").count() == len(flow["nodes"])
    assert page.locator(".fd-edge").count() == len(flow["edges"])
    # opened zoomed so the whole diagram is in view
    canvas = page.locator("#fd-canvas").bounding_box()
    page.wait_for_timeout(300)                                 # the first check is back; the drawing is still
    for box in (n.bounding_box() for n in page.locator(".fd-node .fd-shape").all()):
        assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    page.screenshot(path=str(artifacts / "builder-flow-designer-example.png"), full_page=True)
    assert not [e for e in errors if "404" not in e]
