"""Resource limits (issue 13 item 6): a builder's message template with a loop of 10^9 steps used to
run for 43 s inside the write transaction of an inventory app, and another user's write failed with
"database is locked". Now the render stops at its step/time limit, the rule's firing records why, the
record is saved, and a concurrent writer is not locked out."""
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
                               "subject": "库存", "body": LOOP}]}]}


def test_a_runaway_template_stops_at_its_limit_and_does_not_lock_out_writers(app, jimu):
    keeper = make_user(jimu, "keeper", admin=True)  # before the package that notifies the keeper by name
    install_package(jimu, PKG)
    other = make_user(jimu, "counter", admin=True)
    results = {}

    def post(name, uid, form, body):
        client = app.test_client()
        t0 = time.monotonic()
        resp = client.post(f"/api/v1/forms/{form}/records", json=body,
                           headers={"Authorization": f"Bearer {tokens[uid]}"})
        results[name] = (resp.status_code, time.monotonic() - t0)

    tokens = {keeper: api_token(jimu, keeper), other: api_token(jimu, other)}
    slow = threading.Thread(target=post, args=("slow", keeper, "入库单", {"物料": "螺丝", "数量": 5}), daemon=True)
    slow.start()
    time.sleep(0.3)
    fast = threading.Thread(target=post, args=("other", other, "盘点", {"仓库": "A"}), daemon=True)
    fast.start()
    slow.join(timeout=20)
    fast.join(timeout=20)
    assert not slow.is_alive() and not fast.is_alive(), "a template render held the write transaction"
    assert results["slow"][0] == 201 and results["other"][0] == 201, results
    assert results["slow"][1] < 10

    from runtime.rules.tables import notifications, rule_firings
    with jimu.read() as conn:
        firing = conn.execute(sa.select(rule_firings).where(rule_firings.c.rule_key == "low_stock")).one()
        sent = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
    assert [e["code"] for e in firing.errors] == ["template.too_long_running"]
    assert sent == 0


def test_the_rules_of_one_write_share_one_render_budget(jimu, client, admin_headers):
    """Each template alone stays under MAX_STEPS, but the templates of all rules fired by one write share
    one budget: two such rules cannot hold the write transaction twice as long."""
    from engines.rule.templates import MAX_STEPS
    from runtime.rules.tables import rule_firings
    outer = MAX_STEPS * 3 // 4 // 1000
    half = "{% for a in range(" + str(outer) + ") %}{% for b in range(1000) %}{% endfor %}{% endfor %}盘点 {仓库}"
    pkg = json.loads(json.dumps(PKG))
    pkg["rules"] = [{"key": key, "version": 1, "label": key, "form": "盘点", "trigger": {"type": "record_created"},
                     "actions": [{"type": "notify", "channel": "in_app", "to": {"users": ["keeper"]},
                                  "subject": "盘点", "body": half}]} for key in ("first", "second")]
    make_user(jimu, "keeper", admin=True)  # before the package that notifies the keeper by name
    install_package(jimu, pkg)
    assert client.post("/api/v1/forms/盘点/records", json={"仓库": "B"}, headers=admin_headers).status_code == 201
    with jimu.read() as conn:
        errors = dict(conn.execute(sa.select(rule_firings.c.rule_key, rule_firings.c.errors)).all())
    assert not errors["first"]
    assert [e["code"] for e in errors["second"]] == ["template.too_long_running"]
