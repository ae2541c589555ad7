"""Row scopes and field rules through the one policy (runtime/auth/policy.py), tried from outside.

An expense-claims package (tests/expense_package.py): employees own their
claims, managers see their team's, auditors large ones; ``internal_note`` is
hidden from employees and auditors, ``approved_amount`` read-only for
employees. Each caller is asked as a restricted user; nothing outside the
grant may come back. Runs on SQLite and PostgreSQL.
"""
import json
import re

import pytest

from tests.conftest import api_token, install_package, make_user
from tests.expense_package import package


class World:
    """The installed package, its users (with tokens) and a few claims created by the admin."""

    def __init__(self, jimu, client):
        self.jimu, self.client = jimu, client
        people = [("ann", ["employee"], ["team_a"]), ("ben", ["employee"], ["team_b"]),
                  ("mia", ["manager"], ["team_a"]), ("aud", ["auditor"], []), ("nobody", [], [])]
        self.ids, self.h = {}, {}
        for name, _roles, _groups in people:  # the package notifies some of them by name: they exist first
            uid = make_user(jimu, name)
            self.ids[name] = uid
            self.h[name] = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
        with jimu.begin() as conn:  # the rule mails them too
            import sqlalchemy as sa
            from runtime import db
            for name, uid in self.ids.items():
                conn.execute(sa.update(db.users).where(db.users.c.id == uid).values(email=f"{name}@example.com"))
        install_package(jimu, package())
        from runtime.auth.users import add_to_group, set_roles
        with jimu.begin() as conn:  # then the package's roles and groups
            for name, roles, groups in people:
                set_roles(conn, self.ids[name], roles)
                for group in groups:
                    add_to_group(conn, self.ids[name], group)
        admin = make_user(jimu, "boss", admin=True)
        self.admin = {"Authorization": f"Bearer {api_token(jimu, admin)}"}
        with jimu.read() as conn:
            import sqlalchemy as sa
            from runtime import db
            self.group = dict(conn.execute(sa.select(db.groups.c.key, db.groups.c.id)).all())
        self.claims = {}
        for key, owner, team, amount in [("ann1", "ann", "team_a", 120), ("ann2", "ann", "team_a", 2500),
                                         ("ben1", "ben", "team_b", 80), ("ben2", "ben", "team_b", 4000)]:
            r = client.post(url("claim"), json={"title": f"trip {key}", "amount": amount,
                                                "claimant": self.ids[owner], "team": self.group[team],
                                                "internal_note": f"SECRET-{key}", "approved_amount": amount},
                            headers=self.admin)
            assert r.status_code == 201, r.json
            self.claims[key] = r.json["id"]

    def list_ids(self, user, form="claim", **args):
        r = self.client.get(url(form), query_string={k: (json.dumps(v) if k == "filter" else v)
                                                     for k, v in args.items()}, headers=self.h[user])
        assert r.status_code == 200, r.json
        return r.json

    def named(self, *keys):
        return {self.claims[k] for k in keys}


def url(form, rid=None):
    return f"/api/v1/forms/{form}/records" + (f"/{rid}" if rid else "")


class Outbox:
    """What the outbox sends, captured at the notifier: mails and HTTP posts (webhooks, robots)."""

    def __init__(self, jimu, monkeypatch):
        from runtime.notify.http import Response
        self.mails, self.posts = [], []
        monkeypatch.setattr(jimu.services.notifier, "mail", lambda to, subject, body, *, key, html=None, **_:
                            self.mails.append({"to": list(to), "subject": subject, "body": body}))

        def post(method, url, *, body=None, headers=None, timeout=None):
            self.posts.append({"url": url, "body": json.loads(body)})
            return Response(200, {}, b'{"errcode": 0}', url)
        monkeypatch.setattr(jimu.services.notifier, "http", post)

    def mails_to(self, address):
        return [m for m in self.mails if address in m["to"]]


@pytest.fixture
def world(jimu, client, monkeypatch):
    from tests.runtime.rules_helpers import run_jobs
    w = World(jimu, client)
    w.outbox = Outbox(jimu, monkeypatch)
    run_jobs(jimu)  # the rule's messages: rendered and sent by the outbox, per recipient
    return w


