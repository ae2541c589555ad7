"""Charts made in the dashboard designer itself (issue 18, deliverable 2), in Chromium as a business user
works: a chart type clicked or dragged onto the grid becomes a live chart whose field is picked by its
label; a dashboard starts from each template ("count by a field", "total vs done", "daily trend"),
asking only for the form and the field or done condition; a report dropped on a taken place of the grid
goes to the nearest free one and nothing already placed moves."""
import json

import pytest

from tests.builder import steps_dashboard as steps
from tests.builder.test_report_designer_browser import add_records, desk_package
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORM = "工单"
RECORDS = [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建"},
           {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决"},
           {"客户姓名": "丙", "问题渠道": "官网", "状态": "已解决"}]


@pytest.fixture
def designer(jimu, live_server, page):
    install_package(jimu, desk_package())
    add_records(jimu, RECORDS)
    make_user(jimu, "bea", roles=["designer"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page


def open_new_dashboard(page, live_server, key, name):
    page.goto(f"{live_server}/builder/apps/desk/dashboards/{key}?new=1&label={name}")
    page.wait_for_selector("#dashboard-designer[data-ready]")


def tiles(page):
    """Each tile's report, place and the rows it shows, once the live data of the last change is in."""
    steps.wait_tiles(page)
    return page.evaluate("""[...document.querySelectorAll('.dd-tile')].map(t => ({report: t.dataset.report,
        at: [+t.dataset.x, +t.dataset.y, +t.dataset.w, +t.dataset.h], sample: t.dataset.sample === '1',
        rows: JSON.parse(t.dataset.rows || 'null')}))""")


def wait_rows(page, index, predicate_js):
    page.wait_for_function(f"""() => {{ const t = document.querySelector('#tile-{index}');
        const g = document.querySelector('#dd-grid');
        if (!t || !t.dataset.rows || g.dataset.state !== 'ok') return false;
        const rows = JSON.parse(t.dataset.rows); return {predicate_js}; }}""")


def only(page, template):
    """Leave exactly ``template`` ticked (a new dashboard starts with "count by a field" and "daily trend")."""
    for name in ("count_by", "total_done", "daily"):
        page.locator(f"#tpl-{name}").set_checked(name == template)


def draft(jimu):
    from builder import drafts
    with jimu.read() as conn:
        return drafts.get_draft(conn, "desk")["package"]


def counts(rows, field):
    return {r[field]: r["count"] for r in rows if not r.get("__partial__")}


def test_a_chart_is_made_in_the_dashboard_designer_and_its_field_picked_by_label(designer, live_server, jimu, artifacts):
    page = designer
    open_new_dashboard(page, live_server, "overview", "概览")
    # an empty dashboard offers the templates; a chart type needs no template
    assert page.locator("#dd-start").is_visible()

    page.click('.dd-chart-type[data-chart="pie"]')                # one click: a pie on the form's first choice
    wait_rows(page, 0, "rows.some(r => '问题渠道' in r)")
    (pie,) = tiles(page)
    assert counts(pie["rows"], "问题渠道") == {"官网": 2, "微信": 1}
    assert not pie["sample"]                                      # the app's own records
    assert not page.locator("#dd-start").is_visible()             # the panel gives way to the chart

    # the field, picked by its label in the tile's settings: the chart follows live
    options = page.locator("#qs-field option").all_inner_texts()
    assert "状态" in options and "创建时间" in options
    page.select_option("#qs-field", label="状态")
    wait_rows(page, 0, "rows.some(r => '状态' in r)")
    assert counts(tiles(page)[0]["rows"], "状态") == {"新建": 1, "已解决": 2}
    assert page.locator("#tile-0 h2").inner_text() == "按状态"

    # a chart type dragged onto the grid lands where it is dropped
    grid = page.locator("#dd-grid").bounding_box()
    pitch = (grid["width"] + 8) / 12
    page.locator('.dd-chart-type[data-chart="bar"]').drag_to(page.locator("#dd-grid"),
                                                              target_position={"x": 6 * pitch + 10, "y": 10})
    page.wait_for_selector("#tile-1")
    wait_rows(page, 1, "rows.length > 0")
    assert [t["at"] for t in tiles(page)] == [[0, 0, 6, 4], [6, 0, 6, 4]]
    page.wait_for_function("document.querySelectorAll('#dd-grid .main-svg').length >= 2")
    page.screenshot(path=str(artifacts / "dashboard-new-chart.png"), full_page=True)

    # saved as ordinary reports of the draft, with keys nobody typed
    page.wait_for_function("document.querySelector('#btn-save').disabled")
    pkg = draft(jimu)
    (dash,) = pkg["dashboards"]
    reports = {r["key"]: r for r in pkg["reports"]}
    first, second = (c["report"] for c in dash["charts"])
    assert reports[first]["type"] == "pie" and reports[first]["form"] == FORM
    assert reports[first]["dimensions"] == [{"field": "状态", "label": {"zh-CN": "状态", "en": "Status"}}]
    assert reports[first]["label"] == {"zh-CN": "按状态", "en": "By Status"}
    assert reports[second]["type"] == "bar"
    assert first != second and first.startswith("report_")

    # the designer speaks English too: the chart types, the tile's settings and the chart's name
    page.goto(f"{live_server}/builder/apps/desk/dashboards/overview?lang=en")
    page.wait_for_selector("#dashboard-designer[data-ready]")
    page.locator("#tile-0").click()
    wait_rows(page, 0, "rows.length > 0")
    assert page.locator('.dd-chart-type[data-chart="pie"]').inner_text() == "Pie"
    assert page.locator("label[for=qs-field]").inner_text().startswith("Dimension")
    assert page.locator("#tile-0 h2").inner_text() == "By Status"
    page.wait_for_function("document.querySelectorAll('#dd-grid .main-svg').length >= 2")
    page.screenshot(path=str(artifacts / "dashboard-new-chart-en.png"), full_page=True)
    assert not page.errors, page.errors


def test_a_dashboard_starts_from_each_template(designer, live_server, jimu, artifacts):
    page = designer
    # a form only in the draft: its charts preview on sample records made from its fields
    from builder import drafts
    with jimu.begin() as conn:
        d = drafts.get_draft(conn, "desk")
        d["package"]["forms"].append({"key": "反馈", "version": 1, "label": {"zh-CN": "反馈", "en": "Feedback"},
                                      "fields": [{"key": "满意度", "label": {"zh-CN": "满意度", "en": "Rating"},
                                                  "widget": "select", "config": {"options": ["好", "中", "差"]}}]})
        d["package"]["flows"] = [{"key": "handling", "version": 1, "label": "处理", "form": FORM, "start": "on_create",
                                  "nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
                                  "edges": [{"from": "start", "to": "end"}]}]
        drafts.save_draft(conn, "desk", d["package"], d["revision"], now=jimu.now(), actor_id=None)

    # "count by a field": the form (the draft-only one) and the field, by label
    open_new_dashboard(page, live_server, "by_field", "按字段")
    page.select_option("#tpl-form", label="反馈")
    page.select_option("#tpl-count_by-field", label="满意度")        # picking the field ticks its template
    assert page.locator("#tpl-count_by").is_checked()
    only(page, "count_by")
    page.click("#tpl-create")
    page.wait_for_selector("#tile-0")
    wait_rows(page, 0, "rows.length > 0")
    (tile,) = tiles(page)
    assert tile["sample"] and set(counts(tile["rows"], "满意度")) <= {"好", "中", "差"}
    assert sum(counts(tile["rows"], "满意度").values()) > 0

    # "total vs done": the form and the done condition (field, then value), by label
    open_new_dashboard(page, live_server, "done", "完成情况")
    page.select_option("#tpl-total_done-field", label="状态")
    page.select_option("#tpl-total_done-value", label="已解决")
    assert page.locator("#tpl-total_done").is_checked()          # picking the condition ticks it
    only(page, "total_done")
    page.click("#tpl-create")
    page.wait_for_selector("#tile-0")
    wait_rows(page, 0, "rows.length > 0")
    (tile,) = tiles(page)
    assert tile["rows"] == [{"count": 3, "done": 2}] and tile["at"] == [0, 0, 4, 3]
    page.screenshot(path=str(artifacts / "dashboard-template-kpi.png"), full_page=True)
    # a form a flow runs on: "done" may also be the end of its flow (none of the three has ended)
    page.select_option("#qs-done-field", label="流程已结束")
    wait_rows(page, 0, "rows.length > 0 && rows[0].done === 0")
    assert page.locator("#qs-done-value").count() == 0
    steps.save(page)

    # "daily trend": only the form (the first one is already chosen); a dashboard under its one-click
    # name is named after its template
    open_new_dashboard(page, live_server, "daily", "仪表盘1")
    assert page.locator("#tpl-daily").is_checked()               # needs no answer: ticked from the start
    only(page, "daily")
    page.click("#tpl-create")
    page.wait_for_selector("#tile-0")
    wait_rows(page, 0, "rows.length > 0")
    (tile,) = tiles(page)
    assert [r["count"] for r in tile["rows"]] == [3] and tile["at"] == [0, 0, 12, 4]
    assert page.input_value("#dashboard-title-input") == "每日趋势"

    page.wait_for_function("document.querySelector('#btn-save').disabled")
    pkg = draft(jimu)
    dashboards = {d["key"]: d for d in pkg["dashboards"]}
    reports = {r["key"]: r for r in pkg["reports"]}
    made = {key: reports[dashboards[key]["charts"][0]["report"]] for key in ("by_field", "done", "daily")}
    assert (made["by_field"]["type"], made["by_field"]["form"], made["by_field"]["dimensions"][0]["field"]) == \
        ("pie", "反馈", "满意度")
    assert made["done"]["type"] == "kpi"
    assert [m.get("filter") for m in made["done"]["measures"]] == [None, [{"field": "process.ended_at",
                                                                           "op": "is_not_empty"}]]
    assert made["done"]["measures"][1]["label"] == {"zh-CN": "已完成", "en": "Done"}
    assert made["daily"]["type"] == "line"
    assert dashboards["daily"]["label"] == {"zh-CN": "每日趋势", "en": "Daily trend"}
    assert dashboards["by_field"]["label"] == {"zh-CN": "按字段", "en": "按字段"}      # a name someone gave stays
    assert made["daily"]["dimensions"] == [{"field": "created_at", "bucket": "day",
                                            "label": {"zh-CN": "创建时间", "en": "Created at"}}]
    assert not page.errors, page.errors


def test_a_report_dropped_on_a_taken_place_goes_to_the_nearest_free_one(designer, live_server, jimu):
    page = designer
    pkg = desk_package()
    pkg["app"]["version"] = "1.0.1"
    pkg["reports"] = [{"key": key, "version": 1, "label": label, "type": "bar", "form": FORM,
                       "dimensions": [{"field": "问题渠道"}], "measures": [{"key": "count", "agg": "count"}]}
                      for key, label in (("by_channel", "按渠道"), ("by_channel_2", "按渠道二"))]
    pkg["dashboards"] = [{"key": "board", "version": 1, "label": "看板",
                          "charts": [{"report": "by_channel", "x": 0, "y": 0, "w": 6, "h": 4}]}]
    install_package(jimu, pkg)
    page.goto(f"{live_server}/builder/apps/desk/dashboards/board")
    page.wait_for_selector("#dashboard-designer[data-ready]")
    wait_rows(page, 0, "rows.length > 0")

    # dropped on the middle of the tile already there (column 2, row 2): the new tile takes the nearest
    # free place after it, and the tile that was there stays where it was
    grid = page.locator("#dd-grid").bounding_box()
    pitch = (grid["width"] + 8) / 12
    page.locator('.dd-report[data-report="by_channel_2"]').drag_to(
        page.locator("#dd-grid"), target_position={"x": 1 * pitch + 10, "y": 1 * 78 + 10})
    page.wait_for_selector("#tile-1")
    placed = tiles(page)
    assert [(t["report"], t["at"]) for t in placed] == [("by_channel", [0, 0, 6, 4]), ("by_channel_2", [6, 1, 6, 4])]
    assert page.locator("#tile-1").is_visible()
    assert "最近的空位" in page.locator("#builder-status").inner_text()

    # dropped on the second tile's title bar: again beside, never on top of another tile
    page.locator('.dd-report[data-report="by_channel"]').drag_to(page.locator("#tile-1 header"))
    page.wait_for_selector("#tile-2")
    rects = [t["at"] for t in tiles(page)]
    assert rects[:2] == [[0, 0, 6, 4], [6, 1, 6, 4]]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not (a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]), rects
    assert not page.errors, page.errors
