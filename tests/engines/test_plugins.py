"""Schemas document the plugins: every registered widget, flow node type, rule action and chart type
publishes its settings schema, and schemas/plugins.json and docs/plugins.md are exactly what the
registries say."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from engines import plugins


def test_the_published_files_match_the_registries(capsys):
    assert plugins.main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("point", plugins.POINTS, ids=lambda p: p.key)
def test_every_builtin_type_is_published_with_its_registered_schema(point):
    published = json.loads(plugins.SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"][point.key]["$defs"]
    registry = point.registry()
    builtin = point.builtin_types()
    assert builtin and set(builtin) <= set(registry.types())
    assert sorted(published) == builtin
    for type_name, schema in published.items():
        registered = getattr(registry.get(type_name), point.attribute)
        assert {k: v for k, v in schema.items() if k != "title"} == \
            {k: v for k, v in registered.items() if k not in ("$schema", "title")}
        assert schema["title"]


@pytest.mark.parametrize("point", plugins.POINTS, ids=lambda p: p.key)
def test_every_registered_type_publishes_a_valid_settings_schema(point):
    """Plugins included: a type without a usable schema could not be documented or checked."""
    for item in point.registry():
        schema = getattr(item, point.attribute)
        assert isinstance(schema, dict) and schema.get("type") == "object", item.type
        Draft202012Validator.check_schema(schema)


def test_the_reference_page_lists_every_type_and_setting():
    page = plugins.DOC_FILE.read_text(encoding="utf-8")
    for point in plugins.POINTS:
        assert f"(`{point.group}`)" in page
        registry = point.registry()
        for type_name in point.builtin_types():
            assert f"### `{type_name}` — " in page
            for setting in (getattr(registry.get(type_name), point.attribute).get("properties") or {}):
                assert f"| `{setting}` |" in page, (type_name, setting)


def test_the_check_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "plugins.json"
    stale.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(plugins, "SCHEMA_FILE", stale)
    monkeypatch.setattr(plugins, "ROOT", tmp_path)
    monkeypatch.setattr(plugins, "DOC_FILE", tmp_path / "plugins.md")
    assert plugins.main(["--check"]) == 1
    assert "python -m engines.plugins" in capsys.readouterr().err
