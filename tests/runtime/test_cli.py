"""The jimu command: validate, import, export, create-user."""
import json

from tests.sample_package import package


def test_validate_lists_all_five_mistakes(runner, tmp_path):
    bad = package()
    bad["forms"][0]["fields"].append(dict(bad["forms"][0]["fields"][0]))       # 1 duplicate field key
    bad["forms"][0]["fields"].append({"key": "x", "label": "X", "widget": "no-such-widget"})  # 2 unknown widget
    bad["forms"][1]["fields"][0]["config"]["form"] = "ghost"                  # 3 link to an unknown form
    bad["roles"][0]["permissions"]["nowhere"] = ["read"]                       # 4 role names an unknown form
    bad["forms"][0]["fields"].append({"key": "id", "label": "Id", "widget": "text"})  # 5 reserved key
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "5 error(s)" in out, out
    for pointer in ("/forms/0/fields/3", "/forms/0/fields/4", "/forms/1/fields/0/config/form",
                    "/roles/0/permissions", "/forms/0/fields/5"):
        assert pointer in out, (pointer, out)


def test_validate_ok(runner, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(package(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 0 and "ok: crm 1.0.0" in result.output


def test_import_export_and_create_user(runner, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(package(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0 and "install: crm - → 1.0.0" in result.output
    result = runner.invoke(args=["import", str(path), "--if-newer"])
    assert "unchanged" in result.output
    out = tmp_path / "out.json"
    assert runner.invoke(args=["export", "crm", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["app"]["key"] == "crm"
    result = runner.invoke(args=["create-user", "admin", "--admin", "--print-login"])
    assert result.exit_code == 0 and "password:" in result.output
    result = runner.invoke(args=["create-user", "admin"])
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(args=["create-user", "admin", "--if-missing"])
    assert result.exit_code == 0
    result = runner.invoke(args=["create-user", "bob", "--password", "12345678"])
    assert result.exit_code != 0 and "user.weak_password" in result.output
    assert runner.invoke(args=["create-user", "bob", "--password", "bob-pass-1"]).exit_code == 0
    result = runner.invoke(args=["export", "nothing"])
    assert result.exit_code != 0 and "app.not_found" in result.output
