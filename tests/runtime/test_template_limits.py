"""Resource limits (issue 13 item 6): a builder's message template with a loop of 10^9 steps used to
run for 43 s inside the write transaction of an inventory app, and another user's write failed with
"database is locked". Then it was capped at one render budget inside the write; now messages are not
rendered in the write at all: the outbox job renders them under the step/time limits, a template over
its limit fails that job with the template's code, and the write neither waits nor fails."""
import json
import threading
import time

import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user

LOOP = "{% for a in range(100000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}库存预警 {物料}"

PKG = {"format": "jimu.app", "version": 2, "app": {"key": "inventory", "version": "1.0.0", "label": "Inventory"},
       "forms": [{"key": "入库单", "version": 1, "label": "入库单", "title_field": "物料",
                  "fields": [{"key": "物料", "label": "物料", "widget": "text"},
                             {"key": "数量", "label": "数量", "widget": "number"}]},
                 {"key": "盘点", "version": 1, "label": "盘点",
                  "fields": [{"key": "仓库", "label": "仓库", "widget": "text"}]}],
       "rules": [{"key": "low_stock", "version": 1, "label": "低库存提醒", "form": "入库单",
                  "trigger": {"type": "record_created"},
                  "actions": [{"type": "notify", "channel": "in_app", "to": {"users": ["keeper"]},
                               "subject": "库存", "body": LOOP},
                              {"type": "notify", "channel": "email", "to": {"emails": ["buyer@example.com"]},
                               "subject": "库存 {物料}", "body": LOOP}]}]}

#: the render limit for this test: a write that rendered the loop would take at least this long
SECONDS = 3.0


def _post(app, token, form, body, results, name):
    t0 = time.monotonic()
    resp = app.test_client().post(f"/api/v1/forms/{form}/records", json=body,
                                  headers={"Authorization": f"Bearer {token}"})
    results[name] = (resp.status_code, time.monotonic() - t0)


def test_a_runaway_template_does_not_lengthen_the_write_and_fails_its_job_with_the_limit_code(app, jimu,
                                                                                               monkeypatch):
    from engines.rule import templates
    from runtime import jobs
    from runtime.rules.tables import notifications, rule_firings
    # only the clock stops the loop, so a write that rendered it would last SECONDS
    monkeypatch.setattr(templates, "MAX_STEPS", 10 ** 12)
    monkeypatch.setattr(templates, "MAX_SECONDS", SECONDS)
    keeper = make_user(jimu, "keeper", admin=True)  # before the package that notifies the keeper by name
    install_package(jimu, PKG)
    other = make_user(jimu, "counter", admin=True)
    tokens = {keeper: api_token(jimu, keeper), other: api_token(jimu, other)}
    results = {}
    slow = threading.Thread(target=_post, args=(app, tokens[keeper], "入库单", {"物料": "螺丝", "数量": 5}, results,
                                                "slow"), daemon=True)
    slow.start()
    time.sleep(0.2)
    fast = threading.Thread(target=_post, args=(app, tokens[other], "盘点", {"仓库": "A"}, results, "other"),
                            daemon=True)
    fast.start()
    slow.join(timeout=30)
    fast.join(timeout=30)
    assert not slow.is_alive() and not fast.is_alive(), "a template render held the write transaction"
    assert results["slow"][0] == 201 and results["other"][0] == 201, results
    assert results["slow"][1] < SECONDS, results  # nothing was rendered in the write

    with jimu.read() as conn:
        firing = conn.execute(sa.select(rule_firings).where(rule_firings.c.rule_key == "low_stock")).one()
    assert firing.matched and not firing.errors  # the write and its rule went through
    logged = firing.actions[0]
    assert logged["templates"]["body"] == LOOP and "variables" not in logged  # the log keeps no record values

    # the worker renders, hits the limit, and fails each message's job at once with the code; meanwhile
    # another user's write still succeeds (SQLite waits for the worker's short lock, it is not refused)
    ran = threading.Thread(target=jobs.run_due, args=(jimu,), daemon=True)
    ran.start()
    time.sleep(0.5)
    _post(app, tokens[other], "盘点", {"仓库": "B"}, results, "during_job")
    ran.join(timeout=30)
    assert not ran.is_alive() and results["during_job"][0] == 201, results
    with jimu.read() as conn:
        from runtime import db
        failed = conn.execute(sa.select(db.jobs.c.kind, db.jobs.c.status, db.jobs.c.attempts, db.jobs.c.last_error)
                              .where(db.jobs.c.kind.in_(["rule.in_app", "rule.email"]))
                              .order_by(db.jobs.c.kind)).all()
        sent = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
    assert [(j.kind, j.status, j.attempts) for j in failed] == [("rule.email", "failed", 1),
                                                                ("rule.in_app", "failed", 1)]
    assert all("template.too_long_running" in j.last_error for j in failed)
    assert sent == 0


def test_the_outbox_shows_the_limit_error_to_the_admin(jimu, client, admin_headers, monkeypatch):
    from engines.rule import templates
    from runtime import jobs
    monkeypatch.setattr(templates, "MAX_STEPS", 1000)
    make_user(jimu, "keeper", admin=True)
    install_package(jimu, PKG)
    assert client.post("/api/v1/forms/入库单/records", json={"物料": "钉子"}, headers=admin_headers).status_code == 201
    jobs.run_due(jimu)
    r = client.get("/api/v1/rules/outbox?status=failed", headers=admin_headers)
    assert sorted(j["kind"] for j in r.json["jobs"]) == ["rule.email", "rule.in_app"]
    assert all(j["last_error"].startswith("Undeliverable: template.too_long_running") for j in r.json["jobs"])


def test_the_data_templates_of_one_write_share_one_render_budget(jimu, client, admin_headers):
    """set_fields values are data, rendered in the write: each template alone stays under MAX_STEPS, but
    the templates of all rules fired by one write share one budget, so two such rules cannot hold the
    write transaction twice as long."""
    from engines.rule.templates import MAX_STEPS
    from runtime.rules.tables import rule_firings
    outer = MAX_STEPS * 3 // 4 // 1000
    half = "{% for a in range(" + str(outer) + ") %}{% for b in range(1000) %}{% endfor %}{% endfor %}盘点 {仓库}"
    pkg = json.loads(json.dumps(PKG))
    pkg["rules"] = [{"key": key, "version": 1, "label": key, "form": "盘点", "trigger": {"type": "record_created"},
                     "actions": [{"type": "set_fields", "values": {"仓库": {"template": half}}}]}
                    for key in ("first", "second")]
    install_package(jimu, pkg)
    assert client.post("/api/v1/forms/盘点/records", json={"仓库": "B"}, headers=admin_headers).status_code == 201
    with jimu.read() as conn:
        errors = dict(conn.execute(sa.select(rule_firings.c.rule_key, rule_firings.c.errors)).all())
    assert not errors["first"]
    assert [e["code"] for e in errors["second"]] == ["template.too_long_running"]
