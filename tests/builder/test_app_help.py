"""The help under generated property controls speaks Chinese in the Chinese UI: every description the
built-in registries send (widget configs, the field's validation, flow node configs, chart options, rule
actions) has its zh-CN text in builder/static/schema-help.js, and the form designer shows it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from builder.registries import chart_types, field_schema, flow_nodes, rule_catalogue, widget_palette
from tests.conftest import browser_login, install_package, make_user

HELP_JS = Path(__file__).resolve().parents[2] / "builder" / "static" / "schema-help.js"


def _table() -> dict[str, str]:
    text = HELP_JS.read_text(encoding="utf-8")
    pairs = re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*\n?\s*("(?:[^"\\]|\\.)*"),?\s*$', text, re.M)
    return {json.loads(k): json.loads(v) for k, v in pairs}


def _descriptions() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(props, where, depth=0):
        for key, s in (props or {}).items():
            if not isinstance(s, dict):
                continue
            if s.get("description"):
                found.setdefault(s["description"], f"{where}.{key}")
            if depth < 2:
                walk(s.get("properties"), f"{where}.{key}", depth + 1)
                if isinstance(s.get("items"), dict):
                    walk(s["items"].get("properties"), f"{where}.{key}[]", depth + 1)

    for group in widget_palette()["groups"]:
        for w in group["widgets"]:
            if not w["type"].startswith("test_"):          # the test plugin's widget brings its own words
                walk(w.get("config_schema", {}).get("properties"), f"widget:{w['type']}")
    walk(field_schema()["validation"]["properties"], "validation")
    for n in flow_nodes():
        walk(n.get("config_schema", {}).get("properties"), f"node:{n['type']}")
    for c in chart_types():
        walk(c.get("options_schema", {}).get("properties"), f"chart:{c['type']}")
    for a in rule_catalogue()["actions"]:
        walk(a.get("config_schema", {}).get("properties"), f"action:{a['type']}")
    return found


def test_every_built_in_description_has_chinese_help():
    table = _table()
    assert len(table) > 80
    missing = {where: d for d, where in _descriptions().items() if d not in table}
    assert not missing, missing
    for english, chinese in table.items():
        assert re.search(r"[\u4e00-\u9fff]", chinese), english


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_form_designer_help_is_chinese(jimu, live_server, page, artifacts):
    install_package(jimu, {"format": "jimu.app", "version": 2,
                           "app": {"key": "org", "version": "1.0.0", "label": "Org"},
                           "roles": [{"key": "designer", "version": 1, "label": "Designer", "builder": True}]})
    make_user(jimu, "bea", roles=["designer"])
    browser_login(page, live_server, "bea")
    page.goto(f"{live_server}/builder/")
    page.fill("#new-app-label", "帮助")
    page.locator("#new-app-advanced > summary").click()
    page.fill("#new-app-key", "help_app")
    page.locator("#new-app button[type=submit]").click()
    page.locator("#new-forms").click()
    page.wait_for_selector(".palette-item")
    page.locator('.palette-item[data-widget="radio"]').focus()
    page.keyboard.press("Enter")
    page.locator('.field-card[data-key="radio_1"]').click()
    page.wait_for_selector('.field-card.selected[data-key="radio_1"]')
    helps = page.locator("#props small.help").all_inner_texts()
    assert "选项按钮排成一行。" in helps and "可选项, 按显示顺序。只填值时, 值也是显示的名称。" in helps
    assert "校验不通过时显示的提示。" in helps                      # the validation fields
    english = [t for t in helps if re.search(r"[A-Za-z]{4,} [A-Za-z]{3,}", t)]
    assert not english, english
    page.locator("#props ol.options").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "app-help-radio.png"))
    # an enum's choices read in words: the phone's region
    page.locator('.palette-item[data-widget="phone"]').focus()
    page.keyboard.press("Enter")
    page.locator('.field-card[data-key="phone_1"]').click()
    page.wait_for_selector('.field-card.selected[data-key="phone_1"]')
    region = page.locator("#props .prop", has=page.locator("label", has_text="地区")).locator("select")
    assert "中国大陆手机号 (cn)" in region.locator("option").all_inner_texts()
