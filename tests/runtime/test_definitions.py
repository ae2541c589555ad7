"""One definition cache keyed by one revision: the forms, rules, reports and flow specs a process
compiled are all dropped together when the catalogue revision moves, and every install moves it."""
from __future__ import annotations

import copy

import sqlalchemy as sa

from tests.conftest import install_package

ORDER = {"key": "purchase_order", "version": 1, "label": "Purchase order", "title_field": "item",
         "fields": [{"key": "item", "label": "Item", "widget": "text"},
                    {"key": "amount", "label": "Amount", "widget": "number"},
                    {"key": "approval", "label": "Approval", "widget": "text"}]}


def package(version: str, threshold: int) -> dict:
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "purchasing", "version": version, "label": "Purchasing"},
            "forms": [copy.deepcopy(ORDER)],
            "rules": [{"key": "big_order", "version": 1, "label": "Big orders need the board", "form": "purchase_order",
                       "trigger": {"type": "record_created"},
                       "condition": {"field": "amount", "op": "gt", "value": threshold},
                       "actions": [{"type": "set_fields", "values": {"approval": "board"}}]}],
            "flows": [{"key": "buy", "version": 1, "form": "purchase_order", "label": "Buy",
                       "nodes": [{"id": "s", "type": "start", "config": {}}, {"id": "e", "type": "end", "config": {}}],
                       "edges": [{"id": "s-e", "from": "s", "to": "e"}]}],
            "reports": [{"key": "orders", "version": 1, "label": "Orders", "type": "table", "form": "purchase_order",
                         "dimensions": [{"field": "approval"}], "measures": [{"key": "n", "agg": "count"}]}]}


def compiled_now(jimu):
    with jimu.read() as conn:
        return (jimu.services.rules.cache.get(conn), jimu.services.reports.definitions(conn),
                jimu.services.flows.runtime(conn).spec("buy"), jimu.catalog.form("purchase_order"),
                jimu.catalog.revision)


def test_rules_reports_and_flow_specs_live_in_the_one_cache(jimu):
    install_package(jimu, package("1.0.0", 1000))
    rules, reports, spec, form, revision = compiled_now(jimu)
    again = compiled_now(jimu)
    assert again[0] is rules and again[1] is reports and again[2] is spec and again[3] is form  # compiled once
    assert reports.revision == revision
    with jimu.read() as conn:
        assert jimu.catalog.compiled("rules", conn, lambda c: None).rules is rules
        assert jimu.catalog.compiled("reports", conn, lambda c: None) is reports


def test_moving_the_one_revision_drops_everything_compiled(jimu):
    """Another process publishing moves one number; nothing else is consulted (the rule cache once
    had its own key: the count of apps and the newest app version)."""
    from runtime.store.evolve import bump_revision
    install_package(jimu, package("1.0.0", 1000))
    rules, reports, spec, form, revision = compiled_now(jimu)
    with jimu.engine.begin() as conn:  # as another process would: straight to the database
        bump_revision(conn)
    fresh = compiled_now(jimu)
    assert fresh[4] == revision + 1
    assert fresh[0] is not rules and fresh[1] is not reports and fresh[2] is not spec and fresh[3] is not form


def test_an_upgrade_changing_only_a_rule_is_seen_by_the_next_write(jimu):
    from tests.runtime.flow_fixtures import principal
    from tests.conftest import make_user
    admin = principal(jimu, make_user(jimu, "buyer", admin=True))
    install_package(jimu, package("1.0.0", 1000))
    with jimu.begin() as conn:
        first = jimu.services.records(jimu, conn, admin).create("purchase_order", {"item": "desk", "amount": 500})
    before = jimu.catalog.revision
    install_package(jimu, package("1.1.0", 100))  # only the rule's threshold changed
    with jimu.begin() as conn:
        second = jimu.services.records(jimu, conn, admin).create("purchase_order", {"item": "desk", "amount": 500})
        revision = conn.execute(sa.text("SELECT revision FROM jimu_catalog_revision")).scalar()
    assert revision > before
    assert first["approval"] is None and second["approval"] == "board"
