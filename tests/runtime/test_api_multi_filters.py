"""Filtering and sorting by multi-value fields (issue #14, item 7) — checkboxes, several users,
several linked records — tried over the API on an agency app. Each filter selects exactly the records
whose values the same operator's Python test accepts (what a rule condition would decide), on SQLite
and PostgreSQL. (On the old main every such filter was a 400 ``filter.bad_field`` and the sort an
unknown field.)"""
from __future__ import annotations

import json

import pytest

from engines.operators import OPERATORS
from tests.runtime.agency_package import agency, url  # noqa: F401  (fixture)


@pytest.fixture
def projects(agency):
    a, g = agency.clients["Acme"], agency.clients["Globex"]
    sam, cat = agency.ids["sam"], agency.ids["cat"]
    rows = {"site": dict(tags=["web"], members=[sam], partners=[a]),
            "app": dict(tags=["mobile", "web"], members=[cat, sam], partners=[a, g]),
            "poster": dict(tags=["print"], members=[cat], partners=[g]),
            "draft": dict(tags=[], members=[], partners=[])}
    return {title: agency.create("project", title=title, **values) for title, values in rows.items()}


def _titles(agency, user="root", **args):
    if "filter" in args:
        args["filter"] = json.dumps(args["filter"])
    r = agency.get(user, url("project"), per_page=500, **args)
    assert r.status_code == 200, r.get_json()
    return [rec["title"] for rec in r.get_json()["records"]]


def _cases(agency):
    a, g = agency.clients["Acme"], agency.clients["Globex"]
    sam, cat = agency.ids["sam"], agency.ids["cat"]
    return [("tags", "contains", "web"), ("tags", "not_contains", "web"), ("tags", "contains_any", ["print", "mobile"]),
            ("tags", "contains_all", ["web", "mobile"]), ("tags", "is_empty", None), ("tags", "is_not_empty", None),
            ("members", "contains", sam), ("members", "contains_all", [sam, cat]),
            ("members", "not_contains", cat), ("partners", "contains", g),
            ("partners", "contains_any", [a, g]), ("partners", "is_empty", None)]


def test_each_operator_selects_what_its_rule_test_accepts(agency, projects):
    records = agency.get("root", url("project"), per_page=500).get_json()["records"]
    for field, op, value in _cases(agency):
        spec = {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
        want = sorted(r["title"] for r in records if OPERATORS.get(op).test(r[field], value))
        assert sorted(_titles(agency, filter=spec)) == want, spec
    assert sorted(_titles(agency, filter={"field": "tags", "op": "contains", "value": "web"})) == ["app", "site"]


def test_multi_value_filters_combine_with_groups_and_labels(agency, projects):
    spec = {"any": [{"field": "tags", "op": "contains", "value": "print"},
                    {"all": [{"field": "tags", "op": "contains", "value": "web"},
                             {"field": "members", "op": "contains", "value": agency.ids["cat"]}]}]}
    assert sorted(_titles(agency, filter=spec)) == ["app", "poster"]


def test_wrong_operators_and_values_are_coded_400s(agency, projects):
    for spec, code in (({"field": "tags", "op": "gt", "value": "web"}, "filter.bad_operator"),
                       ({"field": "tags", "op": "contains", "value": "radio"}, "filter.bad_value"),
                       ({"field": "members", "op": "contains_any", "value": "x"}, "filter.bad_value"),
                       ({"field": "partners", "op": "contains", "value": -3}, "filter.bad_value")):
        r = agency.get("root", url("project"), filter=json.dumps(spec))
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, (spec, r.get_json())


def test_sort_by_a_multi_value_field_uses_its_first_value(agency, projects):
    # first values: site web, app mobile, poster print, draft none
    # the empty one sorts where the database puts nulls (first on SQLite, last on PostgreSQL), as for
    # an empty single-value field
    got = [t for t in _titles(agency, sort="tags,title") if t != "draft"]
    assert got == ["app", "poster", "site"]              # mobile < print < web
    got = [t for t in _titles(agency, sort="-tags,title") if t != "draft"]
    assert got == ["site", "poster", "app"]


def test_a_restricted_user_filters_only_within_their_rows(agency, projects):
    """eve (editor) reaches the projects she is a member of; filtering does not widen that."""
    agency.create("project", title="eve's", tags=["web"], members=[agency.ids["eve"]])
    assert _titles(agency, "eve", filter={"field": "tags", "op": "contains", "value": "web"}) == ["eve's"]
