"""The flow runtime: starting on record create, task rows and assignment, completing with field
permissions, reassign/delegate/return/cancel/reopen, version pinning, history."""
import pytest
import sqlalchemy as sa

from apps import PackageError
from runtime.flows.tables import flow_versions

from .flow_fixtures import (create_ticket, e, install, instances, n, principal, runtime_call, setup_users,
                            simple_flow, tasks)


@pytest.fixture
def users(jimu):
    return setup_users(jimu)


def test_creating_a_record_starts_its_flow_and_opens_a_task(jimu, users):
    install(jimu, [simple_flow()])
    rec = create_ticket(jimu, users["admin"])
    (inst,) = instances(jimu)
    assert (inst["flow_key"], inst["flow_version"], inst["record_id"], inst["status"]) == ("handle", 1, rec["id"],
                                                                                         "running")
    assert inst["started_by"] == users["admin"]
    (task,) = tasks(jimu)
    assert (task["node_id"], task["status"], task["assignee_user_id"]) == ("work", "open", users["ann"])
    assert [o["key"] for o in task["outcomes"]] == ["solved", "unsolved"]


def test_manual_flows_do_not_start_on_create_but_start_by_hand(jimu, users):
    install(jimu, [dict(simple_flow(), start="manual")])
    rec = create_ticket(jimu, users["admin"])
    assert instances(jimu) == []
    iid = runtime_call(jimu, lambda rt: rt.start("handle", record_id=rec["id"], actor=users["ben"]))
    assert instances(jimu)[0]["id"] == iid and tasks(jimu)[0]["assignee_user_id"] == users["ann"]


def test_a_broken_flow_is_refused_at_install_with_every_problem(jimu, users):
    bad = {"key": "bad", "version": 1, "form": "ticket",
           "nodes": [n("s", "start"), n("x", "user_task"), n("y", "user_task")], "edges": [e("s", "x")]}
    with pytest.raises(PackageError) as info:
        install(jimu, [bad])
    found = {(p["code"], p.get("node")) for p in info.value.errors}
    assert all(p["pointer"].startswith("/flows/0") for p in info.value.errors)
    assert {("flow.no_end", None), ("flow.unreachable", "y"), ("flow.outgoing_edges", "x")} <= found


def test_complete_enforces_assignee_and_field_permissions(jimu, users):
    install(jimu, [simple_flow(fields={"title": "visible", "reply": "required", "note": "editable"})])
    rec = create_ticket(jimu, users["admin"], title="printer")
    (task,) = tasks(jimu)
    from engines.errors import PermissionDenied, ValidationErrors
    with pytest.raises(PermissionDenied):
        runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ben"]), task["id"], outcome="solved"))
    with pytest.raises(ValidationErrors) as info:
        runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ann"]), task["id"], outcome="solved",
                                                   values={"note": "n"}))
    assert [err["field"] for err in info.value.errors] == ["reply"]
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ann"]), task["id"], outcome="solved",
                                               values={"reply": "restarted", "title": "HACKED", "note": "ok"},
                                               comment="fixed"))
    record = runtime_call(jimu, lambda rt: rt._record("ticket", rec["id"]))
    assert (record["title"], record["reply"], record["note"]) == ("printer", "restarted", "ok")
    (task,) = tasks(jimu)
    assert (task["status"], task["outcome"], task["closed_by"], task["comment"]) == ("completed", "solved",
                                                                                     users["ann"], "fixed")
    assert instances(jimu)[0]["status"] == "completed" and instances(jimu)[0]["outcome"] == "solved"
    history = runtime_call(jimu, lambda rt: rt.history(instances(jimu)[0]["id"]))
    assert [(h["kind"], h["outcome"]) for h in history] == [("started", None), ("task_completed", "solved"),
                                                            ("ended", "solved")]
    assert history[1]["actor_id"] == users["ann"] and history[1]["comment"] == "fixed"


