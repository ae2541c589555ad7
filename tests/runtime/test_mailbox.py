"""IMAP intake against a real Dovecot: the test starts its own unprivileged Dovecot on a free port (its
config, passwd-file and maildir in a temporary folder), drops messages into the maildir as a mail
server delivers them, and lets the worker's poll job (and ``jimu mail-fetch``) read the mailbox:
each message becomes one ticket or reply, once, is marked seen and moved to the processed folder;
a bounce becomes nothing; STARTTLS is verified against the server's certificate."""
from __future__ import annotations

import copy
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.runtime.cs_fixtures import install, load, records, run_jobs
from tests.runtime.test_intake import free_port
from tests.runtime.test_mail_channel import CUSTOMER, SUPPORT, dsn

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
PASSWORD = "s3cret-imap"

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="dovecot-imapd is not installed (.ci/run installs it)")


class Dovecot:
    def __init__(self, root: Path, port: int, user: str):
        self.root, self.port, self.user = root, port, user

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "support" / "Maildir"

    def deliver(self, msg: EmailMessage | bytes, name: str) -> None:
        """Put a message into INBOX as a delivery agent does (tmp/, then renamed into new/)."""
        raw = msg if isinstance(msg, bytes) else msg.as_bytes()
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        shutil.chown(tmp, self.user)
        tmp.rename(self.maildir / "new" / name)

    def imap(self) -> imaplib.IMAP4:
        m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login("support", PASSWORD)
        return m


def _certificate(root: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"),
                    "-out", str(root / "cert.pem")], check=True, capture_output=True)


