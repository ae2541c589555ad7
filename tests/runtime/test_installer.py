"""Installing, exporting and upgrading app packages."""
import json

import pytest

from tests.conftest import install_package
from tests.sample_package import package


def export(jimu, key="crm"):
    from runtime.installer import export as _export
    with jimu.read() as conn:
        return _export(conn, key)


def test_export_reimports_to_an_identical_package(jimu, tmp_path):
    install_package(jimu, package())
    first = export(jimu)
    plan = install_package(jimu, first)
    assert plan.action == "unchanged"
    assert export(jimu) == first
    from apps import load_package
    again = load_package(json.dumps(first, ensure_ascii=False).encode())
    assert again.data == first


def test_upgrade_adds_and_retires_fields_without_losing_data(client, jimu, admin_headers):
    install_package(jimu, package())
    ids = client.post("/api/v1/forms/客户/records",
                      json=[{"名称": f"c{i}", "等级": i, "code": f"k{i}"} for i in range(20)],
                      headers=admin_headers).json["ids"]
    v2 = package(version="1.1.0")
    fields = v2["forms"][0]["fields"]
    v2["forms"][0]["fields"] = [f for f in fields if f["key"] != "等级"] + [
        {"key": "电话", "label": {"zh-CN": "电话", "en": "Phone"}, "widget": "text"}]
    plan = install_package(jimu, v2)
    assert plan.action == "upgrade"
    d = plan.diff.to_dict()
    assert "电话" in json.dumps(d, ensure_ascii=False) and "等级" in json.dumps(d, ensure_ascii=False)
    rec = client.get(f"/api/v1/forms/客户/records/{ids[3]}", headers=admin_headers).json
    assert rec["名称"] == "c3" and rec["电话"] is None and "等级" not in rec
    client.patch(f"/api/v1/forms/客户/records/{ids[3]}", json={"电话": "13800000000"}, headers=admin_headers)
    # the retired field comes back in 1.2.0 with every value it had
    v3 = package(version="1.2.0")
    v3["forms"][0]["fields"].append({"key": "电话", "label": "Phone", "widget": "text"})
    install_package(jimu, v3)
    recs = client.get("/api/v1/forms/客户/records?per_page=100&sort=等级", headers=admin_headers).json["records"]
    assert [r["等级"] for r in recs] == list(range(20))
    assert next(r for r in recs if r["id"] == ids[3])["电话"] == "13800000000"


def test_upgrade_is_all_or_nothing(jimu):
    install_package(jimu, package())
    bad = package(version="2.0.0")
    bad["roles"][0]["key"] = "taken"
    from runtime.auth.users import create_user  # noqa: F401
    import sqlalchemy as sa
    from runtime import db
    with jimu.begin() as conn:
        conn.execute(sa.insert(db.roles).values(key="taken", app_key="other", permissions={}, builder=False))
    bad["forms"][0]["fields"].append({"key": "新字段", "label": "New", "widget": "text"})
    from runtime.exceptions import JimuError
    with pytest.raises(JimuError):
        install_package(jimu, bad)
    assert export(jimu)["app"]["version"] == "1.0.0"
    with jimu.read():
        assert not jimu.catalog.form("客户").spec.has_field("新字段")


def test_downgrade_is_refused(jimu):
    install_package(jimu, package(version="2.0.0"))
    from runtime.installer import InstallRefused
    with pytest.raises(InstallRefused):
        install_package(jimu, package(version="1.0.0"))


def test_import_and_export_over_the_api(client, jimu, admin_headers):
    body = json.dumps(package(), ensure_ascii=False).encode()
    r = client.post("/api/v1/apps/import?dry_run=1", data=body, headers=admin_headers,
                    content_type="application/json")
    assert r.status_code == 200 and r.json["action"] == "install"
    assert client.get("/api/v1/forms", headers=admin_headers).json["forms"] == []
    r = client.post("/api/v1/apps/import", data=body, headers=admin_headers, content_type="application/json")
    assert r.status_code == 201 and r.json["action"] == "install"
    assert client.get("/api/v1/apps", headers=admin_headers).json["apps"][0]["key"] == "crm"
    exported = client.get("/api/v1/apps/crm/export", headers=admin_headers).json
    assert exported["app"]["key"] == "crm" and len(exported["forms"]) == 2
    r = client.post("/api/v1/apps/import", data=b'{"format": "jimu.app"', headers=admin_headers,
                    content_type="application/json")
    assert r.status_code in (400, 422) and r.json["error"]["code"].startswith("package.")