@pytest.mark.parametrize("assignee,expect", [
    ({"kind": "role", "value": "agent"}, {"assignee_role": "agent", "assignee_user_id": None}),
    ({"kind": "group", "value": "l1"}, {"assignee_group": "l1", "assignee_user_id": None}),
    ({"kind": "field", "value": "owner"}, {"assignee_user_id": "cat"}),
    ({"kind": "initiator"}, {"assignee_user_id": "admin"}),
])
def test_assignment_kinds(jimu, users, assignee, expect):
    install(jimu, [simple_flow(assignee=assignee)])
    create_ticket(jimu, users["admin"], owner="cat")
    (task,) = tasks(jimu)
    for k, v in expect.items():
        assert task[k] == (users[v] if isinstance(v, str) and k == "assignee_user_id" else v)


def test_pool_tasks_show_in_the_inbox_of_role_and_group_members(jimu, users):
    from runtime.auth.users import set_roles
    install(jimu, [simple_flow(assignee={"kind": "role", "value": "agent"})])
    with jimu.begin() as conn:
        set_roles(conn, users["ben"], ["agent"])
    create_ticket(jimu, users["admin"])
    inbox = lambda who: runtime_call(jimu, lambda rt: rt.my_tasks(principal(jimu, users[who])))
    assert len(inbox("ben")) == 1 and inbox("cat") == []


def test_round_robin_and_least_open_within_a_group(jimu, users):
    install(jimu, [simple_flow(assignee={"kind": "round_robin", "value": "l1"})])
    for _ in range(4):
        create_ticket(jimu, users["admin"])
    assert [t["assignee_user_id"] for t in tasks(jimu)] == [users[u] for u in ("ann", "ben", "cat", "ann")]


def test_least_open_picks_the_member_with_fewest_open_tasks(jimu, users):
    install(jimu, [simple_flow(assignee={"kind": "least_open", "value": "l1"})])
    for _ in range(3):
        create_ticket(jimu, users["admin"])
    first = tasks(jimu)
    assert sorted(t["assignee_user_id"] for t in first) == sorted(users[u] for u in ("ann", "ben", "cat"))
    ben_task = next(t for t in first if t["assignee_user_id"] == users["ben"])
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ben"]), ben_task["id"], outcome="solved"))
    create_ticket(jimu, users["admin"])
    assert tasks(jimu)[-1]["assignee_user_id"] == users["ben"]


def test_reassign_delegate_return_cancel_reopen(jimu, users):
    flow = {"key": "review", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("draft", "user_task", assignee={"kind": "user", "value": "ann"}),
                      n("check", "approval", assignee={"kind": "user", "value": "ben"}), n("end", "end")],
            "edges": [e("s", "draft"), e("draft", "check"), e("check", "end", outcome="approve")]}
    install(jimu, [flow])
    create_ticket(jimu, users["admin"])
    ann, ben, admin = (principal(jimu, users[u]) for u in ("ann", "ben", "admin"))
    draft = tasks(jimu, node_id="draft")[0]
    runtime_call(jimu, lambda rt: rt.delegate(ann, draft["id"], "cat"))
    draft = tasks(jimu, node_id="draft")[0]
    assert draft["assignee_user_id"] == users["cat"] and draft["delegated_from"] == users["ann"]
    runtime_call(jimu, lambda rt: rt.reassign(admin, draft["id"], {"kind": "user", "value": "ann"}))
    runtime_call(jimu, lambda rt: rt.complete(ann, draft["id"]))
    check = tasks(jimu, node_id="check")[0]
    runtime_call(jimu, lambda rt: rt.send_back(ben, check["id"], "draft", comment="redo"))
    assert tasks(jimu, node_id="check")[0]["status"] == "returned"
    assert [t["status"] for t in tasks(jimu, node_id="draft")] == ["completed", "open"]
    iid = instances(jimu)[0]["id"]
    runtime_call(jimu, lambda rt: rt.cancel(admin, iid, comment="spam"))
    assert instances(jimu)[0]["status"] == "cancelled" and instances(jimu)[0]["ended_at"] is not None
    assert tasks(jimu, status="open") == []
    runtime_call(jimu, lambda rt: rt.reopen(admin, iid))
    assert instances(jimu)[0]["status"] == "running" and instances(jimu)[0]["ended_at"] is None
    assert len(tasks(jimu, status="open", node_id="draft")) == 1
    kinds = [h["kind"] for h in runtime_call(jimu, lambda rt: rt.history(iid))]
    assert kinds == ["started", "delegated", "reassigned", "task_completed", "returned", "cancelled", "ended",
                     "reopened"]


