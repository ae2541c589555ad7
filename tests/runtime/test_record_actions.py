"""Macros, bulk actions on a selection and merging duplicates, on a property-maintenance app, through
the API as restricted people: each write is checked as theirs (verb, row scope, field rules, the form's
validation), refusals come back per record with their reason, everything is audited."""
from __future__ import annotations

import sqlalchemy as sa

from .repairs_package import Repairs, url  # noqa: F401
from .repairs_package import repairs  # noqa: F401,F811  (fixture)


def _events(jimu, kind):
    from runtime import db
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.events).where(db.events.c.kind == kind)
                                              .order_by(db.events.c.id)).mappings()]


def _notes(r: Repairs, repair: int) -> list[dict]:
    body = r.client.get(url("note"), query_string={"filter": f'[{{"field":"repair","value":{repair}}}]'},
                        headers=r.h["root"]).get_json()
    return body["records"]


def test_a_macro_writes_a_reply_and_fields_with_the_persons_rights(repairs, jimu):
    r = repairs
    mine = r.create("repair", title="boiler", fixer=r.ids["fay"], status="working")
    theirs = r.create("repair", title="window", fixer=r.ids["finn"], status="working")
    offered = r.client.get(url("repair", mine) + "/macros", headers=r.h["fay"]).get_json()["macros"]
    assert [m["key"] for m in offered] == ["ask_photo", "hand_to_desk"]
    resp = r.client.post(url("repair", mine) + "/macros/ask_photo", headers=r.h["fay"])
    assert resp.status_code == 200, resp.get_json()
    (note,) = _notes(r, mine)
    assert note["text"] == "Please send us a photo of the boiler." and note["public"] is True
    assert resp.get_json()["records"] == sorted([{"form": "note", "id": note["id"]}, {"form": "repair", "id": mine}],
                                                key=lambda x: (x["form"], x["id"]))
    assert {k: r.get("repair", mine)[k] for k in ("status", "reason")} == {"status": "waiting", "reason": "photo asked"}
    (event,) = _events(jimu, "record.macro")
    assert (event["actor_id"], event["record_id"], event["data"]["macro"]) == (r.ids["fay"], mine, "ask_photo")
    # out of her scope: as if it did not exist; without the update verb: refused
    assert r.client.post(url("repair", theirs) + "/macros/ask_photo", headers=r.h["fay"]).status_code == 404
    assert r.client.post(url("repair", mine) + "/macros/ask_photo", headers=r.h["vic"]).status_code == 403
    assert _notes(r, theirs) == []
    # handing over would put the repair outside what she may update: the whole macro is undone
    resp = r.client.post(url("repair", mine) + "/macros/hand_to_desk", headers=r.h["fay"])
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "permission.row_scope"
    assert r.get("repair", mine)["fixer"] == r.ids["fay"] and r.get("repair", mine)["status"] == "waiting"
    # a macro whose condition does not hold, and one that does not exist
    closed = r.create("repair", title="fence", fixer=r.ids["fay"], status="closed")
    resp = r.client.post(url("repair", closed) + "/macros/ask_photo", headers=r.h["fay"])
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "macro.not_applicable"
    assert r.client.post(url("repair", mine) + "/macros/nope", headers=r.h["fay"]).status_code == 404


def test_bulk_actions_report_each_refusal_and_keep_the_rest(repairs, jimu):
    r = repairs
    a, b = (r.create("repair", title=t, fixer=r.ids["fay"], status="open") for t in ("a", "b"))
    other = r.create("repair", title="c", fixer=r.ids["finn"], status="open")
    gone = other + 1000
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [a, other, b, gone], "set": {"status": "done"}},
                         headers=r.h["fay"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["done"], body["refused"]) == (2, 2)
    assert [(x["id"], x["ok"]) for x in body["results"]] == [(a, True), (other, False), (b, True), (gone, False)]
    assert {x["error"]["code"] for x in body["results"] if not x["ok"]} == {"record.not_found"}
    assert [r.get("repair", i)["status"] for i in (a, b, other)] == ["done", "done", "open"]
    # the form's validation per record: waiting needs a reason
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [a], "set": {"status": "waiting"}}, headers=r.h["fay"])
    (x,) = resp.get_json()["results"]
    assert not x["ok"] and x["error"]["code"] == "record.invalid" and r.get("repair", a)["status"] == "done"
    # assigning hands records over: the desk may, for every repair
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [a, other], "set": {"fixer": r.ids["finn"]}},
                         headers=r.h["dora"])
    assert resp.get_json()["done"] == 2 and r.get("repair", a)["fixer"] == r.ids["finn"]
    # a manual rule on a selection: its condition decides per record
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [b, a], "rule": "flag_power"}, headers=r.h["dora"])
    r.client.patch(url("repair", b), json={"status": "closed"}, headers=r.h["root"])
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [b, other], "rule": "flag_power"}, headers=r.h["dora"])
    body = resp.get_json()
    assert (body["done"], body["refused"]) == (1, 1) and body["results"][0]["error"]["code"] == "rule.not_applicable"
    assert r.get("repair", other)["category"] == "power"
    # a macro on a selection
    resp = r.client.post(url("repair") + "/bulk", json={"ids": [other], "macro": "ask_photo"}, headers=r.h["dora"])
    assert resp.get_json()["done"] == 1 and len(_notes(r, other)) == 1
    # who may not update at all is refused once; malformed requests are 400s
    assert r.client.post(url("repair") + "/bulk", json={"ids": [a], "set": {"status": "done"}},
                         headers=r.h["vic"]).status_code == 403
    for bad in ({"ids": [], "set": {"status": "done"}}, {"ids": [a, a], "set": {"status": "done"}},
                {"ids": [a]}, {"ids": [a], "set": {"status": "x"}, "rule": "flag_power"}):
        assert r.client.post(url("repair") + "/bulk", json=bad, headers=r.h["dora"]).status_code == 400, bad
    assert r.client.post(url("repair") + "/bulk", json={"ids": [a], "rule": "nope"},
                         headers=r.h["dora"]).status_code == 404
    first = _events(jimu, "record.bulk")[0]
    assert first["actor_id"] == r.ids["fay"] and first["data"]["done"] == [a, b]
    assert [x["id"] for x in first["data"]["refused"]] == [other, gone]


