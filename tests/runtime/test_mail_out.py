"""Outgoing e-mail of a purchasing app (not a helpdesk): a rule mails a supplier with copies and files.

The supplier (an address held in a field) reads what people outside Jimu may read: the order's own
files and the linked contract's files, but not the contract's internal quote, which a role reading
contracts hides. Copies go to a typed address, an address held in a field and a user who may read
orders; a user who may not read orders gets nothing, named or by their address. The mail is marked
``Auto-Submitted: auto-generated`` (it answers no message) and a rule for e-mail refuses copies on a
webhook. Caught by a local SMTP server."""
from __future__ import annotations

import email
import io
from email import policy

import pytest

from engines.rule import RuleInvalid, compile_rule
from tests.conftest import install_package
from tests.runtime.cs_fixtures import run_jobs
from tests.runtime.rules_helpers import create


def _form(key, fields, title):
    return {"key": key, "version": 1, "label": key, "title_field": title,
            "fields": [{"key": k, "label": k, "widget": w, **({"config": c} if c else {})} for k, w, c in fields]}


CONTRACT = _form("合同", [("名称", "text", None), ("附件", "attachment", None), ("内部报价", "attachment", None)], "名称")
ORDER = _form("采购单", [("单号", "text", None), ("供应商邮箱", "email", None), ("抄送", "text", None),
                      ("合同", "link", {"form": "合同"}), ("附件", "attachment", None)], "单号")
MAIL = {"key": "mail_supplier", "version": 1, "label": "Mail the supplier", "form": "采购单",
        "trigger": {"type": "record_created"},
        "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["供应商邮箱"]},
                     "cc": {"emails": ["buyer@example.com", "nosy@example.com"], "email_fields": ["抄送"],
                            "users": ["lead", "nosy"]},
                     "attach": ["附件", "合同.附件", "合同.内部报价"],
                     "subject": "采购单 {单号}", "body": "请按合同 {合同} 发货。"}]}


def purchasing() -> dict:
    return {"format": "jimu.app", "version": 2, "app": {"key": "purchasing", "version": "1.0.0", "label": "采购"},
            "roles": [{"key": "buyer", "version": 1, "label": "Buyer",
                       "permissions": {"合同": ["read"], "采购单": ["read"]},
                       "fields": {"合同": {"内部报价": "hidden"}}},
                      {"key": "legal", "version": 1, "label": "Legal", "permissions": {"合同": ["read"]}}],
            "forms": [CONTRACT, ORDER], "rules": [MAIL]}


def _file(jimu, name, data, ctype="application/pdf"):
    with jimu.begin() as conn:
        return jimu.services.files.save(io.BytesIO(data), name, ctype, conn=conn, now=jimu.now())


def test_a_supplier_mail_carries_copies_and_the_files_outsiders_may_read(jimu, smtp, client, admin_headers):
    from runtime.auth.users import create_user, set_roles
    with jimu.begin() as conn:  # users named by the rule exist before it is installed
        lead = create_user(conn, "lead", "pw-123456", now=jimu.now(), email="lead@example.com")
        nosy = create_user(conn, "nosy", "pw-123456", now=jimu.now(), email="nosy@example.com")
    install_package(jimu, purchasing())
    with jimu.begin() as conn:
        set_roles(conn, lead, ["buyer"])
        set_roles(conn, nosy, ["legal"])  # reads contracts, not orders
    contract = create(jimu, "合同", {"名称": "2026 框架合同", "附件": [_file(jimu, "合同.pdf", b"%PDF contract")],
                                   "内部报价": [_file(jimu, "底价.xlsx", b"secret floor price",
                                                      "application/vnd.ms-excel")]})
    create(jimu, "采购单", {"单号": "PO-7", "供应商邮箱": "sales@supplier.example", "抄送": "ops@supplier.example",
                          "合同": contract["id"], "附件": [_file(jimu, "清单.csv", b"sku,qty\nA,3\n", "text/csv")]})
    # the builder's dry run says who would get a copy, before anything is sent
    dry = client.post("/api/v1/rules/dry-run", json={"rule": MAIL}, headers=admin_headers).json
    (effect,) = dry["records"][0]["effects"]
    assert effect["would_reach"] == ["sales@supplier.example"] and "buyer@example.com" in effect["would_copy"]
    run_jobs(jimu)
    ((rcpt, raw),) = smtp.messages
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["To"] == "sales@supplier.example"
    assert msg["Cc"] == "buyer@example.com, ops@supplier.example, lead@example.com"
    assert sorted(rcpt) == sorted(["sales@supplier.example", "buyer@example.com", "ops@supplier.example",
                                   "lead@example.com"])
    assert msg["Auto-Submitted"] == "auto-generated" and msg["In-Reply-To"] is None
    assert [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()] == [
        ("清单.csv", "sku,qty\nA,3\n"), ("合同.pdf", b"%PDF contract")]
    assert b"secret floor price" not in raw


def test_copies_and_files_are_for_e_mail_only():
    webhook = {**MAIL, "actions": [{"type": "notify", "channel": "webhook", "url": "https://hooks.example.com/x",
                                    "cc": {"emails": ["a@example.com"]}}]}
    with pytest.raises(RuleInvalid) as info:
        compile_rule(webhook)
    assert "cc, attach and auto_submitted are for e-mail" in str(info.value.errors)