def test_running_instance_stays_on_its_version_after_a_new_one_is_published(jimu, users):
    install(jimu, [simple_flow()])
    create_ticket(jimu, users["admin"])
    v2 = simple_flow()
    v2["nodes"][1]["config"]["outcomes"] = ["solved", "unsolved", "wait"]
    v2["nodes"].insert(2, n("extra", "user_task", assignee={"kind": "user", "value": "ben"}))
    v2["edges"] = [e("s", "work"), e("work", "extra", outcome="solved"), e("extra", "done"),
                   e("work", "esc", outcome="unsolved"), e("work", "work", id="again", outcome="wait")]
    install(jimu, [v2], version="1.1.0")
    with jimu.read() as conn:
        assert conn.execute(sa.select(flow_versions.c.version).where(flow_versions.c.key == "handle")
                            .order_by(flow_versions.c.version)).scalars().all() == [1, 2]
    create_ticket(jimu, users["admin"])
    old, new = instances(jimu)
    assert (old["flow_version"], new["flow_version"]) == (1, 2)
    ann = principal(jimu, users["ann"])
    old_task = tasks(jimu, instance_id=old["id"])[0]
    assert [o["key"] for o in old_task["outcomes"]] == ["solved", "unsolved"]
    runtime_call(jimu, lambda rt: rt.complete(ann, old_task["id"], outcome="solved"))
    assert instances(jimu)[0]["status"] == "completed"            # v1 has no 'extra' step
    new_task = tasks(jimu, instance_id=new["id"])[0]
    runtime_call(jimu, lambda rt: rt.complete(ann, new_task["id"], outcome="solved"))
    assert instances(jimu)[1]["status"] == "running" and tasks(jimu, instance_id=new["id"])[-1]["node_id"] == "extra"
    install(jimu, [v2], version="1.2.0")  # unchanged definition: no new version
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.max(flow_versions.c.version))).scalar() == 2


def test_parallel_countersign_and_gateway_on_the_record(jimu, users):
    signers = [{"kind": "user", "value": u} for u in ("ann", "ben", "cat")]
    flow = {"key": "big", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("g", "exclusive_gateway"), n("fork", "parallel_gateway"),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}),
                      n("b", "user_task", assignee={"kind": "user", "value": "ben"}),
                      n("join", "parallel_gateway"),
                      n("cs", "countersign", assignees=signers, rule="count", count=2),
                      n("fast", "end", outcome="fast"), n("end", "end", outcome="approved")],
            "edges": [e("s", "g"), e("g", "fast", condition="urgency == '低'"), e("g", "fork", default=True),
                      e("fork", "a"), e("fork", "b"), e("a", "join"), e("b", "join"), e("join", "cs"),
                      e("cs", "end")]}
    install(jimu, [flow])
    create_ticket(jimu, users["admin"], urgency="低")
    assert instances(jimu)[0]["outcome"] == "fast"
    create_ticket(jimu, users["admin"], urgency="高")
    iid = instances(jimu)[1]["id"]
    for who, node in (("ann", "a"), ("ben", "b")):
        t = tasks(jimu, instance_id=iid, node_id=node)[0]
        runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users[who]), t["id"]))
    cs = tasks(jimu, instance_id=iid, node_id="cs")
    assert [t["assignee_user_id"] for t in cs] == [users[u] for u in ("ann", "ben", "cat")]
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ann"]), cs[0]["id"], outcome="approve"))
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["cat"]), cs[2]["id"], outcome="approve"))
    assert instances(jimu)[1]["outcome"] == "approved"
    assert tasks(jimu, instance_id=iid, node_id="cs")[1]["status"] == "cancelled"