# what each restricted user may read
READS = {"ann": ("ann1", "ann2"), "ben": ("ben1", "ben2"), "mia": ("ann1", "ann2"), "aud": ("ann2", "ben2")}


@pytest.mark.parametrize("user", sorted(READS))
def test_list_and_count_show_only_rows_in_scope(world, user):
    body = world.list_ids(user)
    assert {r["id"] for r in body["records"]} == world.named(*READS[user])
    assert body["total"] == len(READS[user])  # the count agrees with the list


@pytest.mark.parametrize("user", sorted(READS))
def test_get_outside_scope_is_404_like_a_missing_record(world, user):
    for key, rid in world.claims.items():
        r = world.client.get(url("claim", rid), headers=world.h[user])
        if key in READS[user]:
            assert r.status_code == 200 and r.json["id"] == rid
        else:
            assert r.status_code == 404 and r.json["error"]["code"] == "record.not_found"
            missing = world.client.get(url("claim", 999999), headers=world.h[user])
            assert missing.status_code == 404 and set(missing.json["error"]) == set(r.json["error"])


@pytest.mark.parametrize("user", ["ann", "aud"])
def test_hidden_field_never_leaves_list_or_get(world, user):
    body = world.list_ids(user)
    assert body["records"] and all("internal_note" not in r for r in body["records"])
    rid = body["records"][0]["id"]
    record = world.client.get(url("claim", rid), headers=world.h[user]).json
    assert "internal_note" not in record and "SECRET" not in json.dumps(record)
    # the manager's role does not hide it
    assert "SECRET" in json.dumps(world.list_ids("mia")["records"])


def test_search_filter_and_sort_cannot_probe_a_hidden_field(world):
    assert world.list_ids("ann", q="SECRET-ann1")["total"] == 0  # the search skips hidden fields
    assert world.list_ids("mia", q="SECRET-ann1")["total"] == 1  # ... only for those it is hidden from
    for args in ({"filter": [{"field": "internal_note", "op": "contains", "value": "SECRET"}]},
                 {"filter": {"any": [{"field": "title", "op": "eq", "value": "x"},
                                     {"field": "internal_note", "op": "eq", "value": "SECRET-ann1"}]}},
                 {"sort": "-internal_note"}):
        r = world.client.get(url("claim"), query_string={k: (json.dumps(v) if k == "filter" else v)
                                                         for k, v in args.items()}, headers=world.h["ann"])
        assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_hidden"
        assert r.json["error"]["field"] == "internal_note"


def test_filters_cannot_widen_the_scope(world):
    body = world.list_ids("ann", filter={"any": [{"field": "claimant", "op": "eq", "value": world.ids["ben"]},
                                                 {"field": "amount", "op": "gte", "value": 0}]})
    assert {r["id"] for r in body["records"]} == world.named("ann1", "ann2")


def test_update_and_delete_outside_scope_are_404_and_change_nothing(world):
    ben1 = world.claims["ben1"]
    r = world.client.patch(url("claim", ben1), json={"title": "mine now"}, headers=world.h["ann"])
    assert r.status_code == 404 and r.json["error"]["code"] == "record.not_found"
    r = world.client.delete(url("claim", ben1), headers=world.h["ann"])
    assert r.status_code == 404
    r = world.client.patch(url("claim", world.claims["ben2"]), json={"title": "x"}, headers=world.h["mia"])
    assert r.status_code == 404  # the manager updates team_a claims only
    after = world.client.get(url("claim", ben1), headers=world.admin).json
    assert after["title"] == "trip ben1" and after["row_version"] == 1
    # in scope it works
    r = world.client.patch(url("claim", world.claims["ann1"]), json={"title": "taxi"}, headers=world.h["mia"])
    assert r.status_code == 200 and r.json["title"] == "taxi"


