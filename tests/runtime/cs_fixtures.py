"""The customer-service package installed with a small staff, and helpers for its tests."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import install_package

PACKAGE = Path(__file__).resolve().parents[2] / "examples" / "customer_service.json"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=REPLACE-WITH-YOUR-ROBOT-KEY"

#: username → (e-mail, groups); LEADS names each group's lead
STAFF = {"ann": ("ann@desk.example", ["frontline"]), "bob": ("bob@desk.example", ["frontline"]),
         "lead": ("lead@desk.example", []), "fin": ("fin@desk.example", ["finance"]),
         "ops": ("ops@desk.example", ["it_infra"]), "vera": ("vera@desk.example", ["senior"]),
         "exp": ("exp@desk.example", ["experts"]), "csm": ("csm@desk.example", [])}
ROLES = {"ann": "agent", "bob": "agent", "lead": "supervisor", "fin": "agent", "ops": "agent", "vera": "agent",
         "exp": "expert", "csm": "agent"}
LEADS = {"frontline": "lead", "finance": "fin", "it_infra": "ops", "senior": "vera", "experts": "exp"}


def load() -> dict:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def install(jimu, *, wecom_url: str | None = None, package: dict | None = None) -> dict:
    """Create the staff, then install the package (or a changed copy of it) with groups filled (and the
    robot URL swapped for a local receiver). Returns username → user id."""
    from runtime.auth.users import create_user
    ids = {}
    with jimu.begin() as conn:
        for name, (mail, _) in STAFF.items():
            ids[name] = create_user(conn, name, "pw-123456", now=jimu.now(), email=mail)
        ids["admin"] = create_user(conn, "root", "pw-123456", now=jimu.now(), is_admin=True)
    data = load() if package is None else package
    for g in data["groups"]:
        g["members"] = [n for n, (_, groups) in STAFF.items() if g["key"] in groups]
        g["lead"] = LEADS.get(g["key"])
    if wecom_url:
        text = json.dumps(data, ensure_ascii=False).replace(WECOM, wecom_url)
        data = json.loads(text)
    install_package(jimu, data)
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        for name, role in ROLES.items():
            set_roles(conn, ids[name], [role])
    return ids


def group_id(jimu, key: str) -> int:
    from runtime import db
    with jimu.read() as conn:
        return conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == key)).scalar()


def records(jimu, form: str, **where) -> list[dict]:
    from runtime.store import RecordStore
    ft = jimu.catalog.form(form)
    with jimu.read() as conn:
        q = sa.select(ft.table.c.id).order_by(ft.table.c.id)
        ids = list(conn.execute(q).scalars())
        out = [RecordStore(conn).get(ft, i) for i in ids]
    return [r for r in out if all(r.get(k) == v for k, v in where.items())]


def ticket(jimu, **values) -> dict:
    from tests.runtime.rules_helpers import create
    data = {"标题": "无法登录账号", "客户姓名": "张三", "问题类型": "账号问题", "问题详细描述": "登录时提示密码错误"}
    data.update(values)
    return create(jimu, "工单", data)


def reply(jimu, ticket_id: int, text: str, *, who: str = "客服", kind: str = "公开回复") -> dict:
    from tests.runtime.rules_helpers import create
    return create(jimu, "回复", {"工单": ticket_id, "来自": who, "类型": kind, "内容": text})


def open_tasks(jimu, rid: int) -> list[dict]:
    from tests.runtime.flow_fixtures import tasks
    return [t for t in tasks(jimu, record_id=rid, status="open") if t["form_key"] == "工单"]


def complete(jimu, task_id: int, outcome: str, user_id: int) -> None:
    from tests.runtime.flow_fixtures import principal, runtime_call
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, user_id), task_id, outcome=outcome))


def run_jobs(jimu, rounds: int = 5) -> int:
    """Run what is due until nothing is left (automatic steps chain: a job's write queues the next)."""
    from runtime import jobs
    total = 0
    for _ in range(rounds):
        n = jobs.run_due(jimu)
        total += n
        if not n:
            break
    return total


def copy_package() -> dict:
    return copy.deepcopy(load())
