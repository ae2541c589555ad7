"""Format migrations: each step on its own, and the chain."""
from __future__ import annotations

import copy

import pytest

from apps import CURRENT_FORMAT_VERSION, PackageError, compile_package
from apps.migrations import MIGRATIONS, migrate, v1_to_v2

V1 = {
    "format": "jimu.app",
    "version": 1,
    "app": {"key": "crm", "version": "0.9.0", "label": "CRM"},
    "roles": [{"key": "agent", "label": "Agent", "permissions": {"客户": ["read"]}}],
    "forms": [{"key": "客户", "name": {"zh-CN": "客户", "en": "Customer"},
               "fields": [{"key": "name", "name": "名称", "type": "text"},
                          {"key": "lines", "name": "Lines", "type": "subtable",
                           "config": {"fields": [{"key": "qty", "name": "Qty", "type": "number"}]}}]}],
}


def test_v1_to_v2_renames_name_and_type_and_versions_definitions():
    v2 = v1_to_v2(V1)
    form = v2["forms"][0]
    assert v2["version"] == 2
    assert form["label"] == {"zh-CN": "客户", "en": "Customer"} and "name" not in form
    assert form["version"] == 1 and v2["roles"][0]["version"] == 1
    assert form["fields"][0] == {"key": "name", "label": "名称", "widget": "text"}
    assert form["fields"][1]["config"]["fields"][0] == {"key": "qty", "label": "Qty", "widget": "number"}
    assert not isinstance(compile_package(v2), list)  # the migrated package compiles


def test_v1_to_v2_keeps_a_label_that_is_already_there():
    v1 = {"format": "jimu.app", "version": 1, "app": V1["app"],
          "forms": [{"key": "f", "label": "F", "name": "old", "fields": []}]}
    assert v1_to_v2(v1)["forms"][0]["label"] == "F"


def test_migrations_never_mutate_their_input():
    before = copy.deepcopy(V1)
    migrate(V1)
    v1_to_v2(V1)
    assert V1 == before


def test_every_version_has_a_step_up_to_the_current_one():
    assert sorted(MIGRATIONS) == list(range(1, CURRENT_FORMAT_VERSION))


def test_current_package_is_returned_unchanged(package):
    assert migrate(package) is package


def test_too_new_missing_and_unknown_versions():
    for version, code in [(CURRENT_FORMAT_VERSION + 1, "package.version_too_new"), (None, "package.version_missing"),
                          ("2", "package.version_missing"), (True, "package.version_missing"),
                          (0, "package.version_unknown")]:
        with pytest.raises(PackageError) as info:
            migrate({**V1, "version": version})
        assert info.value.code == code
        assert info.value.errors[0]["pointer"] == "/version"
