"""Work messages to a person on WeCom and DingTalk (issue 20), on a purchase-approval package.

A local HTTP server speaks both vendors' documented shapes: WeCom ``cgi-bin/gettoken`` and
``cgi-bin/message/send`` (text/markdown/template_card with agentid), DingTalk ``gettoken``,
``v1.0/oauth2/accessToken`` and ``topapi/message/corpconversation/asyncsend_v2`` (agent_id,
userid_list, msg with markdown/action_card), including expired tokens (42001, 40014) and rate-limit
answers (WeCom 45009, DingTalk 90018, HTTP 429). A task card's buttons complete the task once through
the signed link; a replay, another user, a forged or an expired link change nothing."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import sqlalchemy as sa

from runtime import db, jobs, task_links
from runtime.auth.users import set_roles
from runtime.rules.workmsg import link_account
from tests.conftest import install_package, make_user
from tests.runtime.flow_fixtures import e, n
from tests.runtime.purchase_package import purchase_package
from tests.runtime.rules_helpers import create


class Vendors:
    """WeCom and DingTalk as their server APIs document them; ``busy`` and ``expire`` script the next
    answers of the send APIs."""

    def __init__(self):
        self.sent = {"wecom": [], "dingtalk": []}
        self.token_calls = {"wecom": 0, "dingtalk": 0, "dingtalk_v1": 0}
        self.valid = set()
        self.busy = {"wecom": [], "dingtalk": []}  # answers to give before accepting a message
        outer = self

        class H(BaseHTTPRequestHandler):
            def _answer(self, payload, status=200):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _token(self, vendor):
                outer.token_calls[vendor] += 1
                token = f"{vendor}-token-{outer.token_calls[vendor]}"
                outer.valid.add(token)
                return token

            def do_GET(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/cgi-bin/gettoken":
                    if (q.get("corpid"), q.get("corpsecret")) != ("ww-corp", "wecom-secret"):
                        return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
                    return self._answer({"errcode": 0, "errmsg": "ok", "access_token": self._token("wecom"),
                                         "expires_in": 7200})
                if url.path == "/gettoken":
                    if (q.get("appkey"), q.get("appsecret")) != ("ding-key", "ding-secret"):
                        return self._answer({"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"})
                    return self._answer({"errcode": 0, "errmsg": "ok", "access_token": self._token("dingtalk"),
                                         "expires_in": 7200})
                self._answer({"errcode": 404}, 404)

            def do_POST(self):
                url = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if url.path == "/v1.0/oauth2/accessToken":
                    if body != {"appKey": "ding-key", "appSecret": "ding-secret"}:
                        return self._answer({"code": "invalidClientId", "message": "bad"}, 400)
                    outer.token_calls["dingtalk_v1"] += 1
                    token = f"dingtalk-v1-token-{outer.token_calls['dingtalk_v1']}"
                    outer.valid.add(token)
                    return self._answer({"accessToken": token, "expireIn": 7200})
                vendor = {"/cgi-bin/message/send": "wecom",
                          "/topapi/message/corpconversation/asyncsend_v2": "dingtalk"}.get(url.path)
                if vendor is None:
                    return self._answer({"errcode": 404}, 404)
                if q.get("access_token") not in outer.valid:
                    return self._answer({"errcode": 42001 if vendor == "wecom" else 40014,
                                         "errmsg": "access_token expired" if vendor == "wecom" else
                                         "不合法的access_token"})
                if outer.busy[vendor]:
                    status, payload = outer.busy[vendor].pop(0)
                    return self._answer(payload, status)
                if vendor == "wecom":
                    assert isinstance(body["agentid"], int) and body["touser"]
                    assert body["msgtype"] in ("text", "markdown", "template_card") and body["msgtype"] in body
                    outer.sent["wecom"].append(body)
                    return self._answer({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "msg-1",
                                         "response_code": "rc-1"})
                assert isinstance(body["agent_id"], int) and body["userid_list"]
                assert body["msg"]["msgtype"] in ("markdown", "action_card") and body["msg"]["msgtype"] in body["msg"]
                outer.sent["dingtalk"].append(body)
                return self._answer({"errcode": 0, "errmsg": "ok", "task_id": 256271667526, "request_id": "r1"})

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def expire_all(self):
        self.valid.clear()


@pytest.fixture
def vendors(jimu, monkeypatch):
    v = Vendors()
    for key, value in {"OUTBOUND_ALLOWLIST": "127.0.0.1", "BASE_URL": "http://jimu.test",
                       "WECOM_API_BASE": v.url, "WECOM_CORP_ID": "ww-corp", "WECOM_CORP_SECRET": "wecom-secret",
                       "WECOM_AGENT_ID": "1000002", "DINGTALK_API_BASE": v.url, "DINGTALK_API_V1_BASE": v.url,
                       "DINGTALK_APP_KEY": "ding-key", "DINGTALK_APP_SECRET": "ding-secret",
                       "DINGTALK_AGENT_ID": "2000003"}.items():
        monkeypatch.setitem(jimu.config, key, value)
    yield v
    v.server.shutdown()


def approval_flow(channels):
    return {"key": "approval", "version": 1, "form": "采购申请", "label": "Approval",
            "nodes": [n("s", "start"),
                      n("manager", "approval", label={"zh-CN": "经理审批", "en": "Manager approval"},
                        assignee={"kind": "user", "value": "mgr"}, notify={"channels": channels}),
                      n("end", "end")],
            "edges": [e("s", "manager"), e("manager", "end")]}


def notice_rule(channel):
    return {"key": "told", "version": 1, "label": "Told", "form": "采购申请", "trigger": {"type": "record_created"},
            "actions": [{"type": "notify", "channel": channel, "to": {"users": ["mgr", "clerk"]},
                         "subject": "新采购申请 {物品}", "body": "合计 {合计} 元"}]}


def setup(jimu, *, rules=(), flows=()):
    """Users mgr (approver, WeCom ZhangSan / DingTalk 0123), clerk (a buyer, linked too) and nolink (a
    buyer without accounts); the purchase package with ``rules`` and ``flows``."""
    ids = {u: make_user(jimu, u) for u in ("mgr", "clerk", "nolink")}
    install_package(jimu, purchase_package(rules=rules, flows=flows))
    with jimu.begin() as conn:
        for u in ids.values():
            set_roles(conn, u, ["buyer"])
        link_account(conn, ids["mgr"], "wecom", "ZhangSan", now=jimu.now())
        link_account(conn, ids["mgr"], "dingtalk", "0123", now=jimu.now())
        link_account(conn, ids["clerk"], "wecom", "LiSi", now=jimu.now())
        link_account(conn, ids["clerk"], "dingtalk", "0456", now=jimu.now())
    return ids


def drain(jimu):
    total = 0
    for _ in range(10):
        ran = jobs.run_due(jimu)
        total += ran
        if not ran:
            return total
    return total


def job_rows(jimu, kind):
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == kind)).mappings()]


# -- messages to a person ---------------------------------------------------------------------------
def test_a_wecom_message_reaches_the_mapped_user_ids_with_a_cached_token(jimu, vendors):
    setup(jimu, rules=[notice_rule("wecom_app")])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    create(jimu, "采购申请", {"物品": "键盘", "单价": 50, "数量": 1})
    drain(jimu)
    sent = vendors.sent["wecom"]
    assert [m["touser"] for m in sent] == ["LiSi|ZhangSan", "LiSi|ZhangSan"]
    assert sent[0]["agentid"] == 1000002 and sent[0]["msgtype"] == "markdown"
    assert "新采购申请 显示器" in sent[0]["markdown"]["content"] and "200" in sent[0]["markdown"]["content"]
    assert vendors.token_calls["wecom"] == 1  # cached between the two messages


def test_an_expired_wecom_token_is_fetched_again_and_the_message_sent(jimu, vendors):
    setup(jimu, rules=[notice_rule("wecom_app")])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    vendors.expire_all()  # WeCom ends tokens early: the next call answers 42001
    create(jimu, "采购申请", {"物品": "键盘", "单价": 50, "数量": 1})
    drain(jimu)
    assert vendors.token_calls["wecom"] == 2 and len(vendors.sent["wecom"]) == 2
    assert all(j["status"] == "done" for j in job_rows(jimu, "notify.wecom_app"))


def test_a_dingtalk_work_notification_with_an_expired_token_and_a_rate_limit(jimu, vendors, clock):
    setup(jimu, rules=[notice_rule("dingtalk_app")])
    vendors.busy["dingtalk"] = [(200, {"errcode": 90018, "errmsg": "调用频率超过限制"}), (429, {})]
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    (job,) = job_rows(jimu, "notify.dingtalk_app")
    assert job["status"] == "pending" and "rate limit" in job["last_error"]  # no sleep: the queue retries later
    assert vendors.sent["dingtalk"] == []
    vendors.expire_all()  # and meanwhile the token expired (40014)
    clock.advance(minutes=10)
    drain(jimu)
    (job,) = job_rows(jimu, "notify.dingtalk_app")
    assert job["status"] == "pending" and "429" in job["last_error"]
    clock.advance(minutes=30)
    drain(jimu)
    (job,) = job_rows(jimu, "notify.dingtalk_app")
    assert job["status"] == "done"
    (msg,) = vendors.sent["dingtalk"]
    assert msg["agent_id"] == 2000003 and sorted(msg["userid_list"].split(",")) == ["0123", "0456"]
    assert msg["msg"]["msgtype"] == "markdown" and "显示器" in msg["msg"]["markdown"]["text"]
    assert vendors.token_calls["dingtalk"] == 2


def test_the_dingtalk_v1_token_api_and_a_wecom_rate_limit(jimu, vendors, clock, monkeypatch):
    monkeypatch.setitem(jimu.config, "DINGTALK_TOKEN_API", "v1")
    setup(jimu, rules=[notice_rule("dingtalk_app"), {**notice_rule("wecom_app"), "key": "told2"}])
    vendors.busy["wecom"] = [(200, {"errcode": 45009, "errmsg": "api freq out of limit"})]
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    assert vendors.token_calls["dingtalk_v1"] == 1 and vendors.token_calls["dingtalk"] == 0
    assert len(vendors.sent["dingtalk"]) == 1 and vendors.sent["wecom"] == []
    (job,) = job_rows(jimu, "notify.wecom_app")
    assert job["status"] == "pending" and "45009" in job["last_error"]
    clock.advance(minutes=10)
    drain(jimu)
    assert len(vendors.sent["wecom"]) == 1 and len(vendors.sent["dingtalk"]) == 1  # sent once each


def test_nobody_mapped_fails_at_once_with_a_code_that_says_the_fix(jimu, vendors):
    setup(jimu, rules=[{**notice_rule("wecom_app"), "actions": [
        {"type": "notify", "channel": "wecom_app", "to": {"users": ["nolink"]}, "subject": "x", "body": "y"}]}])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    (job,) = job_rows(jimu, "notify.wecom_app")
    assert job["status"] == "failed" and "workmsg.no_user_id" in job["last_error"]
    assert vendors.sent["wecom"] == []


def test_a_user_attribute_maps_users_without_a_linked_account(jimu, vendors, monkeypatch):
    monkeypatch.setitem(jimu.config, "WORKMSG_USERID_ATTRIBUTE", "username")
    setup(jimu, rules=[{**notice_rule("wecom_app"), "actions": [
        {"type": "notify", "channel": "wecom_app", "to": {"users": ["nolink", "mgr"]}, "body": "y"}]}])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    assert [m["touser"] for m in vendors.sent["wecom"]] == ["ZhangSan|nolink"]


# -- task cards ---------------------------------------------------------------------------------------
def _card_links(vendors, vendor):
    if vendor == "wecom":
        (card,) = [m for m in vendors.sent["wecom"] if m["msgtype"] == "template_card"]
        tc = card["template_card"]
        assert tc["card_type"] == "button_interaction" and card["touser"] == "ZhangSan" and tc["task_id"]
        return {b["text"]: b["url"] for b in tc["button_list"]}
    (card,) = [m for m in vendors.sent["dingtalk"] if m["msg"]["msgtype"] == "action_card"]
    assert card["userid_list"] == "0123"
    return {b["title"]: b["action_url"] for b in card["msg"]["action_card"]["btn_json_list"]}


def _confirm(client, url, comment):
    """Open the button's page and confirm with a comment; returns (answer, the page's form token)."""
    path = urlsplit(url).path
    page = client.get(path)
    assert page.status_code == 200, page.data
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": csrf, "comment": comment}), csrf


def events(jimu, kind):
    with jimu.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.events).where(db.events.c.kind == kind)).scalar()


def _task(jimu, ids):
    from runtime.flows.tables import flow_tasks
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(flow_tasks).order_by(flow_tasks.c.id)).mappings()]


@pytest.mark.parametrize("vendor", ["wecom", "dingtalk"])
def test_a_task_card_approves_once_with_a_comment(jimu, vendors, client, vendor):
    ids = setup(jimu, flows=[approval_flow([f"{vendor}_app"])])
    rec = create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    buttons = _card_links(vendors, vendor)
    assert len(buttons) >= 2  # the approval's outcomes (approve, reject)
    (task,) = _task(jimu, ids)
    approve = next(url for url in buttons.values() if "/t/" in url
                   and task_links.read(jimu, unquote(urlsplit(url).path[3:])).action == task["outcomes"][0]["key"])
    assert approve.startswith("http://jimu.test/t/")
    r, csrf = _confirm(client, approve, "同意采购")
    assert r.status_code == 200 and 'id="done"' in r.get_data(as_text=True)
    (task,) = _task(jimu, ids)
    assert task["status"] == "completed" and task["comment"] == "同意采购"
    assert task["outcome"] == task["outcomes"][0]["key"]
    # the same link again: the page says it was done, and a replayed confirmation changes nothing
    page = client.get(urlsplit(approve).path)
    assert page.status_code == 200 and 'id="already"' in page.get_data(as_text=True)
    again = client.post(urlsplit(approve).path, data={"csrf_token": csrf, "comment": "再批一次"})
    assert again.status_code == 409 and 'id="already"' in again.get_data(as_text=True)
    (task,) = _task(jimu, ids)
    assert task["comment"] == "同意采购" and events(jimu, "task_link.used") == 1


def test_a_replayed_post_a_non_assignee_a_forged_and_an_expired_link_change_nothing(jimu, vendors, client, clock):
    ids = setup(jimu, flows=[approval_flow(["wecom_app"])])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    (task,) = _task(jimu, ids)
    reject = task["outcomes"][-1]["key"]
    # a link signed for clerk (a buyer, not the assignee) is refused by the task page's own check
    other = task_links.link(jimu, task["id"], ids["clerk"], reject)
    r, _ = _confirm(client, other, "我来驳回")
    assert r.status_code == 403 and 'data-code="flow.not_assignee"' in r.get_data(as_text=True)
    assert _task(jimu, ids)[0]["status"] == "open"
    # a forged link (the signature of another payload) and an altered one are not found
    good = task_links.sign(jimu, task["id"], ids["mgr"], reject)
    forged = task_links.sign(jimu, task["id"], ids["clerk"], reject).split(".")[0] + "." + good.split(".")[1]
    assert client.get(f"/t/{forged}").status_code == 404
    assert client.get(f"/t/{good[:-2]}xx").status_code == 404
    # an expired link is refused
    clock.advance(days=8)
    assert client.get(f"/t/{good}").status_code == 403
    clock.advance(days=-8)
    r, csrf = _confirm(client, f"http://jimu.test/t/{good}", "预算不足")
    assert r.status_code == 200
    task = _task(jimu, ids)[0]
    assert task["status"] == "completed" and task["outcome"] == reject
    # the same POST once more (a replayed callback): 409, nothing changed
    r = client.post(f"/t/{good}", data={"csrf_token": csrf, "comment": "再来一次"})
    assert r.status_code == 409
    assert _task(jimu, ids)[0]["comment"] == "预算不足" and events(jimu, "task_link.used") == 1


def test_task_cards_go_only_when_the_vendor_is_configured(jimu, vendors, monkeypatch):
    monkeypatch.setitem(jimu.config, "WECOM_CORP_SECRET", "")
    setup(jimu, flows=[approval_flow(["wecom_app"])])
    create(jimu, "采购申请", {"物品": "显示器", "单价": 100, "数量": 2})
    drain(jimu)
    assert job_rows(jimu, "notify.wecom_app") == [] and vendors.sent["wecom"] == []
