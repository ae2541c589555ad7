"""Reusable UI steps for the report and dashboard designers: what a business user does with the mouse
and keyboard (drags, clicks, typing; never JSON). The combined acceptance test calls
``build_channel_dashboard`` after its form has been built and published; the designers' own browser
test (test_report_designer_browser.py) uses the same steps.

Every step waits for what the user would see (the live chart drawn, the draft saved), so a caller can
chain them. The app's form must be published before its live charts can show data (the builder's
preview runs a draft report over the installed records).
"""
from __future__ import annotations

import json
from urllib.parse import quote

CHART_DONE = '#rd-chart[data-state="ok"], #rd-chart[data-state="empty"]'


# -- the app page ---------------------------------------------------------------------------------------

def open_app(page, live_server, app_key):
    page.goto(f"{live_server}/builder/apps/{quote(app_key)}")
    page.wait_for_selector("#kinds section")


def new_item(page, live_server, app_key, kind, key, label):
    """A new report or dashboard named ``label`` (``steps_form.new_item``); waits for its designer."""
    from tests.builder import steps_form
    steps_form.new_item(page, live_server, app_key, kind, key, label)
    root = "#report-designer" if kind == "reports" else "#dashboard-designer"
    page.wait_for_selector(f"{root}[data-ready]")


def save(page):
    """Save the draft (the toolbar button) and wait until nothing is unsaved."""
    button = page.locator("#btn-save")
    if button.is_enabled():
        button.click()
    page.wait_for_function("document.querySelector('#btn-save').disabled")


# -- the report designer -----------------------------------------------------------------------------

def settle(page):
    """Wait until the live chart is not being recomputed (drawn, empty, or the definition's errors)."""
    page.wait_for_selector(f'{CHART_DONE}, #rd-chart[data-state="error"]')


def wait_chart(page):
    """Wait until the live chart has been recomputed after the last change; returns its rows.

    ``None`` when the report's form is not published yet (the definition is built all the same;
    its chart shows data once the form is published). Any other problem of the definition fails."""
    settle(page)
    chart = page.locator("#rd-chart")
    if chart.get_attribute("data-state") == "error":
        codes = page.locator("#rd-problems li").evaluate_all("els => els.map(e => e.dataset.code)")
        if codes == ["report.unknown_form"]:
            return None
        shown = page.locator("#rd-problems").inner_text()
        raise AssertionError(f"the report designer shows problems: {codes}: {shown}")
    return json.loads(chart.get_attribute("data-rows") or "[]")


def choose_form(page, form_key):
    if page.locator("#rd-form").input_value() != form_key:
        page.select_option("#rd-form", form_key)


def choose_chart_type(page, chart_type):
    page.locator(f'label.rd-type[data-type="{chart_type}"]').click()
    page.wait_for_selector(f'label.rd-type.checked[data-type="{chart_type}"]')


def drag_field(page, field, slot):
    """Drag a field from the field list onto the dimensions, measures or filters slot."""
    settle(page)
    before = page.locator(f"#slot-{slot} .slot-item").count()
    page.locator(f'.rd-field[data-field="{field}"]').drag_to(page.locator(f"#slot-{slot}"))
    page.wait_for_function(f"document.querySelectorAll('#slot-{slot} .slot-item').length === {before + 1}")


def name_measure(page, index, text):
    page.fill(f"#m-{index}-label", text)


def add_record_count(page):
    before = page.locator("#slot-measures .slot-item").count()
    page.click("#rd-add-count")
    page.wait_for_function(f"document.querySelectorAll('#slot-measures .slot-item').length === {before + 1}")
    return before


def add_measure_condition(page, measure, field, value, op="eq"):
    """Count only records where ``field`` ``op`` ``value`` for one measure (``value`` None for
    ``is_empty``/``is_not_empty``; a field with options is picked from its drop-down)."""
    conditions = page.locator(f"#slot-measures .slot-item[data-index='{measure}'] .rd-filter").count()
    page.click(f"#m-{measure}-add-cond")
    prefix = f"#m-{measure}-c-{conditions}"
    page.wait_for_selector(f"{prefix}-field")
    page.select_option(f"{prefix}-field", field)
    page.wait_for_function(f"document.querySelector('{prefix}-field').value === {json.dumps(field)}")
    if page.locator(f"{prefix}-op").input_value() != op:
        page.select_option(f"{prefix}-op", op)
    if value is None:                      # is_empty / is_not_empty take no value
        return
    box = page.locator(f"{prefix}-value")
    if isinstance(value, list):            # "in"/"not_in": a field with options offers them as check boxes
        for option in box.locator("input[type=checkbox]").all():
            want = json.loads(option.get_attribute("data-value")) in value
            if option.is_checked() != want:
                option.set_checked(want)
        return
    if box.evaluate("e => e.tagName") == "SELECT":   # a field with options offers them in a drop-down
        box.select_option(json.dumps(value, ensure_ascii=False))
    else:
        box.fill(str(value))
        box.press("Tab")


def build_report(page, live_server, app_key, key, label, form_key, chart_type):
    """A new report on ``form_key`` of ``chart_type``, open in its designer."""
    new_item(page, live_server, app_key, "reports", key, label)
    choose_form(page, form_key)
    choose_chart_type(page, chart_type)


# -- the dashboard designer --------------------------------------------------------------------------

def drag_report_to_grid(page, report, col, row):
    """Drag a report from the list onto the grid cell (col, row), both counted from 0."""
    before = page.locator(".dd-tile").count()
    grid = page.locator("#dd-grid")
    box = grid.bounding_box()
    pitch_x = (box["width"] + 8) / 12
    page.locator(f'.dd-report[data-report="{report}"]').drag_to(
        grid, target_position={"x": col * pitch_x + 10, "y": row * 78 + 10})
    page.wait_for_function(f"document.querySelectorAll('.dd-tile').length === {before + 1}")


