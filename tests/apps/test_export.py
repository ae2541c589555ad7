"""Canonical export: stable order, defaults omitted, export → load → export identical."""
from __future__ import annotations

import copy
import json

from apps import export_package, load_package


def _dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


def test_export_load_export_is_identical(package):
    first = export_package(package)
    second = export_package(load_package(_dump(first)).data)
    assert _dump(first) == _dump(second)


def test_export_does_not_mutate_and_is_independent_of_input_key_order(package):
    before = copy.deepcopy(package)
    shuffled = json.loads(json.dumps(package), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert _dump(export_package(shuffled)) == _dump(export_package(package))
    assert package == before


def test_every_kind_is_listed_and_known_keys_come_in_a_fixed_order(package):
    del package["calendars"], package["flows"]
    out = export_package(package)
    assert list(out) == ["format", "version", "app", "roles", "groups", "forms", "flows", "rules", "reports",
                         "dashboards", "templates", "calendars"]
    assert out["flows"] == [] and out["calendars"] == []
    assert list(out["forms"][1]) == ["key", "version", "label", "title_field", "fields", "layout", "sample"]
    assert list(out["forms"][1]["fields"][0]) == ["key", "label", "widget", "required", "validation"]


def test_defaults_are_omitted_whether_unset_or_restated(package):
    restated = copy.deepcopy(package)
    field = restated["forms"][0]["fields"][1]
    field.update({"required": False, "read_only": False, "default": None, "visible_if": None,
                  "validation": {"unique": False, "min": None}})
    restated["forms"][0]["layout"][0]["collapsed"] = False
    restated["roles"][0]["builder"] = False
    restated["rules"][0]["enabled"] = True
    assert _dump(export_package(restated)) == _dump(export_package(package))
    assert "required" not in export_package(restated)["forms"][0]["fields"][1]


def test_role_verbs_follow_crud_order(package):
    assert export_package(package)["roles"][0]["permissions"]["customer"] == ["create", "read"]


def test_sub_table_fields_are_normalised_too(package):
    package["forms"][1]["fields"][3]["config"]["fields"][0].update({"required": False, "help": None})
    sub = export_package(package)["forms"][1]["fields"][3]["config"]["fields"][0]
    assert sub == {"key": "品名", "label": "品名", "widget": "text"}


def test_chinese_text_survives(package):
    out = _dump(export_package(package))
    assert "订单" in out and "王芳" in out
