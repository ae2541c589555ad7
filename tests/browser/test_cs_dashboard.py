"""The customer-service dashboard in Chromium, over the hand-computed ticket history of
tests/runtime/test_cs_kpis.py: zh-CN and en at 1366 px and on a phone (390 px), screenshots in
tests/artifacts; the per-agent table readable (nothing clipped, English headers in English), the tiles'
definitions and the date their filter applies to shown, today's partial day marked on the trend."""
from __future__ import annotations

import pytest

from tests.conftest import browser_login
from tests.runtime.test_cs_kpis import history  # noqa: F401  (fixture)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

TILES = ".dash-tile"
DRAWN = ("[...document.querySelectorAll('.dash-tile')].every("
         "t => t.querySelector('.main-svg, .plot-table, .tile-empty, .tile-error'))")
#: every cell of the per-agent table shows its whole text (the width it needs fits the width it has)
CLIPPED = ("() => [...document.querySelectorAll('.dash-tile[data-report=\"per_agent\"] .plot-table :is(th, td)')]"
           ".filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)")


def test_the_service_dashboard_reads_at_1366_px_and_on_a_phone(jimu, live_server, browser, artifacts, history):  # noqa: F811
    """One history (it takes the engines a few seconds), four views of it."""
    for lang in ("zh-CN", "en"):
        _check(live_server, browser, artifacts, lang)


def _check(live_server, browser, artifacts, lang):
    words = {"zh-CN": {"agent": "处理人", "fcr": "首次解决率", "working": "工作时间", "dated": "日期筛选按",
                       "partial": "本期未结束", "by_ticket": "工单 · 创建时间"},
             "en": {"agent": "Assignee", "fcr": "FCR", "working": "working time", "dated": "Date filter applies to",
                    "partial": "period not over", "by_ticket": "Ticket · Created"}}[lang]
    for width, height, name in ((1366, 900, "1366"), (390, 844, "phone")):
        ctx = browser.new_context(locale=lang, viewport={"width": width, "height": height})
        page = ctx.new_page()
        try:
            browser_login(page, live_server, "root")
            page.goto(f"{live_server}/dashboards/service_overview?lang={lang}")
            page.wait_for_function(DRAWN, timeout=20000)
            assert page.locator(".tile-error, .tile-empty").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways page scroll

            table = page.locator('.dash-tile[data-report="per_agent"] .plot-table')
            heads = table.locator("thead th").evaluate_all("hs => hs.map(h => h.textContent)")
            assert heads[0] == words["agent"] and words["fcr"] in heads, heads
            assert page.evaluate(CLIPPED) == []
            rows = table.locator("tbody tr").all_inner_texts()
            assert len(rows) == 4 and any("100.0%" in r for r in rows), rows
            # the whole table fits its tile: no sideways scrolling on a laptop, a card per agent on a phone
            assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1")
            if width == 390:  # each value says what it is
                labels = table.locator("tbody tr").first.locator("td").evaluate_all(
                    "cs => cs.map(c => getComputedStyle(c, '::before').content)")
                assert f'"{words["fcr"]}"' in labels, labels

            survey = page.locator('.dash-tile[data-report="csat_average"]')
            assert f"{words['dated']}" in survey.locator(".tile-filter-note").inner_text()
            assert words["by_ticket"] in survey.locator(".tile-filter-note").inner_text()
            trend = page.locator('.dash-tile[data-report="daily_trend"]')
            assert words["partial"] in trend.inner_text()
            frt = page.locator('.dash-tile[data-report="first_response"]')
            frt.locator(".tile-help-toggle").click()
            assert words["working"] in frt.locator(".tile-help").inner_text()
            frt.locator(".tile-help-toggle").click()  # closed again for the picture
            page.screenshot(path=str(artifacts / f"cs-dashboard-{lang}-{name}.png"), full_page=True)
        finally:
            ctx.close()
