"""Flow pages over HTTP: inbox with counts and overdue rows, the task page with the step's field
permissions and outcome buttons, completing through the form, the process diagram and timeline."""
import re

import pytest

from runtime.flows.diagram import render_svg
from engines.flow import compile_flow

from tests.conftest import sign_in

from .flow_fixtures import create_ticket, e, install, n, setup_users, simple_flow, tasks, instances


@pytest.fixture
def users(jimu):
    return setup_users(jimu)


def login(client, uid):
    return sign_in(client, client.application.extensions["jimu"], uid)


def test_inbox_task_page_complete_and_process(jimu, client, users, clock):
    install(jimu, [simple_flow(fields={"title": "visible", "note": "hidden", "reply": "required"},
                               sla={"after": "PT2H"})])
    rec = create_ticket(jimu, users["admin"], title="打印机坏了", note="secret-note")
    create_ticket(jimu, users["admin"], title="second")
    clock.advance(hours=1)
    create_ticket(jimu, users["admin"], title="fresh")
    clock.advance(hours=1, minutes=30)
    token = login(client, users["ann"])
    html = client.get("/tasks").get_data(as_text=True)
    assert re.search(r'data-count="open"><strong>3<', html) and re.search(r'data-count="overdue"><strong>2<', html)
    assert html.count('class="overdue"') == 2 and "打印机坏了" in html
    task = next(t for t in tasks(jimu) if t["record_id"] == rec["id"])
    page = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "打印机坏了" in page and "secret-note" not in page
    assert 'name="f.reply"' in page and 'name="f.title"' not in page
    assert 'data-outcome="solved"' in page and 'data-outcome="unsolved"' in page
    r = client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "outcome": "solved"})
    assert r.status_code == 422 and 'data-field="reply"' in r.get_data(as_text=True)
    r = client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "outcome": "solved", "f.reply": "换了硒鼓",
                                                 "f.title": "hacked", "comment": "好了"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/tasks")
    assert tasks(jimu)[0]["status"] == "completed"
    token = login(client, users["admin"])
    proc = client.get(f"/forms/ticket/{rec['id']}/process").get_data(as_text=True)
    assert "<svg" in proc and 'data-node="work"' in proc and 'data-kind="task_completed"' in proc
    assert "好了" in proc


def test_diagram_highlights_current_step_and_escapes_labels():
    spec = compile_flow({"key": "f", "version": 1,
                         "nodes": [n("s", "start"), {"id": "a", "type": "user_task", "label": "<script>x</script>"},
                                   n("g", "exclusive_gateway"), n("b", "user_task"), n("end", "end")],
                         "edges": [e("s", "a"), e("a", "g"), e("g", "b", condition="x > 1"),
                                   e("g", "a", id="back", default=True), e("b", "end")]})
    svg = render_svg(spec, current={"b"}, done={"s", "a", "g"})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert re.search(r'<g class="node current" data-node="b"', svg)
    assert re.search(r'<g class="node done" data-node="a"', svg)
    assert svg.count('class="edge"') == 5


def test_diagram_keeps_quotes_in_ids_inside_their_attributes():
    """Regression: node and edge ids are free text; a `"` used to close the attribute and add an event
    handler (stored XSS to whoever opened the process page)."""
    from xml.etree import ElementTree
    evil_node = 'x" onmouseover="alert(1)" data-x="'
    evil_edge = "e' onload='alert(2)"
    spec = compile_flow({"key": "f", "version": 1,
                         "nodes": [n("s", "start"), {"id": evil_node, "type": "user_task", "label": "a & b"},
                                   n("end", "end")],
                         "edges": [e("s", evil_node, id=evil_edge), e(evil_node, "end", id='"><script>x</script>')]})
    svg = ElementTree.fromstring(render_svg(spec, current={evil_node}))
    ns = "{http://www.w3.org/2000/svg}"
    attrs = [a for el in svg.iter() for a in el.attrib]
    assert not [a for a in attrs if a.lower().startswith("on")]
    assert [g.get("data-node") for g in svg.iter(ns + "g")] == ["s", evil_node, "end"]
    assert {p.get("data-edge") for p in svg.iter(ns + "path") if p.get("class") == "edge"} == \
        {evil_edge, '"><script>x</script>'}
    assert not list(svg.iter(ns + "script")) and not list(svg.iter("script"))
    assert [t.text for t in svg.iter(ns + "title")][1] == "a & b (人工任务)"


def test_delegate_from_the_task_page(jimu, client, users):
    install(jimu, [simple_flow()])
    create_ticket(jimu, users["admin"])
    (task,) = tasks(jimu)
    token = login(client, users["ann"])
    assert 'value="delegate"' in client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    r = client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "action": "delegate", "user": "ben"})
    assert r.status_code == 302
    (task,) = tasks(jimu)
    assert task["assignee_user_id"] == users["ben"] and task["delegated_from"] == users["ann"]
    r = client.post(f"/tasks/{task['id']}", data={"csrf_token": token, "outcome": "solved"})
    assert r.status_code == 403


def test_task_pages_show_times_in_the_deployment_zone(jimu, client, users, clock):
    """Task pages showed UTC while record pages used the deployment's zone: a 2-hour SLA set at
    10:00 in Shanghai read as due at 04:00."""
    from zoneinfo import ZoneInfo
    jimu.config["TIMEZONE"] = "Asia/Shanghai"
    install(jimu, [simple_flow(fields={"title": "visible"}, sla={"after": "PT2H"})])
    create_ticket(jimu, users["admin"], title="时区")
    task = tasks(jimu)[0]
    due = task["due_at"]
    local = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    utc = due.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
    login(client, users["ann"])
    for page in (client.get("/tasks"), client.get(f"/tasks/{task['id']}")):
        html = page.get_data(as_text=True)
        assert local in html and utc not in html


def test_diagram_shows_field_labels_and_node_kinds_never_keys():
    """Issue 18: the end user's process view showed ``radio_1 == "其他"`` and node ids."""
    from xml.etree import ElementTree
    spec = compile_flow({"key": "f", "version": 1,
                         "nodes": [{"id": "s", "type": "start"}, {"id": "g", "type": "exclusive_gateway"},
                                   {"id": "user_task_3", "type": "user_task"}, {"id": "end", "type": "end"}],
                         "edges": [e("s", "g"), e("g", "user_task_3", condition='radio_1 == "其他"'),
                                   e("g", "end", id="d", default=True), e("user_task_3", "end")]})
    fields = [("radio_1", {"zh-CN": "问题类型", "en": "Issue type"})]

    def shown(lang):
        svg = ElementTree.fromstring(render_svg(spec, fields=fields, lang=lang))
        return [t.text for t in svg.iter() if t.tag.endswith(("text", "title"))]
    texts = shown("zh-CN")
    assert '问题类型 == "其他"' in texts and "人工任务" in texts
    assert not [t for t in texts if "radio_1" in t or "user_task" in t or t in ("s", "g", "end")]
    assert 'Issue type == "其他"' in shown("en")
