"""Issue 13 item 5: stored XSS. A builder types script into every definition field of a procurement
app that takes free text — flow node and edge ids, labels, select options, help text, message
templates, report and dashboard titles, role and group names — and a requester types it into record
values and reply templates. An administrator then opens the builder pages, the record pages (with
their related timeline and template picker), the process page, the task inbox, the dashboard and the
public form, status and portal pages: no script runs, none is even attempted (no Content-Security-Policy
violation), and no injected element or event handler reaches the DOM."""

import pytest

from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: closes double- and single-quoted attributes, text and SVG contexts, then tries four ways to run
X = "\"'><img src=x onerror=__xss(1)><script>__xss(2)</script><svg onload=__xss(3)></svg>{{7*7}}"


def x(tag: str) -> str:
    return f"{tag}{X}"


def _package() -> dict:
    options = [x("opt-a"), x("opt-b")]
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "procure", "version": "1.0.0", "label": x("app")},
        "roles": [{"key": "buyer", "version": 1, "label": x("role"), "permissions": {"请购单": ["create", "read"]}}],
        "groups": [{"key": "purchasing", "version": 1, "label": x("group"), "members": ["buyer1"]}],
        "forms": [{
            "key": "请购单", "version": 1, "label": x("form"), "title_field": "物品",
            "fields": [
                {"key": "物品", "label": x("item"), "widget": "text", "help": x("help"), "placeholder": x("ph")},
                {"key": "类别", "label": x("cat"), "widget": "select", "config": {"options": options}},
                {"key": "说明", "label": x("note"), "widget": "textarea"},
                {"key": "数量", "label": x("qty"), "widget": "number"}],
            "public": {"submit": {"fields": ["物品", "类别"], "title": x("public"), "message": x("thanks")},
                       "status": {"fields": ["物品", "类别", "说明"]},
                       "portal": {"fields": ["物品", "说明"], "title": x("portal")}},
            "related": [{"form": "跟进", "field": "请购单", "label": x("related"), "fields": ["内容"],
                         "compose": {"fields": ["内容"], "templates": {"form": "回复模板", "body": "正文",
                                                                      "name": "名称", "into": "内容"}}}],
        }, {
            "key": "跟进", "version": 1, "label": x("follow-up"),
            "fields": [{"key": "请购单", "label": x("link"), "widget": "link", "config": {"form": "请购单"}},
                       {"key": "内容", "label": x("content"), "widget": "textarea"}],
        }, {
            "key": "回复模板", "version": 1, "label": x("reply templates"), "title_field": "名称",
            "fields": [{"key": "名称", "label": "名称", "widget": "text"},
                       {"key": "正文", "label": "正文", "widget": "textarea"}],
        }],
        "flows": [{
            "key": "approve", "version": 1, "form": "请购单", "label": x("flow"),
            "nodes": [{"id": x("start"), "type": "start"},
                      {"id": x("task"), "type": "user_task", "label": x("task-label"),
                       "config": {"assignee": {"kind": "user", "value": "root"}, "outcomes": ["ok"]}},
                      {"id": x("end"), "type": "end"}],
            "edges": [{"id": x("e1"), "from": x("start"), "to": x("task"), "label": x("edge-label")},
                      {"id": x("e2"), "from": x("task"), "to": x("end"), "outcome": "ok"}]}],
        "rules": [{"key": "tell", "version": 1, "label": x("rule"), "form": "请购单",
                   "trigger": {"type": "record_created"},
                   "actions": [{"type": "notify", "channel": "in_app", "to": {"users": ["root"]},
                                "subject": x("subject {物品}"), "body": x("body {物品} {{ record['说明'] }}")}]}],
        "reports": [{"key": "by_cat", "version": 1, "label": x("report"), "type": "pie", "form": "请购单",
                     "dimensions": [{"field": "类别"}], "measures": [{"key": "n", "agg": "count"}]}],
        "dashboards": [{"key": "board", "version": 1, "label": x("dashboard"),
                        "charts": [{"report": "by_cat", "x": 0, "y": 0, "w": 6, "h": 4}],
                        "filters": [{"field": "类别", "kind": "choice", "label": x("filter")}]}],
        "templates": [{"key": "ack", "version": 1, "label": x("tpl"), "form": "请购单", "subject": x("tpl-subject"),
                       "body": x("tpl-body {物品}")}],
    }


WATCH = """
window.__hits = []; window.__violations = [];
window.__xss = (n) => window.__hits.push(n);
document.addEventListener("securitypolicyviolation", (e) =>
  window.__violations.push(e.violatedDirective + " " + (e.sample || "")));
"""

