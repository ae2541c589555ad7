"""Expressions on runtime write paths see the deployment's TIMEZONE: ``today()`` is the local day."""
from datetime import datetime, timezone

import pytest

from tests.conftest import install_package
from tests.sample_package import package


@pytest.fixture
def crm(jimu):
    data = package()
    data["forms"][0]["fields"].append({"key": "登记日", "label": "登记日", "widget": "date",
                                       "default_expr": "today()"})
    install_package(jimu, data)
    return jimu


@pytest.mark.parametrize("zone, expected", [("UTC", "2026-11-02"), ("Asia/Shanghai", "2026-11-03")])
def test_default_today_is_the_local_day(client, crm, admin_headers, clock, zone, expected):
    crm.config["TIMEZONE"] = zone
    clock.now = datetime(2026, 11, 2, 20, 30, tzinfo=timezone.utc)    # 04:30 next day in Shanghai
    r = client.post("/api/v1/forms/客户/records", json={"名称": "甲"}, headers=admin_headers)
    assert r.status_code == 201, r.json
    assert r.json["登记日"] == expected


def test_eval_context_carries_the_zone(crm):
    crm.config["TIMEZONE"] = "Asia/Shanghai"
    ctx = crm.eval_context()
    assert ctx.tz == "Asia/Shanghai" and ctx.now == crm.now()


def test_pages_show_local_time(app, crm):
    from runtime.ui.records import display_value
    at = datetime(2026, 11, 2, 20, 30, tzinfo=timezone.utc)
    with app.test_request_context():
        assert display_value(None, at) == "2026-11-02 20:30"
        crm.config["TIMEZONE"] = "Asia/Shanghai"
        assert display_value(None, at) == "2026-11-03 04:30"


def test_an_unknown_zone_is_refused_at_start(tmp_path, monkeypatch):
    from runtime.app import create_app
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="JIMU_TIMEZONE"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k"})
