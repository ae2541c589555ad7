"""Work messages to a person: the notification channels ``wecom_app`` (企业微信应用消息) and
``dingtalk_app`` (钉钉工作通知), through the vendors' server APIs (``runtime.notify.workmsg``).

The recipients are Jimu users (``to``, as for in-app messages), told only about records they may
read and as they see them (``messages.user_messages``). Each is reached by their id in the vendor's
directory: the account linked to the user (``jimu_user_accounts``, ``jimu link-account``), else, when
``WORKMSG_USERID_ATTRIBUTE`` is ``username`` or ``email``, that attribute of the user. Users without
one are left out; nobody left fails the message with ``workmsg.no_user_id``.

A message about an open flow task (a task notice: its variables name ``task_id``) becomes a task
card for each recipient who may act on the task: WeCom ``template_card`` of type
``button_interaction``, DingTalk ``action_card`` with ``btn_json_list``. Each button opens a signed
link (``runtime.task_links``) bound to the task, the person and the button's outcome, where the
person adds a comment and confirms; the task page's checks apply there.

Each vendor call has its own delivery record (the job's key, then ``<key>:<n>``), so a retry after a
rate-limit answer sends only what was not acknowledged.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.rule.channels import Channel

from .. import db, jobs, task_links
from ..notify.workmsg import DingTalk, VendorRefused, WeCom
from . import messages

#: the button text of a task without outcomes
COMPLETE_LABEL = {"zh-CN": "完成", "en": "Complete"}
VIEW_LABEL = {"zh-CN": "查看", "en": "View"}


def vendor_ids(conn: sa.Connection, config: Mapping, vendor: str, user_ids: Iterable[int]) -> dict[int, str]:
    """Jimu user id → the user's id in ``vendor``'s directory, for the users that have one."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    ua = db.user_accounts
    out = dict(conn.execute(sa.select(ua.c.user_id, ua.c.account).where(
        ua.c.provider == vendor, ua.c.user_id.in_(ids))).all())
    attribute = str(config.get("WORKMSG_USERID_ATTRIBUTE") or "").lower()
    if attribute in ("username", "email"):
        col = db.users.c[attribute]
        for uid, value in conn.execute(sa.select(db.users.c.id, col).where(db.users.c.id.in_(ids))):
            if uid not in out and value:
                out[uid] = str(value)
    return out


def link_account(conn: sa.Connection, user_id: int, vendor: str, account: str | None, *, now) -> None:
    """Link (or, with ``account`` None, unlink) the user's id in ``vendor``'s directory."""
    ua = db.user_accounts
    conn.execute(sa.delete(ua).where(ua.c.user_id == user_id, ua.c.provider == vendor))
    if account:
        conn.execute(sa.insert(ua).values(user_id=user_id, provider=vendor, account=account, updated_at=now))


def _text(jimu, label: Any) -> str:
    from engines.form import label_text
    return label_text(label, jimu.config.get("LANGUAGE") or "zh-CN", "") if label else ""


def _open_task(jimu, conn, p: Mapping[str, Any]):
    task_id = (p.get("variables") or {}).get("task_id")
    if task_id is None:
        return None
    from engines.errors import NotFound
    try:
        task = dict(jimu.services.flows.runtime(conn).task(int(task_id)))
    except (NotFound, TypeError, ValueError):
        return None
    return task if task["status"] == "open" else None


def _buttons(jimu, task: Mapping[str, Any], user_id: int) -> list[tuple[str, str]]:
    """``(text, link)`` per outcome of the task (or one ``complete``), signed for ``user_id``."""
    outcomes = [o for o in task.get("outcomes") or [] if o.get("key")] or [{"key": task_links.COMPLETE,
                                                                             "label": COMPLETE_LABEL}]
    return [(_text(jimu, o.get("label")) or o["key"], task_links.link(jimu, task["id"], user_id, o["key"]))
            for o in outcomes[:4]]


def _task_page(jimu, task) -> str:
    return f"{(jimu.config.get('BASE_URL') or '').rstrip('/')}/tasks/{task['id']}"


def wecom_message(jimu, m: Mapping[str, str], task=None, user_id=None, n: int = 0) -> dict:
    subject, body = m.get("subject", ""), m.get("body", "")
    if task is None:
        text = f"**{subject}**\n{body}" if subject else body
        return {"msgtype": "markdown", "markdown": {"content": text[:4096]}}
    card = {"card_type": "button_interaction", "source": {"desc": "Jimu"},
            "main_title": {"title": (subject or body)[:36], "desc": _text(jimu, task.get("label"))[:44]},
            "sub_title_text": body[:1000],
            "card_action": {"type": 1, "url": _task_page(jimu, task)},
            # unique per app and message: the vendor refuses a task_id it has seen
            "task_id": f"jimu-{task['id']}-{user_id}-{jimu.now().strftime('%Y%m%d%H%M%S')}-{n}",
            "button_list": [{"text": text[:10], "style": 1 if i == 0 else 2, "key": f"jimu_{i}", "type": 1,
                             "url": url} for i, (text, url) in enumerate(_buttons(jimu, task, user_id))]}
    return {"msgtype": "template_card", "template_card": card}


