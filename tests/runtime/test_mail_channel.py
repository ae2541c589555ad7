"""The mail channel of the shipped customer-service package, spoken to as a mail server would: real SMTP
conversations with the intake (aiosmtpd), what Jimu sends caught by a local SMTP server.

Bounces and automatic replies are never answered and never become tickets or customer replies (on
the old intake a bounce opened a ticket that Jimu acknowledged to MAILER-DAEMON, and an
out-of-office became a customer reply); outgoing mail is threaded (Message-ID, In-Reply-To,
References), marked Auto-Submitted where it is automatic, keeps the customer's CC and carries
files both ways; a reply is matched by its threading headers before the number in its subject."""
from __future__ import annotations

import email
import smtplib
from email import policy
from email.message import EmailMessage

import pytest

from tests.runtime.cs_fixtures import install, records, reply, run_jobs
from tests.runtime.rules_helpers import get
from tests.runtime.test_intake import free_port

SUPPORT = "support@example.com"
CUSTOMER = "zhang.san@example.com"


@pytest.fixture
def mailbox(jimu, app, smtp):
    """The package installed with its staff; the SMTP intake listening; yields the intake's port."""
    from runtime.intake import start_smtp
    install(jimu)
    port = free_port()
    controller = start_smtp(app, "127.0.0.1", port)
    yield port
    controller.stop()


def deliver(port: int, msg: EmailMessage | bytes, *, sender: str | None = None) -> None:
    """Hand a message to the SMTP intake on ``port``; ``sender`` is the envelope's MAIL FROM ("" is the
    null sender <>; by default the message's From)."""
    raw = msg if isinstance(msg, bytes) else msg.as_bytes()
    if sender is None:
        sender = email.utils.parseaddr(str(email.message_from_bytes(raw, policy=policy.default)["From"]))[1]
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail(sender, [SUPPORT], raw)


