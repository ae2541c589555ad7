"""The broken-package corpus: every entry point gives the same errors, and none crashes.

``tests/apps/corpus/_base.json`` is a valid purchasing app; each other file there is one
typical mistake (``mistake``), written as a JSON Patch (``patch``: add/replace/remove) on the
base, with the errors the pipeline must report (``expect``: code and JSON pointer). Each case
goes through ``jimu validate``, ``POST /api/v1/apps/import?dry_run=1``, ``POST
/api/v1/apps/import``, the builder's check and publish, and ``runtime.installer.install``;
all six must answer with exactly the expected (code, pointer) pairs and install nothing.

``_other.json`` is an equipment-loans app installed first: the ``key_clash_*`` cases take its
keys. Nothing is installed by a refused case, so one app (SQLite) serves the whole module.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from tests.builder.test_api import login
from tests.conftest import Clock, api_token, install_package, make_user

CORPUS = Path(__file__).parent / "corpus"
BASE = json.loads((CORPUS / "_base.json").read_text(encoding="utf-8"))
OTHER = json.loads((CORPUS / "_other.json").read_text(encoding="utf-8"))
CASES = sorted(p.stem for p in CORPUS.glob("*.json") if not p.stem.startswith("_"))
CLI_LINE = re.compile(r"^(\S+): \[([^\]]+)\] ", re.M)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def apply_patch(document: dict, patch: list) -> dict:
    """RFC 6902 add/replace/remove, enough for the corpus (``-`` appends to a list)."""
    doc = copy.deepcopy(document)
    for op, ptr, *value in patch:
        parts = [_unescape(p) for p in ptr.split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif isinstance(parent, list) and op == "add":
            parent.insert(len(parent) if last == "-" else int(last), value[0])
        elif isinstance(parent, list):
            parent[int(last)] = value[0]
        else:
            assert op == "add" or last in parent, f"replace of a missing member {ptr}"
            parent[last] = value[0]
    return doc


def load_case(name: str) -> tuple[dict, dict]:
    case = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    return case, apply_patch(BASE, case["patch"])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One app for the module: the other app installed, an admin (token) and a builder session."""
    tmp = tmp_path_factory.mktemp("corpus")
    from runtime.app import create_app
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JIMU_INSTANCE_PATH", str(tmp / "instance"))
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'jimu.sqlite'}", "TESTING": True,
                          "SECRET_KEY": "test-secret", "CLOCK": Clock(), "UPLOAD_DIR": str(tmp / "files")})
    jimu = app.extensions["jimu"]
    install_package(jimu, OTHER)
    admin = make_user(jimu, "admin", admin=True)
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token(jimu, admin)}"
    builder = login(app.test_client(), "admin")
    created = builder.post("/builder/api/apps", json={"key": BASE["app"]["key"], "label": "Purchasing"})
    assert created.status_code == 201, created.get_json()
    yield {"app": app, "jimu": jimu, "api": api, "builder": builder, "tmp": tmp}
    jimu.dispose()


def _pairs(errors) -> list[tuple[str, str]]:
    return sorted((e["code"], e.get("pointer") or "") for e in errors)


def _installed_keys(jimu) -> list[str]:
    import sqlalchemy as sa

    from runtime import db
    with jimu.read() as conn:
        return sorted(conn.execute(sa.select(db.apps.c.key)).scalars())


