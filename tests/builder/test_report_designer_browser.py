"""The report and dashboard designers in Chromium, driven as a business user would: drags, clicks
and typing (no JSON). The dashboard is built by tests/builder/steps_dashboard.py, the same steps the
combined acceptance test reuses; the runtime dashboard page then counts a newly submitted record."""
import json

import pytest

from tests.builder import steps_dashboard as steps
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORM = "工单"


def desk_package():
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "desk", "version": "1.0.0", "label": {"zh-CN": "服务台", "en": "Service desk"}},
        "roles": [{"key": "designer", "version": 1, "label": {"zh-CN": "设计者", "en": "Designer"}, "builder": True,
                   "permissions": {FORM: ["create", "read", "update"], "客户": ["read"]}}],
        "forms": [{"key": FORM, "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "title_field": "客户姓名",
                   "fields": [
                       {"key": "客户姓名", "label": {"zh-CN": "客户姓名", "en": "Customer"}, "widget": "text",
                        "required": True},
                       {"key": "问题渠道", "label": {"zh-CN": "问题渠道", "en": "Channel"}, "widget": "select",
                        "config": {"options": ["官网", "微信", "电话"]}},
                       {"key": "状态", "label": {"zh-CN": "状态", "en": "Status"}, "widget": "select",
                        "config": {"options": ["新建", "处理中", "已解决"]}},
                       {"key": "金额", "label": {"zh-CN": "金额", "en": "Amount"}, "widget": "number"},
                       {"key": "客户", "label": {"zh-CN": "客户", "en": "Customer"}, "widget": "link",
                        "config": {"form": "客户", "display_field": "名称"}}]},
                  {"key": "客户", "version": 1, "label": {"zh-CN": "客户", "en": "Customer"}, "title_field": "名称",
                   "fields": [{"key": "名称", "label": {"zh-CN": "名称", "en": "Name"}, "widget": "text"},
                              {"key": "等级", "label": {"zh-CN": "等级", "en": "Level"}, "widget": "select",
                               "config": {"options": ["VIP", "普通"]}}]}],
    }


def add_records(jimu, rows, form=FORM):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        records = Records(jimu, conn, Principal(user_id=None, username="seed", is_admin=True), check_permissions=False)
        return [records.create(form, values)["id"] for values in rows]