def test_a_bulk_create_starts_each_records_flow_and_tells_webhooks(jimu, users):
    """Bulk creates (imports, the batch API) tell only the listeners that act on the form's creates
    (``Jimu.listening``): an on-create flow starts for every record, a webhook subscription gets a
    delivery per record; with neither (the flow made manual, the subscription gone), nothing is."""
    from runtime import db
    from runtime.records import Records
    from runtime.store.evolve import bump_revision

    install(jimu, [simple_flow()])
    with jimu.begin() as conn:
        now = jimu.now()
        conn.execute(sa.insert(db.webhook_subscriptions).values(
            name="erp", form_key="ticket", events=["record.created"], url="https://erp.example.com/hook",
            secret="s" * 32, is_active=True, created_at=now, updated_at=now))
        bump_revision(conn)

    def bulk(n):
        with jimu.begin() as conn:
            records = Records(jimu, conn, principal(jimu, users["admin"]))
            assert {type(x).__name__ for x in jimu.listening(records, "record.created",
                                                             jimu.catalog.form("ticket"))} >= {"WebhookListener"}
            return records.bulk_create("ticket", [{"title": f"t{i}"} for i in range(n)])

    ids = bulk(3)
    assert sorted(i["record_id"] for i in instances(jimu)) == ids
    with jimu.read() as conn:
        deliveries = conn.execute(sa.select(db.webhook_deliveries.c.record_id)).scalars().all()
    assert sorted(deliveries) == ids
    install(jimu, [dict(simple_flow(), start="manual")], version="1.0.1")
    with jimu.begin() as conn:
        conn.execute(sa.delete(db.webhook_subscriptions))
        bump_revision(conn)
        records = Records(jimu, conn, principal(jimu, users["admin"]))
        assert jimu.listening(records, "record.created", jimu.catalog.form("ticket")) == ()
        records.bulk_create("ticket", [{"title": "quiet"}])
    assert len(instances(jimu)) == 3


def test_a_reassignment_looks_its_assignee_up_once(jimu, users):
    """``reassign`` resolves the new assignee to compare it with the current one; the assignment it
    then makes reuses that answer instead of asking the database again."""
    install(jimu, [simple_flow()])
    create_ticket(jimu, users["admin"])
    (task,) = tasks(jimu)
    admin = principal(jimu, users["admin"])
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(jimu.engine, "before_cursor_execute", count)
    try:
        runtime_call(jimu, lambda rt: rt.reassign(admin, task["id"], {"kind": "user", "value": "ben"}))
    finally:
        sa.event.remove(jimu.engine, "before_cursor_execute", count)
    assert tasks(jimu)[0]["assignee_user_id"] == users["ben"]
    lookups = [s for s in seen if s.lstrip().startswith("SELECT") and "FROM jimu_users" in s
               and "jimu_users.username =" in s]
    assert len(lookups) == 1, lookups


def test_the_rows_kept_for_a_new_instance_and_task_are_the_rows_the_database_holds(jimu, users):
    """The INSERTs of a new instance and task return only what the database changes (the id,
    timestamps, JSON documents); the rows kept for the rest of the transaction are still the rows."""
    from runtime.flows.tables import flow_instances, flow_tasks
    from runtime.records import Records
    from runtime.store.records import written
    install(jimu, [simple_flow(fields={"title": "visible", "reply": "required", "note": "editable"},
                               sla={"after": "PT2H", "action": "notify", "notify": []})])
    with jimu.begin() as conn:
        Records(jimu, conn, principal(jimu, users["admin"])).create("ticket", {"title": "t"})
        kept = {k: dict(v) for k, v in written(conn).items() if len(k) == 2 and k[0] in (flow_instances, flow_tasks)}
        assert sorted(t.name for t, _ in kept) == ["jimu_flow_instances", "jimu_flow_tasks"]
        for (table, rid), row in kept.items():
            held = dict(conn.execute(sa.select(table).where(table.c.id == rid)).mappings().one())
            assert list(row) == list(held) and row == held
            assert row["created_at" if table is flow_tasks else "started_at"].tzinfo is not None
    (task,) = tasks(jimu)
    assert task["due_at"] is not None and list(task["fields"]) == list(kept[(flow_tasks, task["id"])]["fields"])