def test_hidden_and_read_only_fields_cannot_be_written(world):
    ann1 = world.claims["ann1"]
    for body in ({"internal_note": "I was here"}, {"approved_amount": 99999}, {"status": "approved"}):
        r = world.client.patch(url("claim", ann1), json={"title": "ok", **body}, headers=world.h["ann"])
        assert r.status_code == 403, r.json
        assert r.json["error"]["code"] == "permission.field_read_only"
        assert r.json["error"]["field"] == next(iter(body))
        r = world.client.post(url("claim"), json={"title": "new", **body}, headers=world.h["ann"])
        assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_read_only"
    r = world.client.post(url("claim"), json=[{"title": "a"}, {"title": "b", "approved_amount": 5}],
                          headers=world.h["ann"])
    assert r.status_code == 403  # bulk create: all or none
    after = world.client.get(url("claim", ann1), headers=world.admin).json
    assert after["internal_note"] == "SECRET-ann1" and after["approved_amount"] == 120
    assert after["title"] == "trip ann1"
    # sending back a read-only field's current value (GET, edit, PUT) is not a write
    record = world.client.get(url("claim", ann1), headers=world.h["ann"]).json
    record["title"] = "train"
    r = world.client.put(url("claim", ann1), json=record, headers=world.h["ann"])
    assert r.status_code == 200, r.json
    assert r.json["title"] == "train" and "internal_note" not in r.json


def test_own_scope_follows_the_user_field_for_new_records(world):
    r = world.client.post(url("claim"), json={"title": "lunch", "amount": 10, "claimant": world.ids["ann"]},
                          headers=world.h["ann"])
    assert r.status_code == 201 and "internal_note" not in r.json
    assert r.json["id"] in {x["id"] for x in world.list_ids("ann")["records"]}
    assert r.json["id"] not in {x["id"] for x in world.list_ids("ben")["records"]}


def test_a_user_without_the_verb_reaches_nothing(world):
    r = world.client.get(url("claim"), headers=world.h["nobody"])
    assert r.status_code == 403
    r = world.client.get(url("claim", world.claims["ann1"]), headers=world.h["nobody"])
    assert r.status_code == 403


def test_roles_add_up(world, jimu):
    """Employee + auditor: own claims plus large ones; the note stays hidden (both hide it)."""
    uid = make_user(jimu, "both", roles=["employee", "auditor"], groups=["team_b"])
    both = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    r = world.client.get(url("claim"), headers=both)
    assert {x["id"] for x in r.json["records"]} == world.named("ann2", "ben2")
    assert "SECRET" not in json.dumps(r.json)
    # employee + manager: the manager does not hide the note, so it shows
    uid = make_user(jimu, "lead", roles=["employee", "manager"], groups=["team_b"])
    lead = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    r = world.client.get(url("claim"), headers=lead)
    assert {x["id"] for x in r.json["records"]} == world.named("ben1", "ben2")
    assert "SECRET-ben1" in json.dumps(r.json)


# -- the record pages ----------------------------------------------------------------------------
def browser_session(world, user):
    """A second test client logged in through the login form as ``user``; returns (client, csrf token)."""
    c = world.jimu_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    r = c.post("/login", data={"username": user, "password": "pw-123456", "csrf_token": token})
    assert r.status_code == 302, r.data[:300]
    with c.session_transaction() as sess:
        return c, sess["csrf"]


@pytest.fixture
def pages(world, app):
    world.jimu_app = app
    # comments: a public and an internal one on ann1, a public one on ben1
    for claim, body, vis in [("ann1", "please add the receipt", "public"), ("ann1", "INTERNAL-probe", "internal"),
                             ("ben1", "ben's public comment", "public")]:
        r = world.client.post(url("claim_comment"), json={"claim": world.claims[claim], "body": body,
                                                          "visibility": vis}, headers=world.admin)
        assert r.status_code == 201, r.json
        world.claims[f"comment:{body}"] = r.json["id"]
    return world


def test_record_pages_show_only_the_scope_and_the_visible_fields(pages):
    c, _ = browser_session(pages, "ann")
    html = c.get("/forms/claim").get_data(as_text=True)
    assert "trip ann1" in html and "trip ann2" in html and "trip ben1" not in html
    assert "SECRET" not in html and "Internal note" not in html  # no hidden column
    assert c.get(f"/forms/claim/{pages.claims['ben1']}").status_code == 404
    assert c.get(f"/forms/claim/{pages.claims['ben1']}/edit").status_code == 404
    detail = c.get(f"/forms/claim/{pages.claims['ann1']}").get_data(as_text=True)
    assert "trip ann1" in detail and "SECRET" not in detail and "Internal note" not in detail
    # the related timeline: the public comment, not the internal one
    assert "please add the receipt" in detail and "INTERNAL-probe" not in detail
    # suggestions ("similar claims" matched on title and the hidden note) stay inside the scope
    assert "trip ben" not in detail


