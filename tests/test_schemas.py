"""The schema files: valid draft 2020-12, documented, with examples that validate, resolved offline."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

import schemas

PRESENT = [k for k in schemas.KINDS if (schemas.SCHEMA_DIR / f"{k}.json").exists()]


def _properties(schema):
    """Every (name, subschema) under any ``properties`` in the schema."""
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            yield name, sub
        for key, value in schema.items():
            if key != "if":  # conditions repeat properties only to test them
                yield from _properties(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _properties(value)


@pytest.mark.parametrize("kind", PRESENT)
def test_schema_file_is_a_documented_draft_2020_12_schema(kind):
    schema = schemas.load(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://jimu.dev/schemas/{kind}.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["examples"]


@pytest.mark.parametrize("kind", ["app", "form", "field", "role", "group", "template", "rule"])
def test_every_property_has_a_description(kind):
    undocumented = [name for name, sub in _properties(schemas.load(kind))
                    if isinstance(sub, dict) and "description" not in sub and name not in ("type",)]
    assert undocumented == []


@pytest.mark.parametrize("kind", PRESENT)
def test_examples_validate_with_refs_resolved_offline(kind):
    validator = schemas.validator(kind)
    for example in schemas.load(kind)["examples"]:
        assert list(validator.iter_errors(example)) == []


def test_validator_is_cached_and_load_returns_a_fresh_copy():
    assert schemas.validator("form") is schemas.validator("form")
    first = schemas.load("form")
    first["title"] = "changed"
    assert schemas.load("form")["title"] != "changed"


def test_unknown_kind_is_a_coded_error():
    with pytest.raises(schemas.UnknownSchema) as info:
        schemas.load("widgetz")
    assert info.value.code == "schema.unknown_kind"
    assert "form" in info.value.message


def test_a_missing_schema_file_stops_the_start(tmp_path, monkeypatch):
    """Before, a missing schemas/flow.json silently became a schema accepting any flow."""
    for kind in schemas.KINDS:
        if kind != "flow":
            (tmp_path / f"{kind}.json").write_text((schemas.SCHEMA_DIR / f"{kind}.json").read_text("utf-8"), "utf-8")
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    for cached in (schemas._load_text, schemas.registry, schemas.validator):
        cached.cache_clear()
    try:
        with pytest.raises(schemas.MissingSchema) as info:
            schemas.load("flow")
        assert info.value.code == "schema.missing_file" and "flow.json" in info.value.message
        monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
        from runtime.app import create_app
        with pytest.raises(schemas.MissingSchema):
            create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'j.sqlite'}", "TESTING": True, "SECRET_KEY": "x"})
    finally:
        for cached in (schemas._load_text, schemas.registry, schemas.validator):
            cached.cache_clear()


def test_field_schema_accepts_chinese_keys_and_rejects_bad_ones():
    validator = schemas.validator("field")
    ok = {"key": "客户姓名", "label": "客户姓名", "widget": "text"}
    assert validator.is_valid(ok)
    for bad in ("1abc", "a-b", "a b", "a\n", "x" * 64, ""):
        assert not validator.is_valid({**ok, "key": bad}), bad


def test_subtable_fields_are_validated_as_fields():
    validator = schemas.validator("field")
    sub = {"key": "lines", "label": "Lines", "widget": "subtable", "config": {"fields": [{"key": "qty"}]}}
    paths = [list(e.absolute_path) for e in validator.iter_errors(sub)]
    assert ["config", "fields", 0] in paths


def test_labels_are_strings_or_language_maps():
    validator = schemas.validator("group")
    base = {"key": "g", "version": 1}
    assert validator.is_valid({**base, "label": "财务"})
    assert validator.is_valid({**base, "label": {"zh-CN": "财务", "en": "Finance"}})
    assert not validator.is_valid({**base, "label": {}})
    assert not validator.is_valid({**base, "label": {"zh-CN": 3}})


def test_schema_files_are_utf8_json():
    for kind in PRESENT:
        json.loads((schemas.SCHEMA_DIR / f"{kind}.json").read_text("utf-8"))
