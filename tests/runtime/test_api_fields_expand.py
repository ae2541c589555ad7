"""``fields=`` and ``expand=`` on record reads (issue #14, item 7), tried on an agency app as an
integrator would: the answer carries only the fields asked for, and link, user and group fields
expand to objects — a linked record exactly as the caller could read it directly, never one outside
their row scope or form rights, never a field hidden from them. (On the old main both parameters
were refused as unknown.)"""
from __future__ import annotations

import json

import pytest

from tests.runtime.agency_package import agency, url  # noqa: F401  (fixture)


@pytest.fixture
def project(agency):
    return agency.create("project", title="Rebrand", client=agency.clients["Acme"],
                         partners=[agency.clients["Acme"], agency.clients["Globex"]],
                         members=[agency.ids["sam"], agency.ids["cat"]], team=agency.group["design"],
                         tags=["web", "print"], hours=40)


def test_fields_keeps_only_what_was_asked_plus_id_and_version(agency, project):
    r = agency.get("sam", url("project"), fields="title,hours")
    assert r.status_code == 200
    assert r.get_json()["records"] == [{"id": project, "row_version": 1, "title": "Rebrand", "hours": 40}]
    one = agency.get("sam", url("project", project), fields="tags")
    assert one.get_json() == {"id": project, "row_version": 1, "tags": ["web", "print"]}
    assert one.headers["ETag"] == '"1"'


def test_unknown_and_hidden_fields_are_refused_with_codes(agency, project):
    r = agency.get("sam", url("project"), fields="title,colour")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "request.unknown_field"
    r = agency.get("sam", url("client"), fields="name,budget")      # budget is hidden from staff
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "permission.field_hidden"
    r = agency.get("sam", url("project"), expand="title")            # not a link/user/group field
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "expand"


def test_expand_shows_linked_records_as_a_direct_read_would(agency, project):
    acme, globex = agency.clients["Acme"], agency.clients["Globex"]
    rec = agency.get("sam", url("project", project), expand="client,partners").get_json()
    direct = agency.get("sam", url("client", acme)).get_json()
    assert rec["client"] == direct and "budget" not in rec["client"]          # hidden from staff
    # Globex is managed by root: outside sam's row scope, so it is not expanded
    assert agency.get("sam", url("client", globex)).status_code == 404
    assert rec["partners"] == [direct, {"id": globex}]
    # the administrator reads both, budget included
    full = agency.get("root", url("project", project), expand="partners").get_json()
    assert [p["budget"] for p in full["partners"]] == [90000, 50000]


def test_a_caller_without_the_linked_forms_read_verb_gets_ids_only(agency, project):
    rec = agency.get("cat", url("project"), expand="client,partners").get_json()["records"][0]
    assert rec["client"] == {"id": agency.clients["Acme"]}
    assert rec["partners"] == [{"id": agency.clients["Acme"]}, {"id": agency.clients["Globex"]}]


def test_expand_users_and_groups(agency, project):
    rec = agency.get("cat", url("project"), expand="members,team", fields="title").get_json()["records"][0]
    assert set(rec) == {"id", "row_version", "title", "members", "team"}
    assert rec["members"] == [{"id": agency.ids["sam"], "username": "sam", "display_name": "sam"},
                              {"id": agency.ids["cat"], "username": "cat", "display_name": "cat"}]
    assert rec["team"]["key"] == "design" and rec["team"]["id"] == agency.group["design"]
    assert "email" not in rec["members"][0] and "password_hash" not in rec["members"][0]


def test_an_expanded_record_can_be_sent_back_as_it_came(agency, project):
    rec = agency.get("sam", url("project", project), expand="client,members").get_json()
    r = agency.client.patch(url("project", project), headers={**agency.h["sam"], "If-Match": '"1"'},
                            json={"client": rec["client"], "members": rec["members"], "hours": 41})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["client"] == agency.clients["Acme"] and r.get_json()["hours"] == 41


def test_fields_and_expand_work_with_filters_and_pages(agency, project):
    agency.create("project", title="Billboard", client=agency.clients["Globex"], tags=["print"])
    r = agency.get("root", url("project"), fields="title,client", expand="client", per_page=1,
                   filter=json.dumps({"field": "title", "op": "eq", "value": "Billboard"}))
    body = r.get_json()
    assert body["total"] == 1 and body["records"][0]["client"]["name"] == "Globex"
    assert body["next"] is None