def test_auditor_sees_no_edit_button_and_manager_sees_the_note(pages):
    c, _ = browser_session(pages, "aud")
    detail = c.get(f"/forms/claim/{pages.claims['ben2']}").get_data(as_text=True)
    assert "trip ben2" in detail and "SECRET" not in detail and "/edit" not in detail
    c, _ = browser_session(pages, "mia")
    detail = c.get(f"/forms/claim/{pages.claims['ann1']}").get_data(as_text=True)
    assert "SECRET-ann1" in detail and "/edit" in detail


def test_edit_page_leaves_out_hidden_and_shows_read_only_fields_and_a_post_cannot_set_them(pages):
    c, token = browser_session(pages, "ann")
    rid = pages.claims["ann1"]
    form = c.get(f"/forms/claim/{rid}/edit").get_data(as_text=True)
    assert 'name="internal_note"' not in form and "SECRET" not in form
    assert 'name="approved_amount"' not in form and 'data-field="approved_amount"' in form  # shown, not an input
    assert 'name="title"' in form
    r = c.post(f"/forms/claim/{rid}/edit", data={"csrf_token": token, "row_version": 1, "title": "bus",
                                                 "internal_note": "overwritten", "approved_amount": "99999",
                                                 "status": "approved"})
    assert r.status_code == 302
    after = pages.client.get(url("claim", rid), headers=pages.admin).json
    assert after["title"] == "bus" and after["internal_note"] == "SECRET-ann1"
    assert after["approved_amount"] == 120 and after["status"] is None
    r = c.post(f"/forms/claim/{pages.claims['ben1']}/edit", data={"csrf_token": token, "title": "x"})
    assert r.status_code == 404
    r = c.post(f"/forms/claim/{pages.claims['ben1']}/delete", data={"csrf_token": token})
    assert r.status_code == 404


def test_a_link_to_a_record_outside_the_scope_shows_no_title(pages):
    """ann may read ben's public comment, but not ben's claim it links to: the page shows #id, not its title."""
    c, _ = browser_session(pages, "ann")
    rid = pages.claims["comment:ben's public comment"]
    page = c.get(f"/forms/claim_comment/{rid}").get_data(as_text=True)
    assert "ben&#39;s public comment" in page or "ben's public comment" in page
    assert "trip ben1" not in page and f"#{pages.claims['ben1']}" in page


# -- reports, dashboards, drill-down and exports -----------------------------------------------
def test_charts_aggregate_only_rows_in_scope(pages):
    for user, claims in READS.items():
        rows = pages.client.get("/api/v1/reports/by_team/data", headers=pages.h[user]).json["rows"]
        amounts = {"ann1": 120, "ann2": 2500, "ben1": 80, "ben2": 4000}
        assert sum(r["n"] for r in rows) == len(claims), user
        assert sum(r["total"] for r in rows) == sum(amounts[c] for c in claims), user


def test_a_chart_of_a_hidden_field_is_refused_and_not_listed(pages):
    r = pages.client.get("/api/v1/reports/notes/data", headers=pages.h["ann"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_hidden"
    for fmt in ("csv", "xlsx"):
        r = pages.client.get(f"/api/v1/reports/notes/export.{fmt}", headers=pages.h["ann"])
        assert r.status_code == 403 and b"SECRET" not in r.data
    r = pages.client.post("/api/v1/reports/notes/drilldown", json={"point": {}}, headers=pages.h["ann"])
    assert r.status_code == 403
    assert "notes" not in {x["key"] for x in pages.client.get("/api/v1/reports", headers=pages.h["ann"]).json["reports"]}
    assert "notes" in {x["key"] for x in pages.client.get("/api/v1/reports", headers=pages.h["mia"]).json["reports"]}
    tiles = {t["report"]: t for t in
             pages.client.get("/api/v1/dashboards/claims/data", headers=pages.h["ann"]).json["charts"]}
    assert tiles["notes"]["error"]["code"] == "permission.field_hidden" and "rows" not in tiles["notes"]
    assert sum(r["n"] for r in tiles["by_team"]["rows"]) == 2


def test_exports_carry_only_rows_in_scope(pages):
    csv = pages.client.get("/api/v1/reports/by_team/export.csv", headers=pages.h["ben"]).data.decode("utf-8-sig")
    lines = [line for line in csv.splitlines()[1:] if line]
    assert len(lines) == 1 and "4080" in lines[0]  # ben's two claims, one team
    import io
    from openpyxl import load_workbook
    xlsx = pages.client.get("/api/v1/reports/by_team/export.xlsx", headers=pages.h["ben"]).data
    rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True))[1:]
    assert [r[1:] for r in rows] == [(2, 4080)]


