"""Reusable UI steps for the flow designer: what a business user does with the mouse and the
keyboard — no JSON, no API calls. Each step works in zh-CN and in en (it finds controls by id
and data attributes, not by their text).

The main entry point is ``build_routing_flow``: on form ``form_key`` it builds
start → exclusive gateway → (condition) a task for one user or role / (default) a task for a
group → end, and publishes. The combined acceptance test calls it after a form was built.
"""
from __future__ import annotations

from urllib.parse import quote

from tests.builder.steps_form import type_expression


def _center(locator):
    """The middle of an element on screen (the canvas redraws as checks come back: ask again)."""
    for _ in range(50):
        box = locator.bounding_box()
        if box:
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} is not on screen")


def node(page, node_id):
    return page.locator(f'.fd-node[data-id="{node_id}"]')


def edge(page, source, target):
    """The edge's keyboard handle (focusable; the drawn line is ``.fd-edge``)."""
    return page.locator(f'.fd-edge-key[data-from="{source}"][data-to="{target}"]')


def open_new_flow(page, live_server, app_key, flow_key, flow_label):
    """A new flow (start → task → end, connected) named ``flow_label`` in place; ``flow_key`` None: one click
    on the app page's "+ 新建流程" (a generated key). Returns the key."""
    from tests.builder.steps_form import new_item, rename_in_place
    key = new_item(page, live_server, app_key, "flows", flow_key, flow_label)
    node(page, "end").wait_for()
    if flow_key is None:
        rename_in_place(page, "flow-title", flow_label)
    return key


def open_flow(page, live_server, app_key, flow_key):
    page.goto(f"{live_server}/builder/apps/{quote(app_key)}/flows/{quote(flow_key)}")
    page.locator(".fd-node").first.wait_for()


def select_flow(page):
    """Click the empty canvas: the panel shows the flow's own properties."""
    box = page.locator(".fd-svg").bounding_box()
    page.mouse.click(box["x"] + 8, box["y"] + box["height"] - 8)
    page.locator("#flow-form").wait_for()


def drop_node(page, node_type, x, y):
    """Drag a node type from the palette onto the canvas at (x, y); returns the new node's id."""
    before = set(page.eval_on_selector_all(".fd-node", "els => els.map(e => e.dataset.id)"))
    page.locator(f'.fd-item[data-node-type="{node_type}"]').drag_to(
        page.locator("#fd-canvas"), target_position={"x": x, "y": y})
    page.wait_for_function("n => document.querySelectorAll('.fd-node').length > n", arg=len(before))
    after = page.eval_on_selector_all(".fd-node", "els => els.map(e => e.dataset.id)")
    (new_id,) = [i for i in after if i not in before]
    return new_id


def drop_on_edge(page, node_type, source, target):
    """Drag a node type from the palette onto the middle of the connection source → target: it goes in
    between. Returns the new node's id."""
    line = page.locator(f'.fd-edge[data-from="{source}"][data-to="{target}"] .fd-edge-line')
    x, y = _center(line)
    box = page.locator("#fd-canvas").bounding_box()
    new_id = drop_node(page, node_type, x - box["x"], y - box["y"])
    edge(page, source, new_id).wait_for(state="attached")
    return new_id


def add_next(page, node_id, node_type):
    """The "+" beside a node, then a node type in its menu: the next step, connected. Returns its id."""
    before = set(page.eval_on_selector_all(".fd-node", "els => els.map(e => e.dataset.id)"))
    node(page, node_id).locator(".fd-add").click()
    page.locator(f'#fd-add-menu [data-node-type="{node_type}"]').click()
    page.wait_for_function("n => document.querySelectorAll('.fd-node').length > n", arg=len(before))
    (new_id,) = [i for i in page.eval_on_selector_all(".fd-node", "els => els.map(e => e.dataset.id)")
                 if i not in before]
    return new_id


def select_edge(page, source, target):
    """Select a connection (its keyboard handle takes the focus): the panel shows it."""
    edge(page, source, target).focus()
    page.locator("#edge-delete").wait_for()


def move_node(page, node_id, dx, dy):
    """Drag a node by its body."""
    x, y = _center(node(page, node_id).locator(".fd-shape"))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def connect(page, source, target):
    """Drag from the source node's handle (the dot on its right) onto the target node."""
    hx, hy = _center(node(page, source).locator(".fd-handle"))
    tx, ty = _center(node(page, target).locator(".fd-shape"))
    page.mouse.move(hx, hy)
    page.mouse.down()
    page.mouse.move((hx + tx) / 2, (hy + ty) / 2, steps=5)
    page.mouse.move(tx, ty, steps=5)
    page.mouse.up()
    edge(page, source, target).wait_for(state="attached")      # (a straight vertical edge has no width)
    page.locator("#edge-delete").wait_for()          # the new edge is selected: its panel is open


def delete_edge(page, source, target):
    """Select an edge (keyboard focus) and press Delete."""
    edge(page, source, target).focus()
    page.keyboard.press("Delete")
    edge(page, source, target).wait_for(state="detached")


def select_node(page, node_id):
    node(page, node_id).locator(".fd-shape").click()
    page.locator("#node-id").wait_for(state="attached")      # (under the closed 高级 detail)
    assert page.input_value("#node-id") == node_id


def set_node_label(page, node_id, zh, en=None):
    select_node(page, node_id)
    page.fill("#node-label-zh", zh)
    if en is not None:
        page.fill("#node-label-en", en)


def set_assignee(page, node_id, kind, value=None):
    select_node(page, node_id)
    page.select_option("#node-assignee-kind", kind)
    if value is not None:
        page.fill("#node-assignee-value", value)


def type_condition(page, text):
    """Type an edge condition in the expression editor and wait for the live check to pass."""
    type_expression(page, "edge-condition", text)


def publish(page):
    """Publish: the diff dialog, confirm, wait until the designer says which version it published."""
    page.locator("#btn-publish").click()
    page.locator("#confirm-publish").click()
    page.locator("#open-inbox").wait_for()


def build_routing_flow(page, live_server, app_key, form_key, *, field, value, lead, queue,
                       lead_kind="user", queue_kind="group", flow_key="routing",
                       flow_label="分派流程", lead_label=None, queue_label=None, screenshot=None):
    """Through the UI alone, a flow on ``form_key``: records whose ``field`` equals ``value`` go to
    ``lead`` (a user, or a role with ``lead_kind="role"``), all others to the group ``queue``
    (the default edge); then publish. Returns the flow key.

    ``screenshot``: a path for a picture of the finished diagram before publishing.
    """
    open_new_flow(page, live_server, app_key, flow_key, flow_label)
    select_flow(page)
    page.select_option("#flow-form", form_key)

    # a new flow is start → a task → end, connected: a gateway dropped onto start → task goes in
    # between; that task takes the condition's records, a second task ("+" on the gateway: the
    # gateway's default branch, as it has none yet) the others
    special = "user_task_1"
    gateway = drop_on_edge(page, "exclusive_gateway", "start", special)
    general = add_next(page, gateway, "user_task")
    connect(page, general, "end")
    select_edge(page, gateway, special)
    type_condition(page, f'{field} == "{value}"')

    set_node_label(page, special, lead_label or value, lead_label or value)
    set_assignee(page, special, lead_kind, lead)
    set_node_label(page, general, queue_label or "普通队列", queue_label or "General queue")
    set_assignee(page, general, queue_kind, queue)

    page.locator("#btn-layout").click()
    page.locator(".problems .fd-ok").wait_for()            # the engine's checks pass
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    publish(page)
    return flow_key