def dingtalk_message(jimu, m: Mapping[str, str], task=None, user_id=None, n: int = 0) -> dict:
    subject, body = m.get("subject", ""), m.get("body", "")
    text = f"### {subject}\n\n{body}" if subject else body
    if task is None:
        return {"msgtype": "markdown", "markdown": {"title": (subject or body)[:64], "text": text[:5000]}}
    buttons = [{"title": t[:20], "action_url": url} for t, url in _buttons(jimu, task, user_id)]
    buttons.append({"title": _text(jimu, VIEW_LABEL), "action_url": _task_page(jimu, task)})
    return {"msgtype": "action_card", "action_card": {"title": (subject or body)[:64], "markdown": text[:5000],
                                                      "btn_orientation": "1", "btn_json_list": buttons}}


def _deliver(vendor: str, build, jimu, conn, job) -> None:
    p = job.payload
    client = jimu.services.notifier.workmsg(vendor)
    audiences = messages.user_messages(jimu, conn, p)
    ids = vendor_ids(conn, jimu.config, vendor, [pr.user_id for principals, _ in audiences for pr in principals])
    task = _open_task(jimu, conn, p)
    may_act = jimu.services.flows.runtime(conn).may_act if task is not None else None
    calls: list[tuple[list[str], dict]] = []
    for principals, m in audiences:
        people = [pr for pr in principals if pr.user_id in ids]
        actors = [pr for pr in people if task is not None and may_act(pr, task)] if task is not None else []
        for pr in actors:  # a card of one's own: its buttons are signed for that person
            calls.append(([ids[pr.user_id]], build(jimu, m, task, pr.user_id, len(calls))))
        others = [ids[pr.user_id] for pr in people if pr not in actors]
        if others:
            calls.append((sorted(set(others)), build(jimu, m)))
    if not calls:
        raise messages.Undeliverable(f"none of the recipients has a {client.label} user id: link their accounts "
                                     "(jimu link-account) or set WORKMSG_USERID_ATTRIBUTE",
                                     code="workmsg.no_user_id", rule=p.get("rule"))
    for n, (userids, message) in enumerate(calls):
        key = job.idempotency_key if n == 0 else f"{job.idempotency_key}:{n}"
        if jobs.delivered(conn, key):
            continue  # acknowledged on an earlier attempt (one before a rate-limit answer)
        answer = client.send(userids, message)
        invalid = {u for u in str(answer.get("invaliduser") or "").split("|") if u}
        if invalid and invalid >= set(userids):
            raise VendorRefused(f"{client.label} does not know the user id(s) {', '.join(sorted(invalid))}; "
                                "correct the linked accounts", code="workmsg.unknown_user_id", vendor=vendor)
        jobs.mark_delivered(jimu, conn, key, f"{vendor}_app")


def send_wecom_job(jimu, conn, job) -> None:
    _deliver("wecom", wecom_message, jimu, conn, job)


def send_dingtalk_job(jimu, conn, job) -> None:
    _deliver("dingtalk", dingtalk_message, jimu, conn, job)


class _VendorChannel(Channel):
    """A work-message channel: it can send once its vendor's required settings are all set."""

    vendor: Any = None

    @classmethod
    def available(cls, config: Mapping[str, Any]) -> bool:
        return all(config.get(n) not in (None, "") for n in cls.vendor.required)


class WecomAppChannel(_VendorChannel):
    """A WeCom app message to each recipient (text/markdown; a task card for a task's assignee)."""

    type = "wecom_app"
    vendor = WeCom
    label = {"zh-CN": "企业微信应用消息", "en": "WeCom app message"}
    recipients = True
    order = 70
    job_kind = "notify.wecom_app"
    send = staticmethod(send_wecom_job)


class DingtalkAppChannel(_VendorChannel):
    """A DingTalk work notification (工作通知) to each recipient (markdown; an action card for a task's
    assignee)."""

    type = "dingtalk_app"
    vendor = DingTalk
    label = {"zh-CN": "钉钉工作通知", "en": "DingTalk work notification"}
    recipients = True
    order = 80
    job_kind = "notify.dingtalk_app"
    send = staticmethod(send_dingtalk_job)