def test_joined_records_outside_the_scope_do_not_reach_a_chart(pages):
    """ann reads public comments (also ben's), but not ben's claim: its title never shows."""
    rows = pages.client.get("/api/v1/reports/comments_by_claim/data", headers=pages.h["ann"]).json["rows"]
    assert rows == [{"claim": "trip ann1", "n": 1}]
    rows = pages.client.get("/api/v1/reports/comments_by_claim/data", headers=pages.admin).json["rows"]
    assert {r["claim"]: r["n"] for r in rows} == {"trip ann1": 2, "trip ben1": 1}


def test_dashboard_filters_and_drilldown_cannot_probe(pages):
    r = pages.client.get("/api/v1/reports/by_team/data", headers=pages.h["ann"], query_string={
        "filter": json.dumps([{"field": "internal_note", "op": "eq", "value": "SECRET-ann1"}])})
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_hidden"
    r = pages.client.post("/api/v1/reports/by_team/drilldown", headers=pages.h["ann"], json={
        "point": {"team": pages.group["team_b"]},
        "filter": [{"field": "internal_note", "op": "contains", "value": "SECRET"}]})
    assert r.status_code == 403
    r = pages.client.post("/api/v1/reports/by_team/drilldown", headers=pages.h["ann"],
                          json={"point": {"team": pages.group["team_b"]}})
    assert r.status_code == 200
    # the drill-down lands on the record list, which applies the scope: nothing of team_b for ann
    body = pages.list_ids("ann", filter=r.json["filter"])
    assert body["total"] == 0
    # the dashboard page's choice filter offers titles of rows in scope only
    c, _ = browser_session(pages, "ann")
    html = c.get("/dashboards/claims").get_data(as_text=True)
    assert "trip ann1" in html and "trip ben1" not in html and "SECRET" not in html


# -- notifications -------------------------------------------------------------------------------
def test_in_app_notifications_reach_only_readers_and_never_carry_a_hidden_value(pages):
    """Rendered per reader's view by the outbox: no "withheld" placeholder text any more, the note simply
    does not appear for those it is hidden from."""
    def inbox(user):
        r = pages.client.get("/api/v1/notifications", headers=pages.h[user])
        assert r.status_code == 200
        return r.json["notifications"]
    ann = inbox("ann")
    assert len(ann) == 2 and "SECRET" not in json.dumps(ann)  # told about her claims, not the hidden note
    mia = inbox("mia")
    assert sorted(n["title"] for n in mia) == ["New claim trip ann1", "New claim trip ann2"]
    assert any("SECRET-ann1" in n["body"] for n in mia)  # the note is not hidden from managers
    aud = inbox("aud")
    assert len(aud) == 2 and "SECRET" not in json.dumps(aud)  # the two large claims, without the note
    assert inbox("nobody") == [] and "ben" not in json.dumps(inbox("ann"))


def test_mails_reach_only_readers_and_render_each_readers_view(world):
    """The notification caller of the policy, by e-mail: a Jimu user is mailed only about claims they
    may read, and the mail is rendered from the claim as they see it (the note hidden from employees
    and auditors renders empty); the partner's address is an outsider and gets what no reading role
    hides. On the old code every address got one mail with every note."""
    out = world.outbox
    subjects = lambda who: sorted(m["subject"] for m in out.mails_to(f"{who}@example.com"))  # noqa: E731
    assert subjects("ann") == ["New claim trip ann1", "New claim trip ann2"]
    assert subjects("ben") == ["New claim trip ben1", "New claim trip ben2"]
    assert subjects("mia") == ["New claim trip ann1", "New claim trip ann2"]
    assert subjects("aud") == ["New claim trip ann2", "New claim trip ben2"]  # large claims only
    assert subjects("nobody") == []  # no role on the form: told nothing
    for who in ("ann", "ben", "aud"):
        assert all(m["body"] == "Note: " for m in out.mails_to(f"{who}@example.com"))
    assert sorted(m["body"] for m in out.mails_to("mia@example.com")) == ["Note: SECRET-ann1", "Note: SECRET-ann2"]
    partner = out.mails_to("cfo@partner.example")
    assert len(partner) == 4 and all("SECRET" not in m["body"] for m in partner)
    for m in out.mails:  # one text per mail: a reader who sees the note never shares a mail with one who may not
        assert "SECRET" not in m["body"] or m["to"] == ["mia@example.com"]


