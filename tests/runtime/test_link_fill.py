"""Choosing a linked record fills fields from it (a link's ``fill``): pick the client on a project
and its name and account manager are copied, on every write path, as the server's clean decides.
The customer-service seeds asked for it ("choosing a customer on a ticket fills name, phone and
e-mail"); before, the link's config had no such setting and every copy was typed by hand."""
from __future__ import annotations

import pytest

from apps import compile_package
from tests.conftest import api_token, install_package, make_user
from tests.runtime.agency_package import package, url


def filling_package(**fill) -> dict:
    pkg = package()
    project = pkg["forms"][1]
    project["fields"][1:1] = [{"key": "client_name", "label": "Client name", "widget": "text"},
                              {"key": "manager", "label": "Manager", "widget": "user"}]
    project["fields"][3]["config"]["fill"] = fill or {"client_name": "name", "manager": "account_manager"}
    return pkg


@pytest.fixture
def app_(jimu, client):
    install_package(jimu, filling_package())
    root = make_user(jimu, "root", admin=True)
    sam = make_user(jimu, "sam", roles=["staff"])
    h = {"Authorization": f"Bearer {api_token(jimu, root)}"}

    def post(form, **values):
        r = client.post(url(form), json=values, headers=h)
        assert r.status_code == 201, r.get_json()
        return r.get_json()
    acme = post("client", name="Acme", account_manager=sam)["id"]
    globex = post("client", name="Globex", account_manager=root)["id"]
    return {"post": post, "h": h, "client": client, "acme": acme, "globex": globex, "sam": sam, "root": root}


def test_a_chosen_link_fills_empty_fields_and_keeps_sent_ones(app_):
    made = app_["post"]("project", title="Rebrand", client=app_["acme"])
    assert (made["client_name"], made["manager"]) == ("Acme", app_["sam"])
    typed = app_["post"]("project", title="Site", client=app_["acme"], client_name="ACME Labs (HQ)")
    assert (typed["client_name"], typed["manager"]) == ("ACME Labs (HQ)", app_["sam"])
    none = app_["post"]("project", title="Internal")
    assert none["client_name"] is None and none["manager"] is None


def test_a_fill_never_overwrites_what_is_there(app_):
    c, h = app_["client"], app_["h"]
    rid = app_["post"]("project", title="Rebrand", client=app_["acme"])["id"]
    r = c.patch(url("project", rid), json={"client_name": "Acme (old name)"}, headers=h)
    assert r.get_json()["client_name"] == "Acme (old name)"
    r = c.patch(url("project", rid), json={"client": app_["globex"]}, headers=h)
    assert (r.get_json()["client_name"], r.get_json()["manager"]) == ("Acme (old name)", app_["sam"])
    r = c.patch(url("project", rid), json={"client": app_["acme"], "client_name": None, "manager": None}, headers=h)
    assert (r.get_json()["client_name"], r.get_json()["manager"]) == ("Acme", app_["sam"])   # emptied: refilled
    bare = app_["post"]("project", title="Later")["id"]
    r = c.patch(url("project", bare), json={"client": app_["globex"]}, headers=h)
    assert (r.get_json()["client_name"], r.get_json()["manager"]) == ("Globex", app_["root"])
    r = c.patch(url("project", bare), json={"hours": 2}, headers=h)            # the link unchanged: nothing
    assert r.get_json()["client_name"] == "Globex"


@pytest.mark.parametrize("fill, code, pointer_end", [
    ({"client_name": "colour"}, "package.unknown_field", "/fill/client_name"),
    ({"nickname": "name"}, "field.fill_target", "/fill/nickname"),
    ({"client": "name"}, "field.fill_target", "/fill/client"),
])
def test_a_fill_naming_what_does_not_exist_is_refused_at_validation(fill, code, pointer_end):
    result = compile_package(filling_package(**fill))
    errors = [(e["code"], e["pointer"]) for e in result]
    assert (code, "/forms/1/fields/3/config" + pointer_end) in errors, errors


def test_a_multiple_link_cannot_fill():
    pkg = filling_package()
    pkg["forms"][1]["fields"][3]["config"]["multiple"] = True
    errors = [(e["code"], e["pointer"]) for e in compile_package(pkg)]
    assert ("field.fill_multiple", "/forms/1/fields/3/config/fill") in errors