@pytest.fixture
def builder_page(jimu, live_server, page):
    install_package(jimu, desk_package())
    make_user(jimu, "bea", roles=["designer"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page



def kpi_rows(page, live_server, path):
    page.goto(f"{live_server}{path}")
    page.wait_for_selector('.dash-tile[data-report="total_vs_resolved"] .plot .main-svg')
    data = json.loads(page.locator("#dashboard-data").text_content())
    return {tile["report"]: tile for tile in data["charts"]}


def submit_record(page, live_server, form, name, channel, status):
    """A record submitted through the runtime form (客户姓名, 问题渠道, 状态); waits for its page."""
    page.goto(f"{live_server}/forms/{form}/new")
    page.wait_for_selector("form[data-ready=true]")
    page.get_by_label("客户姓名").fill(name)
    page.get_by_label("问题渠道").select_option(channel)
    page.get_by_label("状态").select_option(status)
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")


def test_build_a_dashboard_through_the_designers_and_count_a_new_record(builder_page, live_server, jimu, artifacts):
    page = builder_page
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建"},
                       {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决"},
                       {"客户姓名": "丙", "问题渠道": "官网", "状态": "已解决"}])
    built = steps.build_channel_dashboard(page, live_server, "desk", FORM, "问题渠道", "状态", "已解决")

    # each live chart showed the installed records while it was being built
    assert {r["问题渠道"]: r["count"] for r in built["rows"]["by_channel"]} == {"官网": 2, "微信": 1}
    assert built["rows"]["total_vs_resolved"] == [{"count": 3, "count_2": 2}]
    assert [r["count"] for r in built["rows"]["daily_trend"]] == [3]

    # what was published is what the user arranged: the definitions in the installed package
    from runtime import installer
    with jimu.read() as conn:
        pkg = installer.installed_package(conn, "desk")
    reports = {r["key"]: r for r in pkg["reports"]}
    assert reports["by_channel"]["type"] == "pie"
    assert reports["by_channel"]["dimensions"][0]["field"] == "问题渠道"
    kpi = reports["total_vs_resolved"]
    assert kpi["type"] == "kpi" and "dimensions" not in kpi
    assert [m.get("filter") for m in kpi["measures"]] == [None, [{"field": "状态", "op": "eq", "value": "已解决"}]]
    assert [m["label"]["zh-CN"] for m in kpi["measures"]] == ["总量", "已解决"]
    assert reports["daily_trend"]["dimensions"] == [{"field": "created_at", "bucket": "day",
                                                     "label": {"zh-CN": "创建时间", "en": "Created at"}}]
    dash = pkg["dashboards"][0]
    assert dash["key"] == "service_overview" and dash["label"]["zh-CN"] == "服务概览"
    tiles = {c["report"]: (c["x"], c["y"], c["w"], c["h"]) for c in dash["charts"]}
    assert tiles == {"by_channel": (0, 0, 6, 4), "total_vs_resolved": (6, 0, 4, 3), "daily_trend": (0, 4, 12, 4)}

    # screenshots of both designers, reopened on the published definitions
    page.goto(f"{live_server}/builder/apps/desk/reports/total_vs_resolved")
    page.wait_for_selector("#report-designer[data-ready]")
    steps.wait_chart(page)
    page.wait_for_selector("#rd-chart .main-svg")
    page.screenshot(path=str(artifacts / "builder-report-designer.png"), full_page=True)
    page.goto(f"{live_server}/builder/apps/desk/dashboards/service_overview")
    page.wait_for_selector("#dashboard-designer[data-ready]")
    steps.wait_tiles(page)
    page.wait_for_function("document.querySelectorAll('#dd-grid .main-svg').length >= 3")
    page.screenshot(path=str(artifacts / "builder-dashboard-designer.png"), full_page=True)

    # the runtime dashboard counts a record submitted afterwards through the runtime form
    before = kpi_rows(page, live_server, built["url"])
    assert before["total_vs_resolved"]["rows"] == [{"count": 3, "count_2": 2}]
    submit_record(page, live_server, FORM, "丁", "电话", "新建")
    after = kpi_rows(page, live_server, built["url"])
    assert after["total_vs_resolved"]["rows"] == [{"count": 4, "count_2": 2}]
    assert {r["问题渠道"]: r["count"] for r in after["by_channel"]["rows"]} == {"官网": 2, "微信": 1, "电话": 1}
    assert sum(r["count"] for r in after["daily_trend"]["rows"]) == 4
    assert "4" in page.locator('.dash-tile[data-report="total_vs_resolved"] .plot').inner_text()
    page.screenshot(path=str(artifacts / "runtime-dashboard-built-in-designer.png"), full_page=True)
    assert page.errors == []


def test_report_designer_by_keyboard_with_inline_errors_undo_and_unsaved_warning(builder_page, live_server, jimu,
                                                                                artifacts):
    page = builder_page
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建", "金额": 5},
                       {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决", "金额": 7}])
    steps.new_item(page, live_server, "desk", "reports", "amounts", "金额分布")
    assert page.input_value("#report-title-input") == "金额分布"             # the name, editable in place
    # the new report is in the saved draft already (created as one change, then saved)
    assert page.locator("#btn-save").is_disabled()

    # keyboard only: choose the slot, focus a field, Enter adds it there
    page.locator("#rd-target-dimensions").check()
    page.locator('.rd-field[data-field="问题渠道"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('#slot-dimensions .slot-item[data-field="问题渠道"]')
    assert page.evaluate("document.activeElement.dataset.field") == "问题渠道"
    page.locator("#rd-target-measures").check()
    page.locator('.rd-field[data-field="金额"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('#slot-measures .slot-item[data-field="金额"]')
    assert page.locator("#m-1-agg").input_value() == "sum"           # a number field is summed
    rows = steps.wait_chart(page)
    assert {r["问题渠道"]: r["sum_金额"] for r in rows} == {"官网": 5, "微信": 7}
    page.select_option("#m-1-agg", "max")
    assert page.locator("#m-1-label").input_value() == "金额最大值"    # the default name follows the aggregate
    steps.wait_chart(page)
    # Alt+ArrowUp moves the focused measure up; Delete removes it; undo brings it back
    page.locator('#slot-measures .slot-item[data-index="1"]').focus()
    page.keyboard.press("Alt+ArrowUp")
    page.wait_for_function("document.querySelector('#slot-measures .slot-item').dataset.field === '金额'")
    page.keyboard.press("Delete")
    page.wait_for_function("document.querySelectorAll('#slot-measures .slot-item').length === 1")
    page.click("#btn-undo")
    page.wait_for_function("document.querySelectorAll('#slot-measures .slot-item').length === 2")
    page.click("#btn-redo")
    page.wait_for_function("document.querySelectorAll('#slot-measures .slot-item').length === 1")

    # a filter by dragging, edited in place: only 微信
    steps.drag_field(page, "问题渠道", "filters")
    page.select_option("#f-0-value", '"微信"')
    rows = steps.wait_chart(page)
    assert [r["问题渠道"] for r in rows] == ["微信"]

    # a definition the engine refuses: its errors are listed with their codes and marked on the slot
    steps.choose_chart_type(page, "kpi")
    page.wait_for_selector('#rd-chart[data-state="error"]')
    problem = page.locator('#rd-problems li[data-code="report.dimension_count"]')
    # in words, naming the report; no code or pointer on the screen (issue 18 item 5)
    assert problem.count() == 1 and "维度" in problem.inner_text() and "report." not in problem.inner_text()
    assert page.locator("#rd-problems").is_visible()
    page.screenshot(path=str(artifacts / "builder-report-designer-error.png"), full_page=True)
    page.locator('#slot-dimensions .slot-item[data-index="0"]').focus()
    page.keyboard.press("Delete")
    steps.wait_chart(page)
    assert page.locator("#rd-problems").is_hidden()
    assert page.locator("#rd-chart").get_attribute("data-type") == "kpi"

    # back to the app with unsaved changes: the crumb saves the draft on the way, nothing is asked or lost
    asked = []
    page.once("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.click("#back-to-app")
    page.wait_for_selector("#kinds section")
    assert asked == [] and "/reports/" not in page.url
    with jimu.read() as conn:
        from builder.drafts import get_draft
        saved = next(r for r in get_draft(conn, "desk")["package"]["reports"] if r["key"] == "amounts")
    assert saved["type"] == "kpi" and "dimensions" not in saved
    assert saved["filters"] == [{"field": "问题渠道", "op": "eq", "value": "微信"}]


def test_designers_in_english(builder_page, live_server, jimu, artifacts):
    page = builder_page
    page.goto(f"{live_server}/builder/apps/desk?lang=en")
    page.wait_for_selector("#kinds section")
    steps.new_item(page, live_server, "desk", "reports", "by_status", "By status")
    assert page.locator("#slot-dimensions h2").inner_text().startswith("Dimensions")
    assert page.locator('label.rd-type[data-type="pie"]').inner_text().startswith("Pie")
    assert page.locator('.rd-field[data-field="created_at"] .rd-field-name').inner_text() == "Created at"
    steps.drag_field(page, "状态", "dimensions")
    page.wait_for_selector('#rd-chart[data-state="empty"]')
    assert page.locator("#rd-chart").inner_text() == "No data"
    page.screenshot(path=str(artifacts / "builder-report-designer-en.png"), full_page=True)
    steps.save(page)
    steps.new_item(page, live_server, "desk", "dashboards", "board", "Board")
    assert "Drag a report onto the grid" in page.locator("#dd-reports").inner_text()
    page.click("#btn-undo")                                  # the creation itself is one undoable change
    assert page.locator("#dd-missing").inner_text() == "Its creation was undone; Redo brings it back"
    page.click("#btn-redo")
    page.wait_for_selector("#dd-grid[data-state=ok]")
    page.locator('.dd-report[data-report="by_status"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.dd-tile[data-report="by_status"]')
    aria = page.locator("#tile-0").get_attribute("aria-label")
    assert aria.startswith("By status: Column 1, Row 1, Width 6, Height 4")
    assert page.errors == []


def _draft(jimu, kind, key):
    from builder.drafts import get_draft
    with jimu.read() as conn:
        return next(x for x in get_draft(conn, "desk")["package"][kind] if x["key"] == key)


def test_dashboard_designer_keyboard_grid_shared_filters_and_tile_errors(builder_page, live_server, jimu, artifacts):
    page = builder_page
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建"},
                       {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决"}])
    steps.build_report(page, live_server, "desk", "by_channel", "按渠道", FORM, "bar")
    steps.drag_field(page, "问题渠道", "dimensions")
    steps.wait_chart(page)
    steps.save(page)
    steps.build_report(page, live_server, "desk", "broken", "坏报表", FORM, "pie")   # no dimension yet
    steps.save(page)

    steps.new_item(page, live_server, "desk", "dashboards", "board", "看板")
    steps.drag_report_to_grid(page, "by_channel", 3, 1)
    tile = page.locator("#tile-0")
    assert (tile.get_attribute("data-x"), tile.get_attribute("data-y")) == ("3", "1")
    steps.wait_tiles(page)
    page.wait_for_selector("#tile-0 .main-svg")

    # arrows move the focused tile, Shift+arrows resize it; each is one undo step
    tile.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("(({x, y}) => x === '2' && y === '0')(document.querySelector('#tile-0').dataset)")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.wait_for_function("(({w, h}) => w === '7' && h === '5')(document.querySelector('#tile-0').dataset)")
    assert page.evaluate("document.activeElement.id") == "tile-0"
    page.click("#btn-undo")
    page.wait_for_function("document.querySelector('#tile-0').dataset.h === '4'")
    page.click("#btn-redo")
    page.wait_for_function("document.querySelector('#tile-0').dataset.h === '5'")
    for _ in range(10):                                   # the grid has 12 columns: it stops at the edge
        page.locator("#tile-0").press("ArrowRight")
    page.wait_for_function("document.querySelector('#tile-0').dataset.x === '5'")

    # a second tile dropped onto the first goes to the nearest free place; the first stays where it was
    steps.drag_report_to_grid(page, "broken", 5, 0)
    page.wait_for_selector('#tile-1 .tile-error [data-code], #tile-1 .tile-error')
    error = page.locator("#tile-1 .tile-error")
    page.wait_for_function("document.querySelector('#tile-1 .tile-error .err-text')")
    assert error.locator(".err-text").get_attribute("data-code") == "report.dimension_count"
    assert "维度" in error.inner_text() and "report." not in error.inner_text()
    assert page.locator("#tile-0").get_attribute("data-y") == "0"
    assert (page.locator("#tile-1").get_attribute("data-x"), page.locator("#tile-1").get_attribute("data-y")) == ("0", "5")

    # the tile panel: a title of its own; the dashboard's shared filter on the channel
    page.locator("#tile-0").click()
    page.fill("#tile-title-zh", "各渠道数量")
    page.locator("#tile-title-zh").press("Tab")
    page.wait_for_function("document.querySelector('#tile-0 h2').textContent === '各渠道数量'")
    page.fill("#tile-help-zh", "按提交渠道统计的工单数")     # what the tile's figures mean, shown with it
    page.locator("#tile-help-zh").press("Tab")
    page.click("#dd-add-filter")
    page.select_option("#sf-0-field", "问题渠道")
    assert page.locator("#sf-0-kind").input_value() == "choice"
    page.fill("#sf-0-label-zh", "渠道")
    # the filter can be tried on the live tiles without saving a value
    page.select_option("#try-0", '"微信"')
    page.wait_for_function("(document.querySelector('#tile-0').dataset.rows || '').includes('微信')"
                           " && !document.querySelector('#tile-0').dataset.rows.includes('官网')")
    page.select_option("#try-0", "")
    page.wait_for_function("(document.querySelector('#tile-0').dataset.rows || '').includes('官网')")
    steps.drag_tile(page, 0, 0, 5)
    steps.resize_tile(page, 0, 12, 3)
    steps.wait_tiles(page)
    page.wait_for_selector("#tile-0 .main-svg")
    page.screenshot(path=str(artifacts / "builder-dashboard-designer-keyboard.png"), full_page=True)

    # Delete removes the broken tile; Ctrl+S saves; the draft holds exactly what is on screen
    page.locator("#tile-1").focus()
    page.keyboard.press("Delete")
    page.wait_for_function("document.querySelectorAll('.dd-tile').length === 1")
    page.locator('.dd-report[data-report="by_channel"]').focus()   # the same report twice: both drawn
    page.keyboard.press("Enter")
    page.wait_for_selector("#tile-1 .main-svg")
    assert page.locator("#tile-0 .js-plotly-plot").count() == 1
    page.keyboard.press("Delete")                                  # the new tile has the focus
    page.wait_for_function("document.querySelectorAll('.dd-tile').length === 1")
    page.keyboard.press("Control+s")
    page.wait_for_function("document.querySelector('#btn-save').disabled")
    board = _draft(jimu, "dashboards", "board")
    assert board["charts"] == [{"report": "by_channel", "x": 0, "y": 5, "w": 12, "h": 3,
                                "title": {"zh-CN": "各渠道数量"}, "help": {"zh-CN": "按提交渠道统计的工单数"}}]
    assert board["filters"] == [{"field": "问题渠道", "kind": "choice", "label": {"zh-CN": "渠道", "en": "Channel"}}]
    assert page.errors == []


def test_condition_expression_and_formula_measure(builder_page, live_server, jimu):
    page = builder_page
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建", "金额": 5},
                       {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决", "金额": 7},
                       {"客户姓名": "丙", "问题渠道": "官网", "状态": "已解决", "金额": 1}])
    steps.build_report(page, live_server, "desk", "rate", "解决率", FORM, "table")
    steps.drag_field(page, "问题渠道", "dimensions")
    second = steps.add_record_count(page)
    steps.add_measure_condition(page, second, "状态", "已解决")
    steps.wait_chart(page)
    page.click("#rd-add-formula")                            # count_2 / count, as a percentage
    page.wait_for_selector("#m-2-formula")
    assert page.locator("#m-2-formula").input_value() == "count_2 / count"
    rows = steps.wait_chart(page)
    assert {r["问题渠道"]: r["formula"] for r in rows} == {"官网": 0.5, "微信": 1}

    # a condition in the expression language; a wrong one is refused with its code, on the editor
    page.fill("#rd-filter-expr", "金额 >")
    page.wait_for_selector('#rd-chart[data-state="error"]')
    codes = page.locator("#rd-problems li").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes and all(c.startswith("expr.") or c.startswith("report.") for c in codes)
    pointers = page.locator("#rd-problems li").evaluate_all("els => els.map(e => e.dataset.pointer)")
    assert "/filter_expr" in pointers and "/filter_expr" not in page.locator("#rd-problems").inner_text()
    page.fill("#rd-filter-expr", "金额 > 2")
    rows = steps.wait_chart(page)
    assert {r["问题渠道"]: r["count"] for r in rows} == {"官网": 1, "微信": 1}
    assert page.locator("#rd-problems").is_hidden()
    steps.save(page)
    saved = _draft(jimu, "reports", "rate")
    assert saved["filter_expr"] == "金额 > 2"
    assert saved["measures"][2] == {"key": "formula", "formula": "count_2 / count", "format": "percent",
                                    "label": {"zh-CN": "公式指标", "en": "Formula"}}

    # items are dragged by their grip: within a slot to reorder, into another slot to change their role
    steps.settle(page)
    page.locator('[data-grip="measures:1"]').drag_to(page.locator('#slot-measures .slot-item[data-index="0"]'),
                                                     target_position={"x": 30, "y": 5})
    page.wait_for_function("document.querySelector('#slot-measures .slot-item').dataset.key === 'count_2'")
    steps.settle(page)
    page.locator('[data-grip="dimensions:0"]').drag_to(page.locator("#slot-filters"))
    page.wait_for_selector('#slot-filters .slot-item[data-field="问题渠道"]')
    assert page.locator("#slot-dimensions .slot-item").count() == 0
    rows = steps.wait_chart(page)
    assert rows == [{"count_2": 0, "count": 1, "formula": 0}]       # 官网 (the filter's default) and 金额 > 2: 甲
    page.click("#btn-undo")
    page.wait_for_selector('#slot-dimensions .slot-item[data-field="问题渠道"]')
    assert page.errors == []


def test_dashboard_on_a_form_still_in_the_draft_is_built_then_published_with_it(builder_page, live_server, jimu):
    """The acceptance flow: the form is only in the draft while the dashboard is built; the charts are
    drawn on sample records made from its fields (issue 18 item 4; before: blank tiles with an error
    code), marked as samples, and everything goes live with one publish."""
    from builder.samples import SAMPLE_RECORDS
    import copy

    from builder.drafts import get_draft, save_draft
    page = builder_page
    jimu.config["AUTH_CACHE_SECONDS"] = 0      # the published role's new permission applies at once
    with jimu.begin() as conn:
        draft = get_draft(conn, "desk")
        pkg = draft["package"]
        form = copy.deepcopy(pkg["forms"][0])
        form.update(key="新工单", label={"zh-CN": "新工单", "en": "New ticket"})
        pkg["forms"].append(form)
        pkg["roles"][0]["permissions"]["新工单"] = ["create", "read"]
        save_draft(conn, "desk", pkg, draft["revision"], now=jimu.now(), actor_id=None)
    built = steps.build_channel_dashboard(page, live_server, "desk", "新工单", "问题渠道", "状态", "已解决",
                                          dashboard_key="new_board", pie_key="p", kpi_key="k", line_key="l",
                                          publish_at_end=False)
    assert sum(r["count"] for r in built["rows"]["p"]) == SAMPLE_RECORDS
    assert built["rows"]["k"][0]["count"] == SAMPLE_RECORDS and sum(r["count"] for r in built["rows"]["l"]) > 0
    assert page.locator('#dd-grid [data-sample="1"]').count() == 3
    assert page.locator("#dd-grid .tile-error").count() == 0 and "示例数据" in page.locator("#dd-grid").inner_text()
    steps.publish(page)
    submit_record(page, live_server, "新工单", "戊", "微信", "已解决")
    page.goto(f"{live_server}/dashboards/new_board")
    page.wait_for_selector('.dash-tile[data-report="k"] .plot .main-svg')
    tiles = {t["report"]: t for t in json.loads(page.locator("#dashboard-data").text_content())["charts"]}
    assert tiles["k"]["rows"] == [{"count": 1, "count_2": 1}]
    assert tiles["p"]["rows"] == [{"问题渠道": "微信", "count": 1}]
    assert page.errors == []


def test_linked_form_fields_and_top_n(builder_page, live_server, jimu):
    page = builder_page
    vip, plain = add_records(jimu, [{"名称": "大客户", "等级": "VIP"}, {"名称": "小店", "等级": "普通"}], form="客户")
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "客户": vip},
                       {"客户姓名": "乙", "问题渠道": "微信", "客户": vip},
                       {"客户姓名": "丙", "问题渠道": "电话", "客户": plain}])
    steps.build_report(page, live_server, "desk", "by_level", "按客户等级", FORM, "bar")
    # open the link: the customer's fields appear and are dragged like the form's own
    page.locator('.rd-join[data-field="客户"]').click()
    page.wait_for_selector('.rd-field[data-field="客户.等级"]')
    assert page.locator('.rd-join[data-field="客户"]').get_attribute("aria-pressed") == "true"
    steps.drag_field(page, "客户.等级", "dimensions")
    rows = steps.wait_chart(page)
    assert {r["客户.等级"]: r["count"] for r in rows} == {"VIP": 2, "普通": 1}

    # top 1 by the count, the rest folded into "Others"
    page.fill("#rd-top-n", "1")
    page.locator("#rd-top-n").press("Tab")
    page.wait_for_function("!document.querySelector('#rd-top-others').disabled")
    page.locator("#rd-top-others").check()
    rows = steps.wait_chart(page)
    assert [r["count"] for r in rows] == [2, 1] and "__others__" in rows[1]
    steps.save(page)
    saved = _draft(jimu, "reports", "by_level")
    assert saved["joins"] == [{"field": "客户", "as": "客户"}] and saved["top"] == {"n": 1, "others": True}

    # closing the link takes its fields out of the report (one undoable change)
    page.locator('.rd-join[data-field="客户"]').click()
    page.wait_for_function("!document.querySelector('.rd-field[data-field=\"客户.等级\"]')")
    assert page.locator("#slot-dimensions .slot-item").count() == 0
    page.click("#btn-undo")
    page.wait_for_selector('#slot-dimensions .slot-item[data-field="客户.等级"]')
    assert page.errors == []


def test_the_chart_cache_time_is_set_in_the_report_designer(builder_page, live_server, jimu):
    """The report's ``cache_seconds`` (how long dashboards reuse its data) has its own labelled
    control: a number is saved, 0 (never cached) is kept as 0, an empty box goes back to the default."""
    page = builder_page
    steps.build_report(page, live_server, "desk", "cached", "缓存", FORM, "bar")
    box = page.get_by_label("缓存时长 (秒)")
    assert box.get_attribute("placeholder") == "300" and "0 表示每次都重新查询" in page.locator("#rd-cache-help").text_content()
    for typed, saved in (("60", 60), ("0", 0), ("", None)):
        box.fill(typed)
        box.press("Tab")
        steps.save(page)
        assert _draft(jimu, "reports", "cached").get("cache_seconds") == saved, typed
    page.reload()
    page.wait_for_selector("#rd-cache-seconds")
    box.fill("45")
    box.press("Tab")
    steps.save(page)
    page.reload()
    page.wait_for_selector("#rd-cache-seconds")
    assert page.locator("#rd-cache-seconds").input_value() == "45"
    assert page.errors == []