def test_webhooks_and_robots_get_the_outsiders_view(world):
    """Webhooks and group robots are outsiders: the record they receive and the message lack every field
    a role reading the form hides (docs/permissions.md)."""
    posts = world.outbox.posts
    assert len(posts) == 8  # a webhook and a robot per claim
    assert "SECRET" not in json.dumps(posts, ensure_ascii=False)
    hooks = [p["body"] for p in posts if "partner" in p["url"]]
    assert sorted(h["record"]["title"] for h in hooks) == ["trip ann1", "trip ann2", "trip ben1", "trip ben2"]
    assert all("internal_note" not in h["record"] and h["message"] == "Note: " for h in hooks)


def test_flows_of_a_record_outside_the_scope_are_404(world):
    r = world.client.get(f"/api/v1/forms/claim/records/{world.claims['ben1']}/flows", headers=world.h["ann"])
    assert r.status_code == 404 and r.json["error"]["code"] == "record.not_found"
    r = world.client.get(f"/api/v1/forms/claim/records/{world.claims['ann1']}/flows", headers=world.h["ann"])
    assert r.status_code == 200


def test_manual_rules_run_only_on_records_in_the_update_scope(world):
    run = "/api/v1/forms/claim/records/{}/run/approve"
    r = world.client.post(run.format(world.claims["ben1"]), headers=world.h["mia"])
    assert r.status_code == 404  # not the manager's team
    r = world.client.post(run.format(world.claims["ben1"]), headers=world.h["aud"])
    assert r.status_code in (403, 404)  # auditors may not update
    assert world.client.get(url("claim", world.claims["ben1"]), headers=world.admin).json["status"] is None
    # in scope the rule runs on the whole record (its condition reads the note the runner may not see)
    r = world.client.post(run.format(world.claims["ann1"]), headers=world.h["ann"])
    assert r.status_code == 200, r.json
    assert world.client.get(url("claim", world.claims["ann1"]), headers=world.admin).json["status"] == "approved"


# -- the sweep: every caller, one restricted user, nothing outside the grant ----------------------
FORBIDDEN = {"ann": ("SECRET-", "trip ben", "INTERNAL-probe"),
             "aud": ("SECRET-", "trip ann1", "trip ben1", "INTERNAL-probe", "please add the receipt")}


def _text(response) -> str:
    """A response as text; a spreadsheet's cells read back (the file itself is compressed)."""
    if response.mimetype and "spreadsheetml" in response.mimetype:
        import io
        from openpyxl import load_workbook
        return "\n".join(str(c) for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
                         for c in row)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("user", sorted(FORBIDDEN))
