"""Channels in: a real SMTP conversation with the intake creates a ticket and a reply whose
subject carries its number is added to it; a JSON webhook creates tickets by pointer mapping."""
import smtplib
import socket
from email.message import EmailMessage

import pytest

from tests.conftest import install_package
from tests.test_customer_service import load


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def intake(app):
    from runtime.intake import start_smtp
    port = free_port()
    controller = start_smtp(app, "127.0.0.1", port)
    yield port
    controller.stop()


def send(port, subject, body, attachment=None):
    msg = EmailMessage()
    msg["From"] = "张三 <Zhang.San@example.com>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg.set_content(body)
    if attachment:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="发票.pdf")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(msg)


def test_mail_opens_a_ticket_and_a_reply_joins_it(jimu, client, admin_headers, intake):
    install_package(jimu, load())
    send(intake, "发票抬头开错了", "您好，上月发票抬头写错，请重开。", attachment=b"%PDF-1.4 test")
    tickets = client.get("/api/v1/forms/工单/records", headers=admin_headers).get_json()["records"]
    assert len(tickets) == 1
    t = tickets[0]
    assert (t["标题"], t["客户姓名"], t["邮箱"], t["问题渠道"]) == ("发票抬头开错了", "张三", "zhang.san@example.com", "邮件")
    assert "发票抬头写错" in t["问题详细描述"] and t["附件"][0]["name"] == "发票.pdf"
    send(intake, f"Re: [{t['工单编号']}] 发票抬头开错了", "补充：税号是 91310000XXXX。")
    assert client.get("/api/v1/forms/工单/records", headers=admin_headers).get_json()["total"] == 1
    replies = client.get("/api/v1/forms/回复/records", headers=admin_headers).get_json()["records"]
    assert [(r["工单"], r["来自"], r["内容"]) for r in replies if r["来自"] == "客户"] == [
        (t["id"], "客户", "补充：税号是 91310000XXXX。")]
    assert [r["来自"] for r in replies if r["来自"] != "客户"] == ["系统"]  # the flow's automatic acceptance
    send(intake, "Re: [GD-19990101-9999] 不存在的单号", "这封应开新单")
    assert client.get("/api/v1/forms/工单/records", headers=admin_headers).get_json()["total"] == 2


def test_webhook_maps_json_pointers(jimu, client, admin_headers):
    install_package(jimu, load())
    doc = {"title": "小程序下单失败", "content": "点击支付没反应", "user": {"nickname": "微信用户A", "phone": "13800138000"}}
    resp = client.post("/api/v1/hooks/工单", json=doc, headers=admin_headers)
    assert resp.status_code == 201, resp.get_json()
    t = resp.get_json()
    assert (t["标题"], t["客户姓名"], t["联系电话"], t["问题渠道"], t["问题类型"]) == \
        ("小程序下单失败", "微信用户A", "13800138000", "微信", "产品咨询")
    assert client.post("/api/v1/hooks/工单", json=doc).status_code == 401
    assert client.post("/api/v1/hooks/回复", json=doc, headers=admin_headers).status_code == 404
    bad = client.post("/api/v1/hooks/工单", json={"user": {}}, headers=admin_headers)
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["error"]["errors"]} >= {"标题", "客户姓名"}


def test_pointer_resolution():
    from runtime.intake import resolve_pointer
    doc = {"a": [{"b~c": 1, "d/e": 2}]}
    assert resolve_pointer(doc, "/a/0/b~0c") == 1 and resolve_pointer(doc, "/a/0/d~1e") == 2
    assert resolve_pointer(doc, "/a/5") is None and resolve_pointer(doc, "/x/y") is None