def customer_mail(subject: str, body: str, *, cc: str | None = None, attachment: bytes | None = None,
                  headers: dict | None = None, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"张三 <{CUSTOMER}>"
    msg["To"] = SUPPORT
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment:
        msg.add_attachment(attachment, maintype="image", subtype="png", filename="截图.png")
    return msg


def sent(smtp, to: str | None = None) -> list[EmailMessage]:
    """What Jimu sent (to ``to`` among its recipients), parsed."""
    return [email.message_from_bytes(raw, policy=policy.default) for rcpt, raw in smtp.messages
            if to is None or to in rcpt]


def audit(client, headers, kind: str) -> list[dict]:
    return client.get(f"/api/v1/audit?kind={kind}", headers=headers).get_json()["events"]


def dsn(original_id: str, recipient: str) -> bytes:
    """A delivery-status report (RFC 3464) as Postfix sends it for an undeliverable message."""
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {SUPPORT}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: <20261102101500.ABC123@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--BOUND
Content-Type: text/rfc822-headers

From: desk@example.com
To: {recipient}
Subject: =?utf-8?b?5bey5Y+X55CG?=
Message-ID: {original_id}

--BOUND--
""".replace("\n", "\r\n").encode()


AUTOMATIC = [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"), ("X-Autorespond", "Out of office"),
             ("Precedence", "bulk")]


def test_bounces_and_out_of_office_replies_are_logged_never_answered_never_records(jimu, mailbox, smtp, client,
                                                                                  admin_headers):
    deliver(mailbox, customer_mail("发票抬头开错了", "请重开发票。"))
    (t,) = records(jimu, "工单")
    run_jobs(jimu)
    (ack,) = sent(smtp, CUSTOMER)
    # the customer's server bounces the acknowledgement: a delivery-status report from MAILER-DAEMON, null sender
    deliver(mailbox, dsn(ack["Message-ID"], CUSTOMER), sender="")
    # a postmaster's plain-text notice, and a bounce whose only sign is the envelope's null sender
    notice = EmailMessage()
    notice["From"], notice["To"], notice["Subject"] = "postmaster@mail.example.org", SUPPORT, "Delivery failure"
    notice.set_content("Your message to someone@nowhere.example could not be delivered.")
    deliver(mailbox, notice, sender="postmaster@mail.example.org")
    del notice["From"]
    notice["From"] = "Mail System <mailer@relay.example.org>"
    deliver(mailbox, notice, sender="")
    run_jobs(jimu)
    assert [r["id"] for r in records(jimu, "工单")] == [t["id"]]
    assert len(smtp.messages) == 1 and not sent(smtp, "MAILER-DAEMON@mx.example.net")
    events = sorted(audit(client, admin_headers, "mail.bounced"), key=lambda e: e["id"])
    assert [(e["form_key"], e["record_id"], e["data"]["reason"]) for e in events] == [
        ("工单", t["id"], "multipart/report; report-type=delivery-status"),
        ("工单", None, "From: postmaster@mail.example.org"), ("工单", None, "null sender <>")]
    assert events[0]["data"]["failed"][0]["recipient"] == CUSTOMER
    assert events[0]["data"]["failed"][0]["status"] == "5.1.1"
    # the bounce about the ticket is on the ticket for its people to see: a system's internal note
    (note,) = [r for r in records(jimu, "回复", 工单=t["id"]) if "could not be delivered" in (r["内容"] or "")]
    assert (note["来自"], note["类型"]) == ("系统", "内部备注")
    # an agent answers; the customer's out-of-office (in each of its usual marks) is not a customer reply
    reply(jimu, t["id"], "请提供原发票号")
    run_jobs(jimu)
    assert get(jimu, "工单", t["id"])["状态"] == "等待客户回复"
    (answer,) = [m for m in sent(smtp, CUSTOMER) if m["Subject"].startswith("Re:")]
    before = len(smtp.messages)
    for name, value in AUTOMATIC:
        deliver(mailbox, customer_mail(f"自动回复: {answer['Subject']}", "我正在休假，10 月 8 日返回。",
                                       headers={name: value, "In-Reply-To": answer["Message-ID"]}))
    run_jobs(jimu)
    assert [r["来自"] for r in records(jimu, "回复", 工单=t["id"])].count("客户") == 0
    notes = [r["内容"] for r in records(jimu, "回复", 工单=t["id"]) if r["来自"] == "系统"]
    assert notes.count("我正在休假，10 月 8 日返回。") == len(AUTOMATIC)
    assert get(jimu, "工单", t["id"])["状态"] == "等待客户回复"
    assert len(records(jimu, "工单")) == 1 and len(smtp.messages) == before
    events = sorted(audit(client, admin_headers, "mail.automatic"), key=lambda e: e["id"])
    assert [(e["record_id"], e["data"]["reason"].split(":")[0]) for e in events] == [
        (t["id"], name) for name, _ in AUTOMATIC]


def test_mail_is_threaded_keeps_cc_and_carries_files_both_ways(jimu, mailbox, smtp):
    first = customer_mail("申请退款进度查询", "您好，退款一周还没到账。", cc="李四 <li.si@example.com>, boss@example.com",
                          attachment=b"\x89PNG first")
    deliver(mailbox, first)
    (t,) = records(jimu, "工单")
    assert t["抄送"] == "li.si@example.com, boss@example.com" and t["附件"][0]["name"] == "截图.png"
    run_jobs(jimu)
    # the acknowledgement answers the first mail: threaded on it, automatic, copied to the customer's CC
    (ack,) = sent(smtp, CUSTOMER)
    assert ack["In-Reply-To"] == first["Message-ID"] and ack["References"] == first["Message-ID"]
    assert ack["Auto-Submitted"] == "auto-replied" and ack["Message-ID"].endswith("@example.com>")
    assert ack["Cc"] == "li.si@example.com, boss@example.com"
    assert set(smtp.messages[0][0]) == {CUSTOMER, "li.si@example.com", "boss@example.com"}
    # an agent's public reply with a file is mailed with it, as a person's words (no Auto-Submitted)
    import io
    from tests.runtime.rules_helpers import create
    with jimu.begin() as conn:
        ref = jimu.services.files.save(io.BytesIO(b"%PDF-1.4 refund form"), "退款申请表.pdf", "application/pdf",
                                       conn=conn, now=jimu.now())
    create(jimu, "回复", {"工单": t["id"], "来自": "客服", "类型": "公开回复", "内容": "请填写附件中的退款申请表",
                        "附件": [ref]})
    run_jobs(jimu)
    (answer,) = [m for m in sent(smtp, CUSTOMER) if m["Subject"].startswith("Re:")]
    assert answer["Auto-Submitted"] is None and answer["Cc"] == "li.si@example.com, boss@example.com"
    assert answer["In-Reply-To"] == first["Message-ID"]
    assert answer["References"].split() == [first["Message-ID"], ack["Message-ID"]]
    (pdf,) = list(answer.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content_type(), pdf.get_content()) == \
        ("退款申请表.pdf", "application/pdf", b"%PDF-1.4 refund form")
    # the customer answers from a client that rewrote the subject: the In-Reply-To finds the ticket
    again = customer_mail("回复：退款", "表已填好，见附件。", attachment=b"\x89PNG form",
                          headers={"In-Reply-To": answer["Message-ID"],
                                   "References": f"{first['Message-ID']} {answer['Message-ID']}"})
    deliver(mailbox, again)
    assert len(records(jimu, "工单")) == 1
    (customer_reply,) = [r for r in records(jimu, "回复", 工单=t["id"]) if r["来自"] == "客户"]
    assert customer_reply["内容"] == "表已填好，见附件。" and customer_reply["附件"][0]["name"] == "截图.png"
    assert get(jimu, "工单", t["id"])["状态"] == "处理中"
    # the same message delivered twice (a retrying server) is taken once
    deliver(mailbox, again)
    assert len([r for r in records(jimu, "回复", 工单=t["id"]) if r["来自"] == "客户"]) == 1
    # a second ticket; replying to its mail, the customer quotes the first ticket's number in the subject:
    # the threading headers win over the number
    deliver(mailbox, customer_mail("第二个问题", "B"))
    two = max(records(jimu, "工单"), key=lambda r: r["id"])
    run_jobs(jimu)
    ack_two = next(m for m in sent(smtp, CUSTOMER) if two["工单编号"] in m["Subject"])
    deliver(mailbox, customer_mail(f"Re: 关于 {t['工单编号']} 和这个", "补充说明",
                                   headers={"In-Reply-To": ack_two["Message-ID"]}))
    assert [r["内容"] for r in records(jimu, "回复", 工单=two["id"]) if r["来自"] == "客户"] == ["补充说明"]
    # defence in depth: a ticket typed in with MAILER-DAEMON as its address gets no acknowledgement
    from tests.runtime.cs_fixtures import ticket
    before = len(smtp.messages)
    ticket(jimu, 邮箱="MAILER-DAEMON@mx.example.net")
    run_jobs(jimu)
    assert len(smtp.messages) == before


def test_what_counts_as_automatic_mail():
    """``Auto-Submitted: no`` is a person writing; a read receipt is automatic; a bounce is one whatever
    its other headers say."""
    from runtime.intake import parse_message
    person = customer_mail("你好", "正文", headers={"Auto-Submitted": "no"})
    assert parse_message(person.as_bytes(), sender=CUSTOMER)["automatic"] is None
    assert parse_message(person.as_bytes(), sender="")["automatic"] == ("bounce", "null sender <>")
    receipt = person.as_bytes().replace(b"Auto-Submitted: no", b"Auto-Submitted: auto-generated")
    assert parse_message(receipt)["automatic"] == ("automatic", "Auto-Submitted: auto-generated")
    returned = parse_message(dsn("<a@b.example>", CUSTOMER))
    assert returned["automatic"][0] == "bounce" and returned["attachments"] == []
    assert returned["bounce"] == {"original_message_id": "<a@b.example>", "failed": [
        {"recipient": CUSTOMER, "action": "failed", "status": "5.1.1",
         "diagnostic": f"smtp; 550 5.1.1 <{CUSTOMER}>: Recipient address rejected: User unknown"}]}