def test_every_caller_keeps_inside_the_grant(pages, user):
    api = {"headers": pages.h[user]}
    c, _ = browser_session(pages, user)
    record_ids = [v for k, v in pages.claims.items() if not k.startswith("comment:")]
    comment_ids = [v for k, v in pages.claims.items() if k.startswith("comment:")]
    calls = [("api", "get", url("claim"), {}), ("api", "get", url("claim"), {"query_string": {"q": "trip"}}),
             ("api", "get", url("claim"), {"query_string": {"sort": "-amount", "per_page": 500}}),
             ("api", "get", url("claim_comment"), {}), ("api", "get", "/api/v1/reports", {}),
             ("api", "get", "/api/v1/dashboards", {}), ("api", "get", "/api/v1/dashboards/claims/data", {}),
             ("api", "get", "/api/v1/notifications", {}),
             ("ui", "get", "/forms/claim", {}), ("ui", "get", "/forms/claim", {"query_string": {"q": "trip"}}),
             ("ui", "get", "/forms/claim_comment", {}), ("ui", "get", "/dashboards", {}),
             ("ui", "get", "/dashboards/claims", {})]
    for rid in record_ids:
        calls += [("api", "get", url("claim", rid), {}), ("api", "get", f"{url('claim', rid)}/flows", {}),
                  ("ui", "get", f"/forms/claim/{rid}", {}), ("ui", "get", f"/forms/claim/{rid}/edit", {}),
                  ("ui", "get", f"/forms/claim/{rid}/process", {})]
    for rid in comment_ids:
        calls += [("api", "get", url("claim_comment", rid), {}), ("ui", "get", f"/forms/claim_comment/{rid}", {})]
    for report in ("by_team", "notes", "comments_by_claim"):
        calls += [("api", "get", f"/api/v1/reports/{report}/data", {}),
                  ("api", "get", f"/api/v1/reports/{report}/export.csv", {}),
                  ("api", "get", f"/api/v1/reports/{report}/export.xlsx", {})]
        for team in pages.group.values():
            calls.append(("api", "post", f"/api/v1/reports/{report}/drilldown", {"json": {"point": {"team": team}}}))
    for how, method, path, kw in calls:
        r = getattr(pages.client if how == "api" else c, method)(path, **({**api, **kw} if how == "api" else kw))
        assert r.status_code < 500, (path, r.status_code)
        text = _text(r)
        for marker in FORBIDDEN[user]:
            assert marker not in text, (user, how, path, marker)
    # the notification caller: what the outbox mailed the user
    mailed = json.dumps(pages.outbox.mails_to(f"{user}@example.com"), ensure_ascii=False)
    for marker in FORBIDDEN[user]:
        assert marker not in mailed, (user, "mail", marker)


def test_a_write_cannot_put_a_record_outside_the_writers_scope(world):
    """Like PostgreSQL's row security on the new row: no claim filed, or handed over, in a colleague's name."""
    before = world.client.get(url("claim"), headers=world.admin).json["total"]
    r = world.client.post(url("claim"), json={"title": "in ben's name", "claimant": world.ids["ben"]},
                          headers=world.h["ann"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.row_scope"
    r = world.client.post(url("claim"), json=[{"title": "mine", "claimant": world.ids["ann"]},
                                              {"title": "his", "claimant": world.ids["ben"]}], headers=world.h["ann"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.row_scope"
    assert world.client.get(url("claim"), headers=world.admin).json["total"] == before  # all rolled back
    ann1 = world.claims["ann1"]
    r = world.client.patch(url("claim", ann1), json={"claimant": world.ids["ben"]}, headers=world.h["ann"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.row_scope"
    r = world.client.patch(url("claim", ann1), json={"team": world.group["team_b"]}, headers=world.h["mia"])
    assert r.status_code == 403
    after = world.client.get(url("claim", ann1), headers=world.admin).json
    assert after["claimant"] == world.ids["ann"] and after["team"] == world.group["team_a"]
    assert after["row_version"] == 1


def test_policy_answers_for_principals_built_by_hand():
    """A principal with a grant but no access information (a system actor, a test double) is not narrowed;
    one without the verb reaches no row; roles add up per verb."""
    import sqlalchemy as sa
    from runtime.auth import policy
    from runtime.auth.principal import Principal, combine_access

    class FT:
        key = "claim"
        table = sa.table("t", sa.column("id"), sa.column("created_by"))
        columns, multi = {}, {}
    plain = Principal(user_id=1, username="x", grants={"claim": frozenset({"read"})})
    assert policy.row_filter(plain, FT) is None
    assert str(policy.row_filter(plain, FT, "update")) == "false"
    access = combine_access([({"claim": ["read", "update"]}, {"rows": {"claim": {"scope": "own"}}}),
                             ({"claim": ["read"]}, {"fields": {"claim": {"note": "hidden", "x": "read_only"}}})])
    assert access["claim"].rows == {"read": None, "update": ({"scope": "own"},)}
    assert access["claim"].fields == {}  # the first role leaves both fields open
    both = Principal(user_id=1, username="x", grants={"claim": frozenset({"read", "update"})}, access=access)
    assert policy.row_filter(both, FT) is None
    assert "created_by" in str(policy.row_filter(both, FT, "update"))