def drag_tile(page, index, col, row):
    """Move tile ``index`` by its title bar so that its top-left cell is (col, row)."""
    wait_tiles(page)
    tile = page.locator(f"#tile-{index}")
    tile.locator("header").scroll_into_view_if_needed()     # the pointer can only grab what is on screen
    head = tile.locator("header").bounding_box()
    grid = page.locator("#dd-grid").bounding_box()
    pitch_x = (grid["width"] + 8) / 12
    x0 = int(tile.get_attribute("data-x"))
    y0 = int(tile.get_attribute("data-y"))
    grab_x, grab_y = head["x"] + 12, head["y"] + 8
    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    page.mouse.move(grab_x + (col - x0) * pitch_x, grab_y + (row - y0) * 78, steps=6)
    page.mouse.up()
    page.wait_for_function(f"() => {{ const t = document.querySelector('#tile-{index}');"
                           f" return t && t.dataset.x === '{col}' && t.dataset.y === '{row}'; }}")


def resize_tile(page, index, w, h):
    """Drag tile ``index``'s bottom-right corner until it is ``w`` columns wide and ``h`` rows high."""
    wait_tiles(page)
    tile = page.locator(f"#tile-{index}")
    grid = page.locator("#dd-grid").bounding_box()
    pitch_x = (grid["width"] + 8) / 12
    x0 = int(tile.get_attribute("data-x"))
    y0 = int(tile.get_attribute("data-y"))
    tile.locator(".dd-resize").scroll_into_view_if_needed()
    corner = tile.locator(".dd-resize").bounding_box()
    page.mouse.move(corner["x"] + 8, corner["y"] + 8)
    page.mouse.down()
    page.mouse.move(grid["x"] + (x0 + w) * pitch_x - pitch_x / 2, grid["y"] + (y0 + h) * 78 - 39, steps=6)
    page.mouse.up()
    page.wait_for_function(f"() => {{ const t = document.querySelector('#tile-{index}');"
                           f" return t && t.dataset.w === '{w}' && t.dataset.h === '{h}'; }}")


def wait_tiles(page):
    """Wait until the live tiles show the data of the last change (or the dashboard's own errors)."""
    page.wait_for_selector('#dd-grid[data-state="ok"], #dd-grid[data-state="error"]')


def publish(page):
    """Publish the draft from the designer: the diff dialog, then confirm; waits for the new version."""
    page.click("#btn-publish")
    page.click("#confirm-publish")
    page.wait_for_function("(document.querySelector('#save-state').textContent || '').match(/发布成功|Published/)")


# -- the whole dashboard -----------------------------------------------------------------------------

def build_channel_dashboard(page, live_server, app_key, form_key, channel_field, status_field, resolved_value, *,
                            date_field="created_at", dashboard_key="service_overview",
                            dashboard_label="服务概览", pie_key="by_channel", kpi_key="total_vs_resolved",
                            line_key="daily_trend", resolved_op="eq", publish_at_end=True):
    """Through the builder UI alone: a pie of records by ``channel_field``, a KPI of the total against
    the records whose ``status_field`` is ``resolved_value`` (or matches ``resolved_op``, e.g. ``"in"`` or
    ``"is_not_empty"`` with ``resolved_value=None``), and a daily line of created records
    (bucketed ``date_field``); then a dashboard with the three, arranged by dragging, published.

    Returns ``{"dashboard": key, "reports": [pie, kpi, line], "rows": {report key: rows}, "url": path}``:
    the rows each live chart showed while it was built (``None`` while the form was unpublished) — the
    pie's rows are ``{channel_field: value, "count": n}``, the KPI's ``{"count": total, "count_2": resolved}``,
    the line's ``{date_field: "YYYY-MM-DD", "count": n}`` — and ``url``, the runtime dashboard page.
    """
    rows = {}

    build_report(page, live_server, app_key, pie_key, "按渠道", form_key, "pie")
    drag_field(page, channel_field, "dimensions")
    rows[pie_key] = wait_chart(page)
    save(page)

    build_report(page, live_server, app_key, kpi_key, "总量与已解决", form_key, "kpi")
    name_measure(page, 0, "总量")
    second = add_record_count(page)
    name_measure(page, second, "已解决")
    add_measure_condition(page, second, status_field, resolved_value, op=resolved_op)
    rows[kpi_key] = wait_chart(page)
    save(page)

    build_report(page, live_server, app_key, line_key, "每日趋势", form_key, "line")
    drag_field(page, date_field, "dimensions")
    if page.locator("#dim-0-bucket").input_value() != "day":
        page.select_option("#dim-0-bucket", "day")
    rows[line_key] = wait_chart(page)
    save(page)

    new_item(page, live_server, app_key, "dashboards", dashboard_key, dashboard_label)
    drag_report_to_grid(page, pie_key, 0, 0)
    drag_report_to_grid(page, kpi_key, 6, 0)
    # the keyboard way: focus the report in the list and press Enter (it goes to the first free place)
    page.locator(f'.dd-report[data-report="{line_key}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.dd-tile[data-report="%s"]' % line_key)
    line = page.locator(f'.dd-tile[data-report="{line_key}"]').get_attribute("data-index")
    drag_tile(page, int(line), 0, 4)
    resize_tile(page, int(line), 12, 4)
    wait_tiles(page)
    save(page)
    if publish_at_end:
        publish(page)
    return {"dashboard": dashboard_key, "reports": [pie_key, kpi_key, line_key], "rows": rows,
            "url": f"/dashboards/{quote(dashboard_key)}?app={quote(app_key)}"}