@pytest.fixture
def dovecot():
    """A Dovecot of our own as an unprivileged user (``nobody`` when the tests run as root)."""
    user = pwd.getpwuid(os.getuid()).pw_name if os.getuid() else "nobody"
    entry = pwd.getpwnam(user)
    root = Path(tempfile.mkdtemp(prefix="jimu-dovecot-"))
    for sub in ("run", "state", "mail/support/Maildir/new", "mail/support/Maildir/cur", "mail/support/Maildir/tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _certificate(root)
    (root / "passwd").write_text(f"support:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {grp.getgrgid(entry.pw_gid).gr_name}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={entry.pw_uid} gid={entry.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    for path in [root, *root.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []} if os.getuid() == 0 else {}
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    server = Dovecot(root, port, user)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                if s.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            proc.kill()
            proc.wait()
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"dovecot did not start: {proc.stderr.read().decode()} {log}")
        time.sleep(0.1)
    yield server
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(root, ignore_errors=True)


def mailbox_package(port: int, security: str = "none") -> dict:
    pkg = copy.deepcopy(load())
    form = next(f for f in pkg["forms"] if f["key"] == "工单")
    shipped = form["intake"]["email"]["imap"]
    assert shipped["enabled"] is False  # the package declares its mailbox, off until it is configured
    form["intake"]["email"]["imap"] = {**shipped, "enabled": True, "host": "127.0.0.1", "port": port,
                                       "security": security, "user": "support"}
    return pkg


@pytest.fixture
def imap_desk(jimu, dovecot, monkeypatch):
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setitem(jimu.config, "IMAP_PASSWORDS", {"工单": PASSWORD})
    install(jimu, package=mailbox_package(dovecot.port))
    return dovecot


def mail(subject: str, body: str, **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"张三 <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((subject, body)))}@example.com>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def poll(jimu):
    """Run the worker's mailbox poll now, as the worker does when it is due."""
    from runtime import mailbox
    with jimu.begin() as conn:
        mailbox.schedule(jimu, conn)
    run_jobs(jimu, rounds=1)


def test_the_worker_takes_each_message_of_the_mailbox_once(jimu, imap_desk, smtp, client, admin_headers):
    imap_desk.deliver(mail("打印机卡纸", "三楼打印机一直卡纸。"), "1.host")
    imap_desk.deliver(dsn("<nothing-we-sent@example.com>", CUSTOMER), "2.host")
    imap_desk.deliver(mail("", "没有标题的来信"), "2b.host")  # the form requires a title: refused, logged
    poll(jimu)
    (t,) = records(jimu, "工单")
    assert (t["标题"], t["邮箱"], t["问题渠道"]) == ("打印机卡纸", CUSTOMER, "邮件")
    assert [e["data"]["reason"] for e in client.get("/api/v1/audit?kind=mail.bounced",
                                                     headers=admin_headers).get_json()["events"]] == \
        ["multipart/report; report-type=delivery-status"]
    # taken messages are marked seen at once; a reply with the number arrives; the next poll takes only it
    with imap_desk.imap() as m:
        m.select("INBOX")
        assert m.uid("SEARCH", "SEEN")[1][0].split() == m.uid("SEARCH", "ALL")[1][0].split() != []
    imap_desk.deliver(mail(f"Re: [{t['工单编号']}] 打印机卡纸", "换了硒鼓还是卡。"), "3.host")
    from runtime import jobs
    with jimu.begin() as conn:  # the next poll was queued by the first one; run it now
        import sqlalchemy as sa
        from runtime import db
        conn.execute(sa.update(db.jobs).where(db.jobs.c.kind == "mail.fetch", db.jobs.c.status == jobs.PENDING)
                     .values(run_at=jimu.now()))
    run_jobs(jimu, rounds=1)
    assert len(records(jimu, "工单")) == 1
    assert [r["内容"] for r in records(jimu, "回复", 工单=t["id"]) if r["来自"] == "客户"] == ["换了硒鼓还是卡。"]
    # what the first poll took was moved to the processed folder by the second one, once committed
    with imap_desk.imap() as m:
        m.select('"Jimu.&XfJZBHQG-"')  # Jimu/已处理 in IMAP's modified UTF-7, Dovecot's maildir delimiter
        assert len(m.uid("SEARCH", "ALL")[1][0].split()) == 3
        m.select("INBOX")
        assert len(m.uid("SEARCH", "ALL")[1][0].split()) == 1
    # polling again takes nothing twice; the refused message was logged once, with the form's error
    poll(jimu)
    (refused,) = client.get("/api/v1/audit?kind=mail.refused", headers=admin_headers).get_json()["events"]
    assert refused["form_key"] == "工单" and refused["data"]["code"] == "record.invalid"
    assert len(records(jimu, "工单")) == 1 and len(records(jimu, "回复", 工单=t["id"])) >= 1
    assert len([r for r in records(jimu, "回复", 工单=t["id"]) if r["来自"] == "客户"]) == 1
    run_jobs(jimu)
    assert not [rcpt for rcpt, _ in smtp.messages if any("mailer-daemon" in r.lower() for r in rcpt)]


def inquiries(port: int) -> dict:
    """A small sales app (not a helpdesk) whose inquiries come from a mailbox over verified STARTTLS."""
    form = {"key": "询价", "version": 1, "label": "询价", "title_field": "主题",
            "fields": [{"key": "主题", "label": "主题", "widget": "text", "required": True},
                       {"key": "内容", "label": "内容", "widget": "textarea"},
                       {"key": "来信人", "label": "来信人", "widget": "email"}],
            "intake": {"email": {"fields": {"主题": "subject", "内容": "text", "来信人": "from_address"},
                                 "imap": {"host": "127.0.0.1", "port": port, "security": "starttls",
                                          "user": "support"}}}}
    return {"format": "jimu.app", "version": 2, "app": {"key": "sales", "version": "1.0.0", "label": "销售"},
            "forms": [form]}


def test_starttls_is_verified_and_a_wrong_password_is_logged_with_the_fix(jimu, dovecot, monkeypatch, runner,
                                                                          client, admin_headers):
    from tests.conftest import install_package
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.root / "cert.pem"))  # trust the test server's certificate
    install_package(jimu, inquiries(dovecot.port))
    dovecot.deliver(mail("报价：A4 纸 200 箱", "请报含税价。"), "1.host")
    monkeypatch.setitem(jimu.config, "IMAP_PASSWORDS", {"询价": "wrong"})
    poll(jimu)
    poll(jimu)  # the same error is logged once
    events = client.get("/api/v1/audit?kind=mail.fetch_failed", headers=admin_headers).get_json()["events"]
    assert [(e["form_key"], e["data"]["code"]) for e in events] == [("询价", "mail.imap_login")]
    assert "JIMU_IMAP_PASSWORDS" in events[0]["data"]["message"]
    assert records(jimu, "询价") == []
    monkeypatch.setitem(jimu.config, "IMAP_PASSWORDS", {"询价": PASSWORD})
    result = runner.invoke(args=["mail-fetch"])
    assert result.exit_code == 0, result.output
    assert "询价: 1 taken" in result.output
    assert [(r["主题"], r["来信人"]) for r in records(jimu, "询价")] == [("报价：A4 纸 200 箱", CUSTOMER)]
