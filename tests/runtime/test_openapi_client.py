"""A client generated from the OpenAPI document (openapi-python-client, the test extra) reads and writes
real records of the shipped customer-service package: generated at test time from the document an
agent is served, imported, then list → create → read → update through its typed models, over HTTP to
the app served on a local port."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import api_token
from tests.runtime import cs_fixtures

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'client.sqlite'}"


def _generate(document: dict, tmp_path: Path, name: str):
    """Generate the client package ``name`` into ``tmp_path`` and import it."""
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is missing: install the test extra (make venv)")
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--output-path", str(tmp_path / name),
                          "--meta", "none"], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert (tmp_path / name / "client.py").exists(), run.stdout + run.stderr
    # every operation of the document made it into the client (a model it could not read drops them)
    assert "Endpoint will not be generated" not in run.stdout + run.stderr, run.stdout + run.stderr
    assert "Unable to" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_a_generated_client_reads_and_writes_tickets(app, jimu, tmp_path, live_server):
    ids = cs_fixtures.install(jimu)
    token = api_token(jimu, ids["ann"])
    document = app.test_client().get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).get_json()
    pkg = _generate(document, tmp_path, "jimu_cs_client")
    try:
        ops = {m: importlib.import_module(f"jimu_cs_client.api.ticket.{m}_customer_service_工单")
               for m in ("list", "create", "get", "update")}
        models = importlib.import_module("jimu_cs_client.models")
        client = pkg.AuthenticatedClient(base_url=f"{live_server}/api/v1", token=token)

        page = ops["list"].sync(client=client, per_page=5)
        assert isinstance(page.records, list) and page.total == len(page.records) == 0

        new = models.CustomerService工单Create.from_dict({
            "标题": "打印机卡纸", "客户姓名": "王芳", "问题类型": "其他", "其他类型说明": "硬件",
            "紧急程度": "高", "问题详细描述": "三楼打印机卡纸", "邮箱": "wang@example.com"})
        created = ops["create"].sync(client=client, body=new, idempotency_key="client-test-1")
        assert isinstance(created, models.CustomerService工单Record), created
        assert created.id >= 1 and created.row_version >= 1  # the intake rules may already have written it
        record = created.to_dict()
        assert record["标题"] == "打印机卡纸" and record["其他类型说明"] == "硬件"

        read = ops["get"].sync(created.id, client=client)
        assert isinstance(read, models.CustomerService工单Record)
        assert read.to_dict()["邮箱"] == "wang@example.com"
        answer = ops["get"].sync_detailed(created.id, client=client)
        assert answer.headers["ETag"] == f'"{read.row_version}"'

        change = models.CustomerService工单Update.from_dict({"紧急程度": "低"})
        updated = ops["update"].sync(created.id, client=client, body=change, if_match=answer.headers["ETag"])
        assert isinstance(updated, models.CustomerService工单Record), updated
        assert updated.to_dict()["紧急程度"] == "低" and updated.row_version == read.row_version + 1

        stale = ops["update"].sync_detailed(created.id, client=client, body=change, if_match=answer.headers["ETag"])
        assert stale.status_code == 412 and isinstance(stale.parsed, models.Error)
        assert stale.parsed.error.code == "record.precondition_failed"

        page = ops["list"].sync(client=client)
        assert [r.id for r in page.records] == [created.id] and page.total == 1
    finally:
        for name in [m for m in sys.modules if m == "jimu_cs_client" or m.startswith("jimu_cs_client.")]:
            del sys.modules[name]
        shutil.rmtree(tmp_path / "jimu_cs_client", ignore_errors=True)
