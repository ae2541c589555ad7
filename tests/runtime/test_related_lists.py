"""Related lists on a record page and through the API (a tenant's repairs and, through the repairs,
their ratings): counts and summary figures over what the viewer may read — their row scope on every
form of the path, no list of a form they may not read."""
from __future__ import annotations

import html
import json
import re
from statistics import mean

from tests.conftest import sign_in
from .repairs_package import Repairs, package, url
from .repairs_package import repairs  # noqa: F401,F811  (fixture)


def _setup(r: Repairs):
    tenant, other = r.create("tenant", name="Ana", phone="555"), r.create("tenant", name="Bo")
    rows = [("sink", "fay", "open", 100, None), ("lamp", "fay", "done", 50, 5), ("door", "finn", "open", 30, 4),
            ("tap", "fay", "closed", None, 3), ("heater", "fay", "working", None, None)]
    made = []
    for title, fixer, status, cost, stars in rows:
        rid = r.create("repair", title=title, tenant=tenant, fixer=r.ids[fixer], status=status, cost=cost)
        if stars is not None:
            r.create("rating", repair=rid, stars=stars)
        made.append({"id": rid, "fixer": fixer, "status": status, "cost": cost, "stars": stars})
    noise = r.create("repair", title="elsewhere", tenant=other, fixer=r.ids["fay"], status="open", cost=999)
    r.create("rating", repair=noise, stars=1)
    return tenant, made


def _expected(made, who=None):
    mine = [m for m in made if who is None or m["fixer"] == who]
    stars = [m["stars"] for m in mine if m["stars"] is not None]
    return {"repairs": len(mine), "open": sum(m["status"] not in ("done", "closed") for m in mine),
            "cost": sum(m["cost"] or 0 for m in mine), "ratings": len(stars),
            "mean": round(mean(stars), 2) if stars else None,
            "happy": round(100 * sum(s >= 4 for s in stars) / len(stars), 1) if stars else None}


def _figures(block):
    return {f["label"]: f["value"] for f in block["summary"]}


def test_related_lists_count_and_summarise_what_each_viewer_may_read(repairs):
    r = repairs
    tenant, made = _setup(r)
    for who, scope in (("root", None), ("fay", "fay"), ("finn", "finn")):
        resp = r.client.get(url("tenant", tenant) + "/related", headers=r.h[who])
        assert resp.status_code == 200, resp.get_json()
        lists = {b["form"]: b for b in resp.get_json()["related"]}
        want = _expected(made, scope)
        rep, rat = lists["repair"], lists["rating"]
        assert rep["total"] == want["repairs"] and len(rep["records"]) == min(3, want["repairs"])
        assert _figures(rep) == {"Open": want["open"], "Cost": want["cost"]}
        assert rat["field"] == "repair.tenant" and rat["total"] == want["ratings"]
        assert _figures(rat) == {"Mean stars": want["mean"], "Happy": want["happy"]}
        if scope:
            assert {x["fixer"] for x in rep["records"]} == {r.ids[scope]}
    # the desk may not read ratings: no such list, the repairs all the same
    lists = {b["form"]: b for b in r.client.get(url("tenant", tenant) + "/related",
                                                headers=r.h["dora"]).get_json()["related"]}
    assert set(lists) == {"repair"} and lists["repair"]["total"] == len(made)
    # a record out of reach has no related lists either
    assert r.client.get(url("tenant", 999999) + "/related", headers=r.h["root"]).status_code == 404
    assert r.client.get(url("tenant", tenant) + "/related?limit=0", headers=r.h["root"]).status_code == 400


def test_the_record_page_shows_counts_figures_and_a_link_to_all(repairs, jimu, client):
    r = repairs
    tenant, made = _setup(r)
    sign_in(client, jimu, r.ids["fay"])
    page = client.get(f"/forms/tenant/{tenant}").get_data(as_text=True)
    want = _expected(made, "fay")
    box = page[page.index('data-related="repair"'):]
    box = box[:box.index("</section>")]
    assert f"({want['repairs']})" in box and "finn" not in box and "door" not in box
    assert box.count('<tr class="" data-id=') == 3            # the first three; the count covers four
    link = html.unescape(re.search(r'href="([^"]+)" data-all', box).group(1))
    listing = client.get(link).get_data(as_text=True)
    assert f">{want['repairs']} " in listing or f" {want['repairs']} " in re.sub(r"<[^>]+>", " ", listing)
    ratings = page[page.index('data-related="rating"'):]
    assert f"({want['ratings']})" in ratings and str(want["mean"]) in ratings and f"{want['happy']}%" in ratings


def test_a_related_path_must_end_on_the_form():
    from apps import compile_package
    data = package()
    data["forms"][0]["related"][1]["field"] = "repair.fixer"
    data["forms"][0]["related"].append({"form": "rating", "field": "repair", "compose": {"fields": ["stars"]}})
    data["forms"][0]["related"][0]["summary"].append({"measure": "avg", "label": "x"})
    result = compile_package(json.loads(json.dumps(data)))
    codes = {(e["code"], e["pointer"]) for e in result}
    assert ("package.unknown_field", "/forms/0/related/1/field") in codes
    assert ("package.unknown_field", "/forms/0/related/2/field") in codes     # rating.repair points at repairs
    assert ("related.summary_field", "/forms/0/related/0/summary/2") in codes


def test_no_list_by_a_link_hidden_from_the_viewer(jimu, client):
    data = package()
    viewer = next(role for role in data["roles"] if role["key"] == "viewer")
    viewer["permissions"]["rating"] = ["read"]
    viewer["fields"] = {"rating": {"repair": "hidden"}}
    r = Repairs(jimu, client, data)
    tenant, made = _setup(r)
    lists = {b["form"]: b for b in r.client.get(url("tenant", tenant) + "/related",
                                                headers=r.h["vic"]).get_json()["related"]}
    assert set(lists) == {"repair"} and lists["repair"]["total"] == len(made)
