"""The widget contract, checked for every registered widget — built-ins and plugins alike.

The parameters are read from the registry at collection time, so a plugin
installed in the environment is tested the same way as the built-ins.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from engines.form import WIDGETS, Widget, compile_form
from engines.form.exceptions import FieldError

WIDGET_TYPES = WIDGETS.types()
GROUPS = {"basic", "choice", "datetime", "contact", "file", "relation", "advanced", "system"}
STORAGES = {"column", "multi", "children", "none"}
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def _widget(type_name: str) -> Widget:
    cls = WIDGETS.get(type_name)
    return cls(cls.example_field()["config"])


def _form(type_name: str) -> dict:
    field = {"key": "值", "label": {"zh-CN": "值", "en": "Value"}, "widget": type_name,
             **WIDGETS.get(type_name).example_field()}
    return {"key": "contract", "label": "Contract", "fields": [field]}


def test_the_registry_holds_every_built_in():
    expected = {"text", "textarea", "richtext", "number", "money", "percent", "date", "datetime", "time",
                "duration", "select", "radio", "checkboxes", "switch", "email", "phone", "url", "rating",
                "attachment", "image", "user", "group", "link", "subtable", "serial", "formula",
                "created_by", "created_at", "updated_by", "updated_at"}
    assert expected <= set(WIDGET_TYPES)
    assert not WIDGETS.broken


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_palette_entry(type_name):
    cls = WIDGETS.get(type_name)
    entry = cls.palette()
    assert entry["type"] == type_name
    assert entry["label"].get("zh-CN") and entry["label"].get("en"), "labels in zh-CN and en"
    assert isinstance(cls.icon, str) and cls.icon
    assert cls.group in GROUPS or cls.group  # plugins may add a group; built-ins use the known ones
    if cls.__module__.startswith("engines."):
        assert cls.group in GROUPS
    assert cls.storage in STORAGES
    assert isinstance(cls.macro, str) and cls.macro.isidentifier()
    json.dumps(entry, ensure_ascii=False)


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_config_schema_is_valid_draft_2020_12_with_descriptions(type_name):
    schema = WIDGETS.get(type_name).config_schema
    Draft202012Validator.check_schema(schema)
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("description"), f"config property {name!r} needs a description"
    for example in schema.get("examples", []):
        assert not list(Draft202012Validator(schema).iter_errors(example)), example


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_example_field_compiles(type_name):
    spec = compile_form(_form(type_name))
    assert spec.fields[0].widget.type == type_name


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_random_value_passes_clean_and_its_own_json_schema(type_name):
    w = _widget(type_name)
    rng = random.Random(type_name)
    schema_validator = Draft202012Validator(w.json_schema())
    for _ in range(50):
        raw = w.random_value(rng)
        value = w.clean(raw)
        assert not w.is_empty(value) or w.storage == "none", "random values should be real values"
        assert w.clean(value) == value, "clean is idempotent"
        exported = w.export_value(value)
        json.dumps(exported)
        if w.storage != "none":
            errors = list(schema_validator.iter_errors(exported))
            assert not errors, (exported, errors[0].message)


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_export_import_round_trips_as_json_and_csv(type_name):
    w = _widget(type_name)
    rng = random.Random(f"io-{type_name}")
    for _ in range(30):
        value = w.clean(w.random_value(rng))
        as_json = json.loads(json.dumps(w.export_value(value), ensure_ascii=False))
        assert w.clean(w.import_value(as_json)) == value
        cell = w.export_cell(value)
        assert isinstance(cell, str)
        assert w.clean(w.import_cell(cell)) == value
    assert w.export_cell(None) == ""
    assert w.is_empty(w.clean(w.import_cell("")))


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_garbage_gives_a_coded_error_or_a_value(type_name):
    """Whatever arrives, clean either returns or raises a FieldError with a form.* code — never a crash."""
    w = _widget(type_name)
    garbage = [object(), {"x": [1]}, [[1]], "\x00", "x" * 5000, -1, 1e308, float("nan"), True, "  ", {"id": "../x"}]
    for raw in garbage:
        try:
            w.clean(raw)
        except FieldError as exc:
            assert "." in exc.code and exc.message, exc.code
            if WIDGETS.get(type_name).__module__.startswith("engines."):
                assert exc.code.startswith("form.") and " / " in exc.message, (exc.code, exc.message)


def _store_table(spec, metadata):
    from runtime.store.mapping import build_form_table
    physical, n = {}, 0
    for f in spec.fields:
        n += 1
        physical[(None, f.key)] = f"c{n}"
        if f.children is not None:
            for cf in f.children.fields:
                n += 1
                physical[(f.key, cf.key)] = f"c{n}"
    return build_form_table(metadata, form_id=1, table_name="f1", spec=spec, physical=physical, tables_by_form={})


@pytest.mark.parametrize("type_name", WIDGET_TYPES)
def test_column_creates_and_a_value_round_trips_through_the_store(type_name, sa_engine):
    from runtime.store import RecordStore
    spec = compile_form(_form(type_name))
    f = spec.fields[0]
    metadata = sa.MetaData()
    ft = _store_table(spec, metadata)
    metadata.create_all(sa_engine)
    inspector = sa.inspect(sa_engine)
    tables = set(inspector.get_table_names())
    if f.storage == "column":
        assert "c1" in {c["name"] for c in inspector.get_columns("f1")}
    elif f.storage in ("multi", "children"):
        assert "f1_c1" in tables
    else:
        assert tables == {"f1"} and "c1" not in {c["name"] for c in inspector.get_columns("f1")}
    rng = random.Random(f"store-{type_name}")
    with sa_engine.begin() as conn:
        store = RecordStore(conn)
        for _ in range(3):
            result = spec.clean({f.key: f.widget.random_value(rng)}) if not f.computed else None
            if result is not None:
                assert result.ok, result.errors
                values = result.values
            else:
                values = {f.key: f.widget.clean(f.widget.random_value(rng))} if f.storage != "none" else {}
            rid = store.create(ft, values, now=NOW, actor=1)
            back = store.get(ft, rid)
            if f.storage == "none":
                assert f.key not in back
                if getattr(f.widget, "source", None):
                    assert back[f.widget.source] is not None
                continue
            got = back[f.key]
            if f.children is not None:
                got = [{k: v for k, v in row.items() if k != "id"} for row in got]
                want = [{k: v for k, v in row.items() if v is not None} for row in values[f.key]]
                got = [{k: v for k, v in row.items() if v is not None} for row in got]
                assert got == want
            else:
                assert got == values[f.key], (got, values[f.key])
                assert f.widget.clean(got) == got
