"""Choosing a user, group or linked record by name (``GET /forms/<form>/fields/<field>/choices``).

Reference fields used to be bare number boxes: an agent had to know that the client "Acme" is 7.
The choices route offers names for what was typed, and offers a linked form's records exactly as
the caller's own list read would show them (row scope, hidden fields), so a picker leaks nothing."""
from __future__ import annotations

import pytest

from tests.runtime.agency_package import agency  # noqa: F401  (fixture)


def choices(agency, user, field, form="project", **args):
    return agency.get(user, f"/api/v1/forms/{form}/fields/{field}/choices", **args)


def test_linked_records_are_offered_by_title_within_the_callers_row_scope(agency):
    agency.create("client", name="Acme Labs", account_manager=agency.ids["sam"])
    root = choices(agency, "root", "client").get_json()["choices"]
    assert [c["text"] for c in root] == ["Acme", "Acme Labs", "Globex"]
    assert root[0]["id"] == agency.clients["Acme"]
    sam = choices(agency, "sam", "client").get_json()["choices"]   # staff read only the clients they manage
    assert [c["text"] for c in sam] == ["Acme", "Acme Labs"]
    assert [c["text"] for c in choices(agency, "sam", "partners", q="labs").get_json()["choices"]] == ["Acme Labs"]
    assert choices(agency, "sam", "client", q="glob").get_json()["choices"] == []


def test_users_and_groups_are_offered_by_name(agency):
    people = choices(agency, "sam", "members", q="ca").get_json()["choices"]
    assert people == [{"id": agency.ids["cat"], "text": "cat"}]
    teams = choices(agency, "sam", "team").get_json()["choices"]
    assert {t["id"]: t["text"] for t in teams} == {agency.group["design"]: "设计组", agency.group["build"]: "Build"}


def test_who_may_not_fill_or_read_gets_no_choices(agency):
    r = choices(agency, "cat", "client")        # contractor reads projects but may not fill one
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "form.not_found"
    r = choices(agency, "eve", "client")        # editor may update projects but not read clients
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "permission.denied"
    r = choices(agency, "sam", "hours")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "field.no_choices"
    r = choices(agency, "sam", "nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "field.not_found"
    r = choices(agency, "sam", "client", limit=500)
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "limit"
    assert agency.client.get("/api/v1/forms/project/fields/client/choices").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_link_filter_limits_what_is_offered(agency, jimu):
    """A link's ``filter`` ("record-list filters limiting the records offered") was read nowhere."""
    from tests.conftest import install_package
    from tests.runtime.agency_package import package
    pkg = package()
    pkg["app"]["version"] = "1.0.1"
    pkg["forms"][1]["version"] = 2
    pkg["forms"][1]["fields"][1]["config"]["filter"] = [{"field": "name", "op": "contains", "value": "lob"}]
    install_package(jimu, pkg)
    assert [c["text"] for c in choices(agency, "root", "client").get_json()["choices"]] == ["Globex"]
