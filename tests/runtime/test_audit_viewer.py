"""The audit viewer: /audit and GET /api/v1/audit(.csv) over the event log, filtered by user, app, form,
record, kind and time, paged and exported; administrators read everything, an app's owners read their
app's forms only, anyone else gets 403. (On the old main nothing read the event log.)"""
from __future__ import annotations

import csv
import io

from tests.conftest import api_token
from tests.runtime.identity_fixtures import install_both, login, make_user

PO = "/api/v1/forms/purchase_order/records"
STOCK = "/api/v1/forms/stock_item/records"


def bearer(jimu, uid):
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


def setup(jimu, client, clock):
    install_both(jimu)
    root = make_user(jimu, "root", admin=True)
    buyer = make_user(jimu, "ann", roles=["buyer"])
    owner = make_user(jimu, "olga", roles=["purchasing_owner"])
    keeper = make_user(jimu, "kim", roles=["storekeeper"])
    hb, hk = bearer(jimu, buyer), bearer(jimu, keeper)
    rid = client.post(PO, json={"title": "Laptops", "amount": 3000}, headers=hb).get_json()["id"]
    clock.advance(days=1)
    client.patch(f"{PO}/{rid}", json={"amount": 2800}, headers=hb)
    client.post(PO, json={"title": "Monitors"}, headers=hb)
    client.post(STOCK, json={"sku": "SKU-1", "quantity": 4}, headers=hk)
    return {"root": root, "ann": buyer, "olga": owner, "kim": keeper, "rid": rid}


def events(client, headers, **params):
    r = client.get("/api/v1/audit", query_string=params, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_admin_filters_by_user_app_form_record_kind_and_time(client, jimu, clock):
    ids = setup(jimu, client, clock)
    h = bearer(jimu, ids["root"])
    everything = events(client, h)
    kinds = {e["kind"] for e in everything["events"]}
    assert {"app.installed", "token.created", "record.created", "record.updated"} <= kinds
    by_app = events(client, h, app="purchasing")["events"]
    assert {e["form_key"] for e in by_app} == {"purchase_order"} and all(e["app"] == "purchasing" for e in by_app)
    assert {e["form_key"] for e in events(client, h, form="stock_item")["events"]} == {"stock_item"}
    rec = events(client, h, form="purchase_order", record=ids["rid"])["events"]
    assert [e["kind"] for e in rec] == ["record.updated", "record.created"]          # newest first
    assert [float(v) for v in rec[0]["data"]["changes"]["amount"]] == [3000, 2800]
    assert {e["actor"] for e in events(client, h, user="kim")["events"]} == {"kim"}
    assert {e["kind"] for e in events(client, h, kind="record.*")["events"]} == {"record.created", "record.updated"}
    assert events(client, h, kind="record_*")["total"] == 0      # "_" is a dot only to LIKE, not to a kind
    day_two = clock.now.date().isoformat()
    later = events(client, h, since=day_two, kind="record.*")["events"]
    assert sorted(e["kind"] for e in later) == ["record.created", "record.created", "record.updated"]
    assert events(client, h, until=day_two, since=day_two, form="purchase_order", kind="record.created")["total"] == 1
    paged = events(client, h, per_page=2, page=2)
    assert paged["page"] == 2 and len(paged["events"]) == 2 and paged["total"] == everything["total"]
    bad = client.get("/api/v1/audit?since=yesterday", headers=h)
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "since"


def test_csv_export_holds_what_is_filtered(client, jimu, clock):
    ids = setup(jimu, client, clock)
    r = client.get("/api/v1/audit.csv?app=purchasing&kind=record.*", headers=bearer(jimu, ids["root"]))
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3 and {row["app"] for row in rows} == {"purchasing"}
    assert {row["actor"] for row in rows} == {"ann"} and '"title": "Laptops"' in "".join(row["data"] for row in rows)


def test_an_app_owner_reads_only_their_apps_events(client, jimu, clock):
    ids = setup(jimu, client, clock)
    h = bearer(jimu, ids["olga"])
    seen = events(client, h)["events"]
    assert seen and {e["form_key"] for e in seen} == {"purchase_order"}
    assert not any(e["kind"].startswith(("user.", "token.", "auth.")) for e in seen)
    r = client.get("/api/v1/audit?app=inventory", headers=h)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "audit.forbidden"
    assert events(client, h, form="stock_item")["total"] == 0
    rows = client.get("/api/v1/audit.csv", headers=h).get_data(as_text=True)
    assert "SKU-1" not in rows and "Laptops" in rows


def test_restricted_users_and_anonymous_callers_are_refused(app, client, jimu, clock):
    ids = setup(jimu, client, clock)
    for who in ("ann", "kim"):      # people with data roles but no ownership
        h = bearer(jimu, ids[who])
        for path in ("/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit?app=purchasing"):
            r = client.get(path, headers=h)
            assert r.status_code == 403 and r.get_json()["error"]["code"] == "audit.forbidden", (who, path)
    assert client.get("/api/v1/audit").status_code == 401
    browser = app.test_client()
    login(browser, "ann")
    assert browser.get("/audit").status_code == 403
    assert 'data-link="audit"' not in browser.get("/").get_data(as_text=True)


def test_a_narrowed_admin_token_cannot_read_the_audit_log(client, jimu, clock):
    from runtime.auth.tokens import TokenScope, create_token
    ids = setup(jimu, client, clock)
    with jimu.begin() as conn:
        _, secret = create_token(conn, ids["root"], "reporting", now=jimu.now(), scope=TokenScope(access="read"))
    r = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "audit.forbidden"


def test_the_audit_page_filters_pages_and_links_the_csv(app, client, jimu, clock):
    ids = setup(jimu, client, clock)
    admin = app.test_client()
    login(admin, "root")
    assert 'data-link="audit"' in admin.get("/").get_data(as_text=True)
    html = admin.get(f"/audit?form=purchase_order&record={ids['rid']}").get_data(as_text=True)
    assert html.count("data-event-id=") == 2 and 'data-kind="record.updated"' in html
    assert f'href="/api/v1/audit.csv?form=purchase_order&amp;record={ids["rid"]}"' in html or \
        f'href="/api/v1/audit.csv?record={ids["rid"]}&amp;form=purchase_order"' in html
    owner = app.test_client()
    login(owner, "olga")
    page = owner.get("/audit").get_data(as_text=True)
    assert "purchase_order" in page and "stock_item" not in page
    assert owner.get("/audit?app=inventory").status_code == 403
