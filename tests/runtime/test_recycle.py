"""The recycle bin (issue #19, item 1), tried from outside with a laboratory app (not the helpdesk):
samples carry readings (a sub-table), attachments and an owner; reports link to samples (one link and
a multiple link); a review flow waits on each sample with an SLA timer. Technicians may delete their
own samples only. Runs on SQLite and PostgreSQL.

Delete → the record is gone from reads, lists and links, its task leaves the inbox and its timer is
held; restore → the same record (same ids, files, links) and its waiting task come back, a
``record_restored`` rule fires, and the flow completes; purge → admin only, audited, final.
"""
from __future__ import annotations

import io

import sqlalchemy as sa
import pytest

from tests.conftest import api_token, install_package, make_user

LAB = {
    "format": "jimu.app", "version": 2, "app": {"key": "lab", "version": "1.0.0", "label": "Laboratory"},
    "roles": [{"key": "tech", "version": 1, "label": "Technician",
               "permissions": {"sample": ["create", "read", "update", "delete"], "report": ["create", "read"]},
               "rows": {"sample": {"scope": "own", "field": "owner"}}}],
    "forms": [
        {"key": "sample", "version": 1, "label": {"zh-CN": "样品", "en": "Sample"}, "title_field": "code",
         "fields": [
             {"key": "code", "label": "Code", "widget": "text", "required": True, "validation": {"unique": True}},
             {"key": "state", "label": "State", "widget": "text"},
             {"key": "owner", "label": "Owner", "widget": "user"},
             {"key": "taken", "label": "Taken on", "widget": "date"},
             {"key": "mass", "label": "Mass", "widget": "money"},
             {"key": "latest", "label": "Latest report", "widget": "link", "config": {"form": "report"}},
             {"key": "scans", "label": "Scans", "widget": "attachment", "config": {"max_size": 10000}},
             {"key": "readings", "label": "Readings", "widget": "subtable", "config": {"fields": [
                 {"key": "what", "label": "What", "widget": "text"},
                 {"key": "value", "label": "Value", "widget": "number"}]}}]},
        {"key": "report", "version": 1, "label": "Report", "title_field": "title",
         "fields": [
             {"key": "title", "label": "Title", "widget": "text", "required": True},
             {"key": "sample", "label": "Sample", "widget": "link", "config": {"form": "sample"}},
             {"key": "also", "label": "Also", "widget": "link", "config": {"form": "sample", "multiple": True}},
             {"key": "follows", "label": "Follows", "widget": "link", "config": {"form": "report"}}]}],
    "flows": [{"key": "review", "version": 1, "form": "sample", "label": "Review",
               "nodes": [{"id": "s", "type": "start", "config": {}},
                         {"id": "check", "type": "user_task",
                          "config": {"assignee": {"kind": "field", "value": "owner"}, "outcomes": ["ok"],
                                     "sla": {"after": "PT2H"}}},
                         {"id": "done", "type": "end", "config": {"outcome": "ok"}}],
               "edges": [{"id": "a", "from": "s", "to": "check"}, {"id": "b", "from": "check", "to": "done",
                                                                     "outcome": "ok"}]}],
    "rules": [{"key": "mark_restored", "version": 1, "label": "Mark restored", "form": "sample",
               "trigger": {"type": "record_restored"},
               "actions": [{"type": "set_fields", "values": {"state": "restored"}}]}],
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\1" * 64


class Lab:
    def __init__(self, jimu, client):
        self.jimu, self.client = jimu, client
        install_package(jimu, LAB)
        self.ids = {"ann": make_user(jimu, "ann", roles=["tech"]), "ben": make_user(jimu, "ben", roles=["tech"]),
                    "eve": make_user(jimu, "eve"), "root": make_user(jimu, "root", admin=True)}
        self.h = {k: {"Authorization": f"Bearer {api_token(jimu, v)}"} for k, v in self.ids.items()}

    def sample(self, who="ann", code="S-1", **values):
        up = self.client.post("/api/v1/forms/sample/fields/scans/files", headers=self.h[who],
                              data={"file": (io.BytesIO(PNG), "scan.png", "image/png")},
                              content_type="multipart/form-data")
        assert up.status_code == 201, up.get_json()
        r = self.client.post("/api/v1/forms/sample/records", headers=self.h[who], json={
            "code": code, "owner": self.ids[who], "taken": "2026-11-30", "mass": "12.50", "scans": [up.get_json()],
            "readings": [{"what": "pH", "value": 7.1}, {"what": "Na", "value": 3}], **values})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def get(self, path, who="ann"):
        return self.client.get(path, headers=self.h[who])

    def inbox(self, who="ann"):
        return [t["record_id"] for t in self.get("/api/v1/tasks", who).get_json()["tasks"]]

    def bin(self, who="ann", **args):
        r = self.client.get("/api/v1/recycle-bin", headers=self.h[who], query_string=args)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def jobs(self):
        from runtime import db
        with self.jimu.read() as conn:
            return {r.idempotency_key: r.status for r in conn.execute(
                sa.select(db.jobs.c.idempotency_key, db.jobs.c.status).where(db.jobs.c.kind == "flow.timer"))}


@pytest.fixture
def lab(jimu, client):
    return Lab(jimu, client)


def test_delete_then_restore_gives_back_the_record_its_files_links_and_waiting_task(lab, clock):
    s = lab.sample()
    other = lab.sample(code="S-2")
    rid = s["id"]
    report = lab.client.post("/api/v1/forms/report/records", headers=lab.h["ann"],
                             json={"title": "R", "sample": rid, "also": [other["id"], rid]}).get_json()
    assert sorted(lab.inbox()) == [rid, other["id"]]
    timers = lab.jobs()
    assert set(timers.values()) == {"pending"} and len(timers) == 2

    assert lab.client.delete(f"/api/v1/forms/sample/records/{rid}", headers=lab.h["ann"]).status_code == 204
    # gone from reads, lists, search, links and inboxes; its timer is held, not fired
    assert lab.get(f"/api/v1/forms/sample/records/{rid}").status_code == 404
    assert [r["id"] for r in lab.get("/api/v1/forms/sample/records?q=S-").get_json()["records"]] == [other["id"]]
    linked = lab.get(f"/api/v1/forms/report/records/{report['id']}").get_json()
    assert linked["sample"] is None and linked["also"] == [other["id"]]
    assert lab.inbox() == [other["id"]]
    assert sorted(lab.jobs().values()) == ["held", "pending"]
    assert lab.get(f"/api/v1/forms/sample/records/{rid}/files/scans/{s['scans'][0]['id']}").status_code == 404

    listed = lab.bin(app="lab")
    assert listed["total"] == 1
    entry = listed["entries"][0]
    assert (entry["form"], entry["record_id"], entry["title"], entry["deleted_by"]) == ("sample", rid, "S-1",
                                                                                        lab.ids["ann"])
    assert entry["deleted_at"] and entry["expires_at"] and entry["flows"] == 1
    # the bin follows the policy: another technician (not the owner) and a user without a role see
    # nothing and cannot restore it; only an administrator may purge
    assert lab.bin("ben")["total"] == 0 and lab.bin("eve")["total"] == 0
    assert lab.client.post(f"/api/v1/recycle-bin/{entry['id']}/restore", headers=lab.h["ben"]).status_code == 404
    denied = lab.client.delete(f"/api/v1/recycle-bin/{entry['id']}", headers=lab.h["ann"])
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "permission.admin"
    assert lab.bin("root", app="lab")["total"] == 1

    clock.advance(hours=1)
    r = lab.client.post(f"/api/v1/recycle-bin/{entry['id']}/restore", headers=lab.h["ann"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["links_dropped"] == []
    back = lab.get(f"/api/v1/forms/sample/records/{rid}").get_json()
    for key in ("id", "code", "owner", "taken", "mass", "scans", "readings", "created_at", "created_by"):
        assert back[key] == s[key], key
    assert back["state"] == "restored"  # the record_restored rule fired
    assert lab.get(f"/api/v1/forms/sample/records/{rid}/files/scans/{s['scans'][0]['id']}").data == PNG
    linked = lab.get(f"/api/v1/forms/report/records/{report['id']}").get_json()
    assert linked["sample"] == rid and sorted(linked["also"]) == sorted([other["id"], rid])
    assert sorted(lab.inbox()) == sorted([rid, other["id"]])
    assert set(lab.jobs().values()) == {"pending"}
    assert lab.bin()["total"] == 0

    task = next(t for t in lab.get("/api/v1/tasks").get_json()["tasks"] if t["record_id"] == rid)
    done = lab.client.post(f"/api/v1/tasks/{task['id']}/complete", headers=lab.h["ann"], json={"outcome": "ok"})
    assert done.status_code == 200, done.get_json()
    flows = lab.get(f"/api/v1/forms/sample/records/{rid}/flows").get_json()["instances"]
    assert [(i["status"], i["outcome"]) for i in flows] == [("completed", "ok")]
    kinds = [e["kind"] for e in lab.get(f"/api/v1/audit?form=sample&record={rid}", "root").get_json()["events"]]
    assert "record.deleted" in kinds and "record.restored" in kinds


def test_purge_is_final_admin_only_and_audited(lab, jimu):
    s = lab.sample()
    rid = s["id"]
    assert lab.client.delete(f"/api/v1/forms/sample/records/{rid}", headers=lab.h["ann"]).status_code == 204
    entry = lab.bin()["entries"][0]
    file_id, store = s["scans"][0]["id"], jimu.services.files.store
    assert store.has(file_id)
    r = lab.client.delete(f"/api/v1/recycle-bin/{entry['id']}", headers=lab.h["root"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["files"] == 1
    assert not store.has(file_id)
    assert lab.bin("root")["total"] == 0
    assert lab.client.post(f"/api/v1/recycle-bin/{entry['id']}/restore",
                           headers=lab.h["root"]).get_json()["error"]["code"] == "recycle.not_found"
    flows = lab.get(f"/api/v1/forms/sample/records/{rid}/flows", "root").get_json()["instances"]
    assert [i["status"] for i in flows] == ["cancelled"]
    assert set(lab.jobs().values()) == {"cancelled"}
    events = lab.get(f"/api/v1/audit?form=sample&record={rid}&kind=record.purged", "root").get_json()["events"]
    assert len(events) == 1 and events[0]["data"]["expired"] is False


def test_expired_entries_are_purged_by_jimu_purge(lab, clock, runner):
    rid = lab.sample()["id"]
    keep = lab.sample(code="S-2")["id"]
    assert lab.client.delete(f"/api/v1/forms/sample/records/{rid}", headers=lab.h["ann"]).status_code == 204
    clock.advance(days=29)
    assert lab.client.delete(f"/api/v1/forms/sample/records/{keep}", headers=lab.h["ann"]).status_code == 204
    clock.advance(days=2)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    left = lab.bin()["entries"]
    assert [e["record_id"] for e in left] == [keep]


def test_restore_refuses_when_a_unique_value_was_taken_meanwhile(lab):
    rid = lab.sample(code="DUP")["id"]
    assert lab.client.delete(f"/api/v1/forms/sample/records/{rid}", headers=lab.h["ann"]).status_code == 204
    lab.sample(code="DUP")
    entry = lab.bin()["entries"][0]
    r = lab.client.post(f"/api/v1/recycle-bin/{entry['id']}/restore", headers=lab.h["ann"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "recycle.conflict"
    assert lab.bin()["total"] == 1  # nothing changed: still in the bin


def test_a_link_to_a_record_gone_meanwhile_is_dropped_and_reported(lab):
    sample = lab.sample()["id"]
    report = lab.client.post("/api/v1/forms/report/records", headers=lab.h["root"],
                             json={"title": "R", "sample": sample}).get_json()["id"]
    h = lab.h["root"]
    assert lab.client.delete(f"/api/v1/forms/report/records/{report}", headers=h).status_code == 204
    assert lab.client.delete(f"/api/v1/forms/sample/records/{sample}", headers=h).status_code == 204
    entry = next(e for e in lab.bin("root")["entries"] if e["form"] == "report")
    assert lab.client.delete(f"/api/v1/recycle-bin/"
                             f"{next(e for e in lab.bin('root')['entries'] if e['form'] == 'sample')['id']}",
                             headers=h).status_code == 200
    r = lab.client.post(f"/api/v1/recycle-bin/{entry['id']}/restore", headers=h)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["links_dropped"] == [{"field": "sample", "form": "sample", "id": sample}]
    assert r.get_json()["record"]["sample"] is None


def test_the_app_page_lists_restores_and_lets_only_admins_purge(lab, client, jimu):
    from tests.conftest import sign_in
    keep, drop = lab.sample(code="UI-1")["id"], lab.sample(code="UI-2")["id"]
    csrf = sign_in(client, jimu, lab.ids["ann"])
    assert client.post(f"/forms/sample/{keep}/delete", data={"csrf_token": csrf}).status_code == 302
    assert client.post(f"/forms/sample/{drop}/delete", data={"csrf_token": csrf}).status_code == 302
    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "/apps/lab/recycle-bin" in home
    page = client.get("/apps/lab/recycle-bin", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "UI-1" in page and "UI-2" in page and "Restore" in page and "Delete for good" not in page
    entries = {e["record_id"]: e["id"] for e in lab.bin()["entries"]}
    assert client.post(f"/apps/lab/recycle-bin/{entries[drop]}/purge", data={"csrf_token": csrf}).status_code == 403
    r = client.post(f"/apps/lab/recycle-bin/{entries[keep]}/restore", data={"csrf_token": csrf, "form": "sample"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/forms/sample/{keep}")
    assert client.get(f"/forms/sample/{keep}").status_code == 200
    csrf = sign_in(client, jimu, lab.ids["root"])
    zh = client.get("/apps/lab/recycle-bin", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "彻底删除" in zh and "UI-1" not in zh
    assert client.post(f"/apps/lab/recycle-bin/{entries[drop]}/purge", data={"csrf_token": csrf}).status_code == 302
    assert lab.bin("root")["total"] == 0
