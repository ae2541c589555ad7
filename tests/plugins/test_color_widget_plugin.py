"""Plugin proof: a separate package adds the ``color`` widget through the ``jimu.widgets`` entry point.

The test pip-installs ``tests/plugins/jimu_color_widget`` into the running
venv (no Jimu file names it), reloads the widget registry from the entry
points, checks the widget against the same contract as the built-ins, and
then uses it in a form through the real HTTP API, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import importlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import install_package

PLUGIN = Path(__file__).parent / "jimu_color_widget"


@pytest.fixture(scope="module")
def color_widget():
    from engines.form import WIDGETS
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", str(PLUGIN)], check=True, capture_output=True, timeout=240)
    importlib.invalidate_caches()
    # a fresh look at the entry points, exactly as at start-up
    WIDGETS._loaded = False
    WIDGETS.load()
    assert "color" in WIDGETS, WIDGETS.broken
    cls = WIDGETS.get("color")
    assert cls.__module__ == "jimu_color_widget"
    return cls


def test_the_plugin_widget_keeps_the_contract(color_widget):
    from jsonschema import Draft202012Validator
    Draft202012Validator.check_schema(color_widget.config_schema)
    assert color_widget.palette()["label"] == {"zh-CN": "颜色", "en": "Colour"}
    rng = random.Random(5)
    for config in color_widget.config_schema["examples"]:
        w = color_widget(config)
        for _ in range(20):
            value = w.clean(w.random_value(rng))
            assert w.clean(w.import_value(json.loads(json.dumps(w.export_value(value))))) == value
            assert w.clean(w.import_cell(w.export_cell(value))) == value


def test_the_plugin_widget_in_a_form_through_the_api(color_widget, jimu, client, admin_headers):
    package = {
        "format": "jimu.app", "version": 2, "app": {"key": "paint", "version": "1.0.0", "label": "Paint"},
        "roles": [], "groups": [],
        "forms": [{"key": "swatch", "version": 1, "label": "Swatch", "fields": [
            {"key": "name", "label": "Name", "widget": "text", "required": True},
            {"key": "colour", "label": {"zh-CN": "颜色", "en": "Colour"}, "widget": "color", "required": True},
            {"key": "accent", "label": "Accent", "widget": "color",
             "config": {"palette": ["#ff0000", "#0000ff"]}},
        ]}],
    }
    install_package(jimu, package)
    r = client.post("/api/v1/forms/swatch/records", headers=admin_headers,
                    json={"name": "sky", "colour": "#1E90FF", "accent": "蓝"})
    assert r.status_code == 201, r.get_json()
    record = r.get_json()
    assert record["colour"] == "#1e90ff" and record["accent"] == "#0000ff"
    got = client.get(f"/api/v1/forms/swatch/records/{record['id']}", headers=admin_headers).get_json()
    assert got["colour"] == "#1e90ff"

    r = client.post("/api/v1/forms/swatch/records", headers=admin_headers,
                    json={"name": "bad", "colour": "sky blue", "accent": "#00ff00"})
    assert r.status_code == 422
    errors = {(e["field"], e["code"]) for e in r.get_json()["error"]["errors"]}
    assert errors == {("colour", "color.invalid"), ("accent", "color.not_in_palette")}

    schema = color_widget({}).json_schema()
    assert schema["pattern"]
