"""Dashboard pages: the page with its data, plotly served offline, empty state, permissions."""
from __future__ import annotations

import json
import re

from tests.conftest import install_package, make_user
from tests.runtime.test_report_api import PACKAGE, desk  # noqa: F401  (fixture)


def login(client, jimu, username, **kw):
    make_user(jimu, username, **kw)
    client.get("/login")
    with client.session_transaction() as s:
        token = s.get("csrf")
    r = client.post("/login", data={"username": username, "password": "pw-123456", "csrf_token": token or ""})
    assert r.status_code in (302, 303), r.data[:500]


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_dashboard_page_embeds_figures_and_serves_plotly_offline(client, jimu, desk):  # noqa: F811
    login(client, jimu, "boss", admin=True)
    r = client.get("/dashboards/overview?lang=zh-CN")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "服务概览" in html and "创建时间" in html and "/vendor/plotly.min.js" in html
    assert "cdn" not in html.lower()
    data = page_data(html)
    tiles = {t["report"]: t for t in data["charts"]}
    assert tiles["totals"]["rows"][0]["total"] == len(desk)
    assert sorted(data["choices"]["渠道"]) == sorted({t["渠道"] for t in desk})
    assert "<option value=\"微信\"" in html

    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript" and len(js.data) > 1_000_000
    assert client.get("/static/js/dashboard.js").status_code == 200

    listing = client.get("/dashboards").get_data(as_text=True)
    assert 'href="/dashboards/overview"' in listing


def test_filtered_to_nothing_shows_the_empty_state(client, jimu, desk):  # noqa: F811
    login(client, jimu, "boss", admin=True)
    values = json.dumps({"渠道": "没有这个渠道"})
    data = page_data(client.get(f"/dashboards/overview?values={values}").get_data(as_text=True))
    assert {t["report"]: t["empty"] for t in data["charts"]} == {
        "by_channel": True, "totals": False, "daily": True, "by_level": True}
    assert data["values"] == {"渠道": "没有这个渠道"}
    bad = json.dumps({"nope": 1})
    html = client.get(f"/dashboards/overview?values={bad}").get_data(as_text=True)
    assert 'role="alert"' in html and page_data(html)["values"] == {}


def test_script_breakout_in_data_is_neutralised(client, jimu, desk, admin_headers):  # noqa: F811
    client.post("/api/v1/forms/工单/records", headers=admin_headers,
                json={"标题": "x", "渠道": "</script><script>alert(1)</script>", "状态": "新"})
    login(client, jimu, "boss", admin=True)
    html = client.get("/dashboards/overview").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "</script><script>alert(1)</script>" in page_data(html)["choices"]["渠道"]


def test_dashboard_needs_read_permission(client, jimu, desk):  # noqa: F811
    login(client, jimu, "outsider", roles=["nobody"])
    assert client.get("/dashboards/overview").status_code == 403
    assert "overview" not in client.get("/dashboards").get_data(as_text=True)