def test_merging_moves_the_conversation_and_closes_the_duplicate(repairs, jimu):
    r = repairs
    kept = r.create("repair", title="leak", fixer=r.ids["fay"], status="working")
    dup = r.create("repair", title="leak again", fixer=r.ids["fay"], status="open")
    theirs = r.create("repair", title="leak too", fixer=r.ids["finn"], status="open")
    notes = [r.create("note", repair=dup, text=t) for t in ("first", "second")]
    r.create("note", repair=kept, text="original")
    # into a record she cannot read: as if it did not exist, nothing changes
    resp = r.client.post(url("repair", dup) + "/merge", json={"into": theirs}, headers=r.h["fay"])
    assert resp.status_code == 404
    assert r.get("repair", dup)["duplicate_of"] is None and len(_notes(r, dup)) == 2
    assert r.client.post(url("repair", dup) + "/merge", json={"into": kept}, headers=r.h["vic"]).status_code == 403
    resp = r.client.post(url("repair", dup) + "/merge", json={"into": kept}, headers=r.h["fay"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["moved"] == [{"form": "note", "field": "repair", "ids": notes}]
    assert sorted(n["id"] for n in _notes(r, kept)) == sorted(notes + [notes[-1] + 1])
    assert _notes(r, dup) == []
    closed = r.get("repair", dup)
    assert (closed["status"], closed["duplicate_of"]) == ("closed", kept)
    assert sorted(e["record_id"] for e in _events(jimu, "record.merged")) == sorted([dup, kept])
    again = r.client.post(url("repair", dup) + "/merge", json={"into": kept}, headers=r.h["fay"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "merge.already_merged"
    same = r.client.post(url("repair", kept) + "/merge", json={"into": kept}, headers=r.h["fay"])
    assert same.get_json()["error"]["code"] == "merge.same_record"
    assert r.client.post(url("tenant", 1) + "/merge", json={"into": 2}, headers=r.h["root"]).status_code in (404, 409)


def test_the_pages_offer_what_the_person_may_do_and_merge_through_the_form(repairs, jimu, client):
    from tests.conftest import sign_in
    r = repairs
    kept = r.create("repair", title="leak", fixer=r.ids["fay"], status="working")
    dup = r.create("repair", title="leak again", fixer=r.ids["fay"], status="open")
    theirs = r.create("repair", title="other", fixer=r.ids["finn"], status="open")
    r.create("note", repair=dup, text="from the duplicate")
    token = sign_in(client, jimu, r.ids["vic"])
    listing = client.get("/forms/repair").get_data(as_text=True)
    page = client.get(f"/forms/repair/{dup}").get_data(as_text=True)
    assert 'id="bulk"' not in listing and "data-macro" not in page and "data-merge" not in page   # reads only
    token = sign_in(client, jimu, r.ids["fay"])
    listing = client.get("/forms/repair").get_data(as_text=True)
    assert 'id="bulk"' in listing and f'name="ids" value="{theirs}"' not in listing
    page = client.get(f"/forms/repair/{dup}").get_data(as_text=True)
    assert 'data-macro="ask_photo"' in page and "data-merge" in page
    # a record she cannot read is no target: the page says so, nothing moves
    resp = client.post(f"/forms/repair/{dup}/merge", data={"csrf_token": token, "into": theirs})
    assert resp.status_code == 302 and r.get("repair", dup)["duplicate_of"] is None
    for bad in (str(2**64), "-3", "x"):
        resp = client.post(f"/forms/repair/{dup}/merge", data={"csrf_token": token, "into": bad})
        assert resp.status_code == 302 and r.get("repair", dup)["duplicate_of"] is None
    resp = client.post(f"/forms/repair/{dup}/merge", data={"csrf_token": token, "into": kept})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/forms/repair/{kept}")
    assert r.get("repair", dup)["duplicate_of"] == kept
    assert "from the duplicate" in client.get(f"/forms/repair/{kept}").get_data(as_text=True)
    assert "data-merge" not in client.get(f"/forms/repair/{dup}").get_data(as_text=True)   # merged once
    # the list's selection as a form post: her records done, another's refused as not found
    resp = client.post("/forms/repair/bulk", data={"csrf_token": token, "ids": [str(kept), str(theirs)],
                                                   "set_field": "status", "status": "done", "next": "/forms/repair"})
    assert resp.status_code == 302
    assert (r.get("repair", kept)["status"], r.get("repair", theirs)["status"]) == ("done", "open")
    flashed = client.get("/forms/repair").get_data(as_text=True)
    assert f"#{theirs}:" in flashed and f"#{kept}:" not in flashed
    # what a browser would never post is no id (not a server error)
    resp = client.post("/forms/repair/bulk", data={"csrf_token": token, "ids": ["²", str(2**64), "-1"],
                                                   "set_field": "status", "status": "done"})
    assert resp.status_code == 302
