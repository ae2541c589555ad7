"""A small helpdesk-like package for the rule runtime tests (generic forms; rules are data)."""
import copy

FORMS = [
    {"key": "工单", "version": 1, "label": "Ticket", "title_field": "标题", "fields": [
        {"key": "标题", "label": "Title", "widget": "text"},
        {"key": "客户姓名", "label": "Customer name", "widget": "text"},
        {"key": "客户", "label": "Customer", "widget": "number"},
        {"key": "类别", "label": "Category", "widget": "text"},
        {"key": "紧急程度", "label": "Urgency", "widget": "text"},
        {"key": "状态", "label": "Status", "widget": "text"},
        {"key": "处理人", "label": "Assignee", "widget": "text"},
        {"key": "处理人ID", "label": "Assignee id", "widget": "number"},
        {"key": "组", "label": "Group", "widget": "text"},
        {"key": "邮箱", "label": "E-mail", "widget": "text"},
        {"key": "描述", "label": "Description", "widget": "text"},
        {"key": "金额", "label": "Amount", "widget": "number"},
        {"key": "信用分", "label": "Score", "widget": "number"},
        {"key": "计数", "label": "Counter", "widget": "number"},
        {"key": "明细", "label": "Lines", "widget": "subtable",
         "config": {"fields": [{"key": "品名", "label": "Item", "widget": "text"},
                               {"key": "数量", "label": "Qty", "widget": "number"}]}},
    ]},
    {"key": "知识库", "version": 1, "label": "KB", "fields": [
        {"key": "标题", "label": "Title", "widget": "text"},
        {"key": "来源", "label": "Source", "widget": "number"}]},
    {"key": "客户", "version": 1, "label": "Customer", "fields": [
        {"key": "名称", "label": "Name", "widget": "text"},
        {"key": "最近工单", "label": "Last ticket", "widget": "number"},
        {"key": "预警", "label": "Warning", "widget": "text"}]},
]


def package(rules, version="1.0.0", groups=()):
    rules = copy.deepcopy(rules)
    for r in rules:
        r.setdefault("version", 1)
        r.setdefault("label", r["key"])
        r.setdefault("form", "工单")
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "desk", "version": version, "label": "Desk"},
            "groups": [dict(g, version=1) for g in groups],
            # people told about records (in-app notifications) must be able to read them
            "roles": [{"key": "desk_reader", "version": 1, "label": "Reader",
                       "permissions": {f["key"]: ["read"] for f in FORMS}}],
            "forms": copy.deepcopy(FORMS), "rules": rules}


def create(jimu, form, data, source="api"):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        return Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True), source=source,
                       check_permissions=False).create(form, data)


def update(jimu, form, rid, data):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        return Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True),
                       check_permissions=False).update(form, rid, data)


def get(jimu, form, rid):
    from runtime.store import RecordStore
    with jimu.read() as conn:
        return RecordStore(conn).get(jimu.catalog.form(form), rid)


def firings(jimu, rule=None):
    import sqlalchemy as sa
    from runtime.rules.tables import rule_firings as t
    q = sa.select(t).order_by(t.c.id)
    if rule:
        q = q.where(t.c.rule_key == rule)
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def jobs_of(jimu, kind=None):
    import sqlalchemy as sa
    from runtime import db
    q = sa.select(db.jobs).order_by(db.jobs.c.id)
    if kind:
        q = q.where(db.jobs.c.kind == kind)
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def run_jobs(jimu, rounds: int = 5) -> int:
    """Run the due jobs (the outbox renders and sends rule messages) until none is left."""
    from runtime import jobs
    total = 0
    for _ in range(rounds):
        n = jobs.run_due(jimu)
        total += n
        if not n:
            break
    return total


def deliver_mails(jimu, monkeypatch) -> list[dict]:
    """Run the outbox and return the mails it sent (``to``, ``subject``, ``body``, ``key``), as rendered
    by the jobs (rule messages are rendered there, per recipient, not in the write)."""
    sent: list[dict] = []
    monkeypatch.setattr(jimu.services.notifier, "mail", lambda to, subject, body, *, key, html=None, **more: sent.append(
        {"to": list(to), "subject": subject, "body": body, "key": key}))
    run_jobs(jimu)
    return sent
