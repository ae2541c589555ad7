"""Preview before publish (issue 18 item 4), from the outside: a library app's draft reports and
dashboards preview on the app's own records, and a form that exists only in the draft (never
published, or named like another app's form) previews on sample records made from its fields —
never on the other app's records."""
import copy

import pytest

from builder.samples import SAMPLE_RECORDS
from tests.builder.test_api import login
from tests.builder.test_names import FORM, _package
from tests.conftest import install_package, make_user

# the database is not what these tests are about (the report previews' PostgreSQL path is
# tests/builder/test_report_preview_api.py's): SQLite keeps them fast
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SECRET = "机密档案"


def _archive():
    other = copy.deepcopy(_package())
    other["app"] = {"key": "archive", "version": "1.0.0", "label": "档案馆"}
    other["forms"][0]["key"] = "档案"
    other["roles"] = [{"key": "archivist", "version": 1, "label": "Archivist",
                       "permissions": {"档案": ["create", "read"]}}]
    other["flows"] = []
    return other


@pytest.fixture
def lib(jimu, client):
    install_package(jimu, _package())
    install_package(jimu, _archive())
    make_user(jimu, "lib", roles=["librarian"])
    make_user(jimu, "arc", roles=["archivist"])
    arc = login(client, "arc")
    for kind in ("外借", "外借", "馆内"):
        assert arc.post("/api/v1/forms/档案/records", json={"text_1": SECRET, "radio_1": kind}).status_code == 201
    arc.post("/logout")
    return login(client, "lib")


def _add_draft_form(client, key, label):
    draft = client.get("/builder/api/apps/library/draft").get_json()
    form = copy.deepcopy(FORM)
    form.update(key=key, label=label)
    draft["package"]["forms"].append(form)
    resp = client.put("/builder/api/apps/library/draft", json={"package": draft["package"], "revision": draft["revision"]})
    assert resp.status_code == 200, resp.get_json()


def _pie(form, key="by_type"):
    return {"key": key, "version": 1, "label": "按类型", "type": "pie", "form": form,
            "dimensions": [{"field": "radio_1"}], "measures": [{"key": "n", "agg": "count"}]}


def _by_text(form):
    return {"key": "by_title", "version": 1, "label": "按书名", "type": "bar", "form": form,
            "dimensions": [{"field": "text_1"}], "measures": [{"key": "n", "agg": "count"}]}


def test_a_form_named_like_another_apps_previews_on_samples_never_on_its_records(lib):
    """Before: the clashing key was refused (403 permission.other_app), so nothing could be previewed."""
    _add_draft_form(lib, "档案", "借阅档案")
    for report in (_pie("档案"), _by_text("档案")):
        resp = lib.post("/builder/api/apps/library/reports/preview", json={"report": report})
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["sample"] is True and SECRET not in resp.get_data(as_text=True)
        assert sum(r["n"] for r in body["rows"]) == SAMPLE_RECORDS
    rows = lib.post("/builder/api/apps/library/reports/preview", json={"report": _pie("档案")}).get_json()["rows"]
    assert {r["radio_1"] for r in rows} <= {"馆内", "外借", "其他"}          # values of the draft's own options
    again = lib.post("/builder/api/apps/library/reports/preview", json={"report": _pie("档案")}).get_json()["rows"]
    assert again == rows                                                     # the same draft, the same figure


def test_an_unpublished_form_previews_on_sample_records(lib):
    """Before: report.unknown_form (422) until the form was published."""
    _add_draft_form(lib, "续借", "续借申请")
    line = {"key": "daily", "version": 1, "label": "每日", "type": "line", "form": "续借",
            "dimensions": [{"field": "created_at", "bucket": "day"}], "measures": [{"key": "n", "agg": "count"}]}
    body = lib.post("/builder/api/apps/library/reports/preview", json={"report": line}).get_json()
    assert body["sample"] is True and len(body["rows"]) > 3 and sum(r["n"] for r in body["rows"]) == SAMPLE_RECORDS
    # its definition problems answer as a real preview's do, in words
    bad = {**_pie("续借"), "dimensions": [{"field": "nope"}]}
    resp = lib.post("/builder/api/apps/library/reports/preview?lang=zh-CN", json={"report": bad})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["errors"][0]["message"].startswith("报表 '按类型' ")


def test_the_apps_own_published_form_previews_on_its_records(lib):
    assert lib.post("/api/v1/forms/loan_form/records", json={"text_1": "三体", "radio_1": "外借"}).status_code == 201
    body = lib.post("/builder/api/apps/library/reports/preview", json={"report": _pie("loan_form")}).get_json()
    assert body["sample"] is False and body["rows"] == [{"radio_1": "外借", "n": 1}]


def test_dashboard_tiles_of_draft_forms_are_drawn_on_samples(lib):
    _add_draft_form(lib, "档案", "借阅档案")
    assert lib.post("/api/v1/forms/loan_form/records", json={"text_1": "三体", "radio_1": "外借"}).status_code == 201
    dash = {"key": "board", "version": 1, "label": "概览",
            "charts": [{"report": "by_type", "x": 0, "y": 0, "w": 6, "h": 4},
                       {"report": "own", "x": 6, "y": 0, "w": 6, "h": 4}]}
    body = {"dashboard": dash, "reports": [_pie("档案"), _pie("loan_form", key="own")], "lang": "zh-CN"}
    resp = lib.post("/builder/api/apps/library/dashboards/preview", json=body)
    assert resp.status_code == 200, resp.get_json()
    sample, own = resp.get_json()["charts"]
    assert sample["sample"] is True and "error" not in sample and sum(r["n"] for r in sample["rows"]) == SAMPLE_RECORDS
    assert own.get("sample") is None and own["rows"] == [{"radio_1": "外借", "n": 1}]
    assert SECRET not in resp.get_data(as_text=True)