#: what the DOM may not hold: elements the payload would create, or handlers it would add
INJECTED = """() => {
  const bad = [];
  for (const el of document.querySelectorAll("*")) {
    if (el.tagName === "SCRIPT" && el.type !== "application/json" && el.textContent.includes("__xss")) bad.push("script");
    if (el.tagName === "IMG" && el.getAttribute("src") === "x") bad.push("img");
    for (const a of el.attributes) if (a.name.startsWith("on")) bad.push(el.tagName + " " + a.name);
  }
  for (const f of document.querySelectorAll("iframe")) {
    try { if (f.contentDocument && f.contentDocument.querySelector("img[src=x], [onerror], [onload]")) bad.push("iframe"); }
    catch (e) { /* another origin */ }
  }
  return bad;
}"""


def _check(page, url, ready):
    page.goto(url)
    page.wait_for_selector(ready)
    page.wait_for_timeout(300)  # late renders (plotly, designers) draw after the first paint
    hits = page.evaluate("window.__hits")
    violations = page.evaluate("window.__violations")
    injected = page.evaluate(INJECTED)
    assert (hits, violations, injected) == ([], [], []), url
    return page


def test_script_typed_into_definitions_never_runs(app, jimu, live_server, browser, artifacts, client):
    admin = make_user(jimu, "root", admin=True)  # before the package that assigns and notifies root by name
    install_package(jimu, _package())
    make_user(jimu, "buyer1", roles=["buyer"])
    from tests.conftest import api_token
    token = api_token(jimu, admin)
    rid = client.post("/api/v1/forms/请购单/records", headers={"Authorization": f"Bearer {token}"},
                      json={"物品": x("value"), "类别": x("opt-a"), "说明": x("text"), "数量": 2}).get_json()["id"]

    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/forms/回复模板/records", headers=headers, json={"名称": x("tpl-name"), "正文": x("tpl {物品}")})
    client.post("/api/v1/forms/跟进/records", headers=headers, json={"请购单": rid, "内容": x("entry")})
    from tests.runtime.rules_helpers import run_jobs
    run_jobs(jimu)  # the outbox renders the rule's in-app message into root's inbox
    from runtime.public import record_token
    with app.test_request_context():
        status_token = record_token("请购单", rid)

    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    ctx.add_init_script(WATCH)
    dialogs = []
    page = ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    browser_login(page, live_server, "root")
    base = live_server
    pages = [
        (f"{base}/", "main"),
        (f"{base}/forms/请购单", "main table, main .empty, main"),
        (f"{base}/forms/请购单/{rid}", "dl.record"),
        (f"{base}/forms/请购单/{rid}/edit", "form[data-ready=true]"),
        (f"{base}/forms/请购单/new", "form[data-ready=true]"),
        (f"{base}/forms/请购单/{rid}/process", "svg.flow-diagram"),
        (f"{base}/tasks", "main"),
        (f"{base}/dashboards/board", ".dash-tile .plot .main-svg"),
        (f"{base}/builder/", "main"),
        (f"{base}/builder/apps/procure", "main"),
        (f"{base}/builder/apps/procure/forms/请购单", ".field-card[data-key=\"物品\"]"),
        (f"{base}/builder/apps/procure/flows/approve", ".fd-node"),
        (f"{base}/builder/apps/procure/rules/tell", "#rule-trigger-type"),
        (f"{base}/builder/apps/procure/reports/by_cat", "#report-designer[data-ready] #rd-chart[data-state=ok]"),
        (f"{base}/builder/apps/procure/dashboards/board", "#dashboard-designer[data-ready] .main-svg"),
        (f"{base}/p/请购单", "form[data-jimu-form]"),
        (f"{base}/p/请购单/s/{status_token}", "dl.record"),
        (f"{base}/p/请购单/portal", "main"),
        (f"{base}/p/请购单/portal/{rid}", "dl.record"),
    ]
    for url, ready in pages:
        _check(page, url, ready)
        name = url.replace(base, "").strip("/").replace("/", "_") or "home"
        page.screenshot(path=str(artifacts / f"xss-{name}.png"), full_page=True)
    # the notifications menu (rule subject and body)
    page.goto(f"{base}/")
    page.click("#jimu-inbox summary")
    page.wait_for_selector("#jimu-inbox [data-list] li")
    assert X in page.locator("#jimu-inbox [data-list]").inner_text().replace("\n", "")
    assert page.evaluate(INJECTED) == [] and page.evaluate("window.__hits") == []
    # the text survives as text where people read it; a message template fills the reply as text
    page.goto(f"{base}/forms/请购单/{rid}")
    assert X in page.locator("dl.record").inner_text()
    picker = page.locator("select[data-template-into]")
    picker.select_option(index=1)
    target = picker.get_attribute("data-template-into")
    # the record's value stays data ({{7*7}} kept); the template's own text is the author's sandboxed Jinja
    assert page.input_value(f"#{target}") == f"tpl {x('value')}" + X.replace("{{7*7}}", "49")
    assert page.evaluate(INJECTED) == [] and page.evaluate("window.__hits") == []
    assert dialogs == []
    ctx.close()
