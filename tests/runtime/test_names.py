"""Ids of users, groups and linked records read as names in messages and on pages (runtime.names)."""
import copy

import sqlalchemy as sa

from tests.conftest import install_package, make_user
from tests.runtime.rules_helpers import FORMS, create, get


def _package(rules):
    forms = copy.deepcopy(FORMS)
    forms[0]["fields"] += [{"key": "负责人", "label": "Owner", "widget": "user"},
                           {"key": "负责组", "label": "Team", "widget": "group"},
                           {"key": "所属客户", "label": "Customer", "widget": "link", "config": {"form": "客户"}}]
    forms[2]["title_field"] = "名称"
    return {"format": "jimu.app", "version": 2, "app": {"key": "desk", "version": "1.0.0", "label": "Desk"},
            "groups": [{"key": "finance", "version": 1, "label": {"zh-CN": "财务组", "en": "Finance"}, "members": []}],
            "roles": [{"key": "reader", "version": 1, "label": "Reader",
                       "permissions": {"工单": ["read"], "客户": ["read"]}}],
            "forms": forms, "rules": [dict(r, version=1, label=r["key"], form="工单") for r in rules]}


def _group_id(jimu, key):
    from runtime import db
    with jimu.read() as conn:
        return conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == key)).scalar_one()


def test_placeholders_read_names_but_record_keeps_ids(jimu):
    text = "{标题}: {负责人} / {负责组} / {所属客户} (id {{ record['负责人'] }})"
    ann = make_user(jimu, "ann")  # before the package that names her as a recipient
    install_package(jimu, _package([
        {"key": "note", "trigger": {"type": "record_created"},
         "actions": [{"type": "set_fields", "values": {"描述": {"template": text}}},
                     {"type": "notify", "channel": "in_app", "to": {"users": ["ann"]}, "subject": text}]}]))
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        set_roles(conn, ann, ["reader"])  # told about a record: may read it
    from runtime import db
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == ann).values(display_name="安娜"))
    customer = create(jimu, "客户", {"名称": "星辰科技"})
    rec = create(jimu, "工单", {"标题": "发票", "负责人": ann, "负责组": _group_id(jimu, "finance"),
                               "所属客户": customer["id"]})
    expected = f"发票: 安娜 / 财务组 / 星辰科技 (id {ann})"
    assert get(jimu, "工单", rec["id"])["描述"] == expected
    from runtime.rules.tables import notifications
    from tests.runtime.rules_helpers import run_jobs
    run_jobs(jimu)  # the outbox renders the message, with the names ann may read
    with jimu.read() as conn:
        assert conn.execute(sa.select(notifications.c.title)).scalars().all() == [expected]


def test_a_gone_reference_reads_as_its_id(jimu):
    from runtime.names import ReferenceNames
    install_package(jimu, _package([]))
    with jimu.read() as conn:
        names = ReferenceNames(conn, jimu.catalog).for_form(jimu.catalog.form("工单"))
        assert names("负责人", 999) == "#999"
        assert names("标题", 5) == 5                 # not a reference field: unchanged
        assert names("负责人", None) is None


def test_link_titles_only_for_forms_the_reader_may_read(jimu):
    from runtime.names import ReferenceNames
    install_package(jimu, _package([]))
    customer = create(jimu, "客户", {"名称": "星辰科技"})
    with jimu.read() as conn:
        ft = jimu.catalog.form("工单")
        allowed = ReferenceNames(conn, jimu.catalog).for_form(ft)
        from runtime.auth.principal import Principal
        reader = Principal(user_id=5, username="someone", grants={"工单": frozenset({"read"})})  # not 客户
        denied = ReferenceNames(conn, jimu.catalog, principal=reader).for_form(ft)
        assert allowed("所属客户", customer["id"]) == "星辰科技"
        assert denied("所属客户", customer["id"]) == f"#{customer['id']}"