def entry_points(env, name: str, package: dict) -> dict[str, list[tuple[str, str]]]:
    """The (code, pointer) pairs each entry point answers for ``package``."""
    out: dict[str, list[tuple[str, str]]] = {}
    path = env["tmp"] / f"{name}.json"
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    result = env["app"].test_cli_runner().invoke(args=["validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    out["jimu validate"] = sorted((code, "" if ptr == "/" else ptr) for ptr, code in CLI_LINE.findall(result.output))

    body = json.dumps(package, ensure_ascii=False).encode()
    for label, url in (("REST dry run", "/api/v1/apps/import?dry_run=1"), ("REST import", "/api/v1/apps/import")):
        resp = env["api"].post(url, data=body, content_type="application/json")
        assert resp.status_code == 422, (label, resp.status_code, resp.get_json())
        out[label] = _pairs(resp.get_json()["error"]["errors"])

    builder = env["builder"]
    resp = builder.post(f"/builder/api/apps/{BASE['app']['key']}/draft/validate", json={"package": package})
    assert resp.status_code == 200 and resp.get_json()["ok"] is False, resp.get_json()
    out["builder check"] = _pairs(resp.get_json()["errors"])
    draft = builder.get(f"/builder/api/apps/{BASE['app']['key']}/draft").get_json()
    saved = builder.put(f"/builder/api/apps/{BASE['app']['key']}/draft",
                        json={"package": package, "revision": draft["revision"]})
    assert saved.status_code == 200, saved.get_json()
    resp = builder.post(f"/builder/api/apps/{BASE['app']['key']}/publish", json={"revision": saved.get_json()["revision"]})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "builder.draft_invalid", resp.get_json()
    out["builder publish"] = _pairs(resp.get_json()["error"]["errors"])

    from apps import PackageError
    from runtime import installer
    jimu = env["jimu"]
    with pytest.raises(PackageError) as refused:
        with jimu.begin() as conn:
            installer.install(conn, package, now=jimu.now())
    out["installer"] = _pairs(refused.value.errors)
    return out


@pytest.mark.parametrize("name", CASES)
def test_every_entry_point_refuses_the_mistake_with_the_same_errors(env, name):
    case, package = load_case(name)
    expected = _pairs(case["expect"])
    answers = entry_points(env, name, package)
    for entry, pairs in answers.items():
        assert pairs == expected, f"{entry} answered {pairs} for {case['mistake']!r}; expected {expected}"
        assert not any(code == "app.compile_crash" for code, _ in pairs)
    assert _installed_keys(env["jimu"]) == ["equipment_loans"]  # nothing of the refused package was installed


def test_the_corpus_is_large_and_one_mistake_per_file():
    assert len(CASES) >= 40
    mistakes = [json.loads((CORPUS / f"{n}.json").read_text(encoding="utf-8"))["mistake"] for n in CASES]
    assert len(set(mistakes)) == len(mistakes)


def test_the_base_package_passes_everywhere_installs_and_accepts_a_record(env):
    """The package the corpus breaks compiles at every entry point; installed, it takes a valid
    record, whose flow starts (the gateway's condition names a real field)."""
    package = copy.deepcopy(BASE)
    for edge in package["flows"][0]["edges"]:  # edges without ids are allowed and must work
        del edge["id"]
    path = env["tmp"] / "base.json"
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    result = env["app"].test_cli_runner().invoke(args=["validate", str(path)])
    assert result.exit_code == 0 and "ok: purchasing 1.0.0" in result.output, result.output
    body = json.dumps(package, ensure_ascii=False).encode()
    dry = env["api"].post("/api/v1/apps/import?dry_run=1", data=body, content_type="application/json")
    assert dry.status_code == 200 and dry.get_json()["action"] == "install", dry.get_json()
    check = env["builder"].post("/builder/api/apps/purchasing/draft/validate", json={"package": package})
    assert check.get_json() == {"ok": True, "errors": [], "warnings": []}
    resp = env["api"].post("/api/v1/apps/import", data=body, content_type="application/json")
    assert resp.status_code == 201, resp.get_json()
    assert _installed_keys(env["jimu"]) == ["equipment_loans", "purchasing"]

    api = env["api"]
    supplier = api.post("/api/v1/forms/supplier/records", json={"name": "ACME Tools"})
    assert supplier.status_code == 201, supplier.get_json()
    created = api.post("/api/v1/forms/purchase_request/records",
                       json={"title": "Torque wrenches", "supplier": supplier.get_json()["id"], "amount": 2400,
                             "lines": [{"item": "wrench", "qty": 4}]})
    assert created.status_code == 201, created.get_json()
    got = api.get(f"/api/v1/forms/purchase_request/records/{created.get_json()['id']}").get_json()
    assert got["title"] == "Torque wrenches" and got["amount"] == 2400
    # the other app was not touched: its records still work
    loan = api.post("/api/v1/forms/loan/records", json={"borrower": "lab 3"})
    assert loan.status_code == 201, loan.get_json()
