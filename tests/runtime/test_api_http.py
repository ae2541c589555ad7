"""HTTP semantics an integrator's client library relies on (issue #14, item 4), tried on a small
equipment-loan app: Location on 201, Allow on 405, WWW-Authenticate on 401, the auth scheme in any
case, strong quoted ETags with If-Match (``*`` included) and If-None-Match, 406 and 415, and
unknown query parameters refused."""
from __future__ import annotations

import pytest

from tests.conftest import api_token, install_package, make_user

LOANS = {"format": "jimu.app", "version": 2, "app": {"key": "loans", "version": "1.0.0", "label": "Loans"},
         "forms": [{"key": "loan", "version": 1, "label": "Loan", "title_field": "item",
                    "fields": [{"key": "item", "label": "Item", "widget": "text", "required": True},
                               {"key": "days", "label": "Days", "widget": "number"}]}]}


@pytest.fixture
def h(jimu):
    install_package(jimu, LOANS)
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'root', admin=True))}"}


def test_create_answers_201_with_location_and_a_strong_etag(client, h):
    r = client.post("/api/v1/forms/loan/records", headers=h, json={"item": "projector"})
    assert r.status_code == 201
    rid = r.get_json()["id"]
    assert r.headers["Location"].endswith(f"/api/v1/forms/loan/records/{rid}")
    assert r.headers["ETag"] == f'"{r.get_json()["row_version"]}"'
    got = client.get(r.headers["Location"], headers=h)
    assert got.status_code == 200 and got.headers["ETag"] == r.headers["ETag"]


def test_if_none_match_gives_304_and_if_match_guards_writes(client, h):
    r = client.post("/api/v1/forms/loan/records", headers=h, json={"item": "camera"})
    url, etag = r.headers["Location"], r.headers["ETag"]
    assert client.get(url, headers={**h, "If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={**h, "If-None-Match": '"999"'}).status_code == 200
    assert client.patch(url, headers={**h, "If-Match": '"999"'}, json={"days": 3}).status_code == 412
    r2 = client.patch(url, headers={**h, "If-Match": etag}, json={"days": 3})
    assert r2.status_code == 200 and r2.headers["ETag"] != etag
    assert client.patch(url, headers={**h, "If-Match": "*"}, json={"days": 4}).status_code == 200
    assert client.patch(url, headers={**h, "If-Match": "W/\"1\""}, json={"days": 5}).status_code == 412
    assert client.patch("/api/v1/forms/loan/records/424242", headers={**h, "If-Match": "*"},
                        json={"days": 5}).status_code == 404


def test_405_names_the_allowed_methods(client, h):
    r = client.put("/api/v1/forms/loan/records", headers=h, json={})
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert r.get_json()["error"]["code"] == "method_not_allowed"


def test_401_challenges_and_the_scheme_is_case_insensitive(client, h):
    r = client.get("/api/v1/forms/loan/records")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    token = h["Authorization"].split()[1]
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert client.get("/api/v1/forms/loan/records",
                          headers={"Authorization": f"{scheme} {token}"}).status_code == 200
    bad = client.get("/api/v1/forms/loan/records", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_415_for_a_body_that_is_not_json_and_406_for_an_unacceptable_answer(client, h):
    r = client.post("/api/v1/forms/loan/records", headers={**h, "Content-Type": "text/plain"}, data="item=x")
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "request.unsupported_media_type"
    r = client.get("/api/v1/forms/loan/records", headers={**h, "Accept": "text/csv"})
    assert r.status_code == 406
    assert client.get("/api/v1/forms/loan/records", headers={**h, "Accept": "*/*"}).status_code == 200
    assert client.get("/api/v1/forms/loan/records",
                      headers={**h, "Accept": "text/html, application/json;q=0.5"}).status_code == 200


def test_unknown_query_parameters_are_refused(client, h):
    r = client.get("/api/v1/forms/loan/records?per_pgae=5", headers=h)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "request.unknown_param" and err["param"] == "per_pgae"
    assert client.get("/api/v1/forms/loan/records?per_page=5&sort=-id&q=x", headers=h).status_code == 200


def test_json_answers_are_what_flasks_own_encoder_writes(app, client, h):
    """``JSONProvider.response`` writes with orjson: the same bytes as Flask's encoder for records (text in
    any script, numbers, lists, nulls), times and dates (Flask's HTTP date), decimals, UUIDs, dataclasses,
    Markup and other subclasses of JSON types; integers beyond 64 bits and keys that are not text reach
    Flask's encoder itself. Only a float's exponent is written shorter (1e-7, not 1e-07), the same value."""
    import dataclasses
    import decimal
    import enum
    import json
    import uuid
    from datetime import date, datetime, timedelta, timezone

    from markupsafe import Markup

    @dataclasses.dataclass
    class Stamp:
        n: int
        at: datetime

    class Level(enum.IntEnum):
        HIGH = 1

    class Row(dict):
        pass

    east = timezone(timedelta(hours=8))
    values = [{"b": 1, "a": [1.5, -0.0, True, None, "中文\n\"\\/\u2028\x7f\x01"], "中": {"z": 1, "a": 2}},
              {"t": datetime(2026, 12, 7, 8, 0, tzinfo=east), "d": date(2026, 1, 2)},
              {"dec": decimal.Decimal("1.10"), "u": uuid.UUID(int=5), "dc": Stamp(1, datetime(2026, 1, 1))},
              {"m": Markup("<b>x</b>"), "e": Level.HIGH, "row": Row(x=1)}, {"big": 2 ** 70}, {1: "x"},
              [[[[1]]]], "plain", 3, None, [1e16, 1e-7, 0.1]]
    with app.app_context():
        for value in values:
            ours = app.json.response(value).get_data()
            flasks = super(type(app.json), app.json).response(value).get_data()
            if isinstance(value, list) and value and isinstance(value[0], float):
                assert json.loads(ours) == json.loads(flasks) and ours == b"[1e+16,1e-7,0.1]\n"
            else:
                assert ours == flasks, value
    r = client.post("/api/v1/forms/loan/records", headers=h, json={"item": "投影仪", "days": 3})
    assert r.status_code == 201 and r.get_json()["item"] == "投影仪" and "投影仪".encode() in r.get_data()
