"""E-mail intake from an existing mailbox over IMAP (beside the SMTP intake of ``jimu mail-intake``).

A form whose ``intake.email`` has an ``imap`` block names its mailbox: ``host``, ``port`` (993 for
``"security": "tls"``, else 143), ``security`` (``tls``, ``starttls`` or ``none``), ``user``,
``folder`` (INBOX) and ``move_to`` (a folder taken messages are moved to, ``/`` between levels
whatever the server's delimiter; unset, they stay, marked seen); ``"enabled": false`` keeps the
settings without polling (a package can ship its mailbox so). The password is a deployment secret,
never in the package: the ``IMAP_PASSWORDS`` setting (``JIMU_IMAP_PASSWORDS='{"<form>": "<password>"}'``).
The host is checked like every outbound call (a private address only if ``OUTBOUND_ALLOWLIST``
allows it).

A ``mail.fetch`` job polls every such mailbox each ``MAIL_POLL_SECONDS`` (60); the job queues its
own next run, and ``jimu worker``/``jimu serve`` queue the first one. Each poll takes the messages
whose UID is above the last one taken (``jimu_mailboxes``: the mailbox's UIDVALIDITY and last UID,
written in the job's transaction with the records the messages became), at most ``MAIL_FETCH_BATCH``
(50) a poll, oldest first, and hands each to the intake (``runtime.intake.deliver_email``: bounces
and automatic replies are logged, not recorded). A message the intake refuses is logged
(``mail.refused``) and not taken again. Messages are marked ``\\Seen`` when taken and moved to
``move_to`` on the next poll, once the records they became are committed, so a crash between the two
loses no message. A mailbox whose UIDVALIDITY changed is read again from its start; a Message-ID
already taken is not taken twice. A mailbox that cannot be reached is logged once per distinct error
(``mail.fetch_failed``, with the fix) and tried again on the next poll.
"""
from __future__ import annotations

import imaplib
import logging
import math
import re
import socket
import ssl
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engines.errors import JimuError

from . import db, jobs
from .audit import record_event
from .intake import deliver_email, parse_message

log = logging.getLogger(__name__)

JOB_KIND = "mail.fetch"
POLL = timedelta(seconds=60)
BATCH = 50
TIMEOUT = 30


class MailboxError(JimuError):
    code = "mail.fetch_failed"


def mailbox_forms(catalog) -> list:
    """The installed forms whose e-mail intake reads an IMAP mailbox (``imap`` given and not ``"enabled": false``)."""
    out = []
    for ft in catalog:
        imap = ((ft.spec.definition.get("intake") or {}).get("email") or {}).get("imap")
        if imap and imap.get("enabled", True):
            out.append(ft)
    return out


def _poll_every(jimu) -> timedelta:
    seconds = jimu.config.get("MAIL_POLL_SECONDS")
    return timedelta(seconds=max(float(seconds), 5)) if seconds else POLL


def schedule(jimu, conn: sa.Connection, after: datetime | None = None) -> bool:
    """Queue the next poll: the next slot of the ``MAIL_POLL_SECONDS`` grid after ``after`` (the poll
    that ran) and not before now. The slot is the job's key, so workers starting while a poll is
    queued add none, and an overdue chain does not catch up poll by poll."""
    every = _poll_every(jimu).total_seconds()
    now = jimu.now()
    slot = math.ceil(now.timestamp() / every)
    if after is not None:
        slot = max(slot, int(after.timestamp() // every) + 1)
    at = datetime.fromtimestamp(slot * every, timezone.utc)
    return jobs.enqueue(conn, JOB_KIND, {"at": at.isoformat()}, run_at=at, key=f"{JOB_KIND}:{slot}", now=now,
                        max_attempts=3)


class _Client:
    """imaplib's client connected to the address the outbound guard checked (no second DNS look-up),
    with TLS verified against the configured host name."""

    def __init__(self, host: str, port: int, address: str, security: str, timeout: float):
        context = ssl.create_default_context()
        sock_for = lambda: socket.create_connection((address, port), timeout)  # noqa: E731

        if security == "tls":
            class Conn(imaplib.IMAP4_SSL):
                def _create_socket(self, _timeout):
                    return self.ssl_context.wrap_socket(sock_for(), server_hostname=self.host)
            self.imap = Conn(host, port, ssl_context=context, timeout=timeout)
        else:
            class Conn(imaplib.IMAP4):  # type: ignore[no-redef]
                def _create_socket(self, _timeout):
                    return sock_for()
            self.imap = Conn(host, port, timeout=timeout)
            if security == "starttls":
                self.imap.starttls(ssl_context=context)

    def __getattr__(self, name):
        return getattr(self.imap, name)


def _ok(answer, what: str):
    typ, data = answer
    if typ != "OK":
        raise MailboxError(f"the IMAP server refused {what}: {data!r}"[:300], code="mail.imap_refused")
    return data


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): ``Jimu/已处理`` → ``Jimu/&XfJZBHQG-``."""
    import base64
    out, run = [], []

    def flush():
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def _quote(folder: str) -> str:
    folder = imap_utf7(folder)
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(jimu, ft) -> _Client:
    """Log in to the form's mailbox; a coded error that says the fix when it cannot."""
    from .notify import resolve_checked
    cfg = ft.spec.definition["intake"]["email"]["imap"]
    password = (jimu.config.get("IMAP_PASSWORDS") or {}).get(ft.key)
    if not password:
        raise MailboxError(f"form {ft.key!r} reads mailbox {cfg['user']}@{cfg['host']} but has no password: set "
                           f"JIMU_IMAP_PASSWORDS='{{\"{ft.key}\": \"…\"}}'", code="mail.no_password", form=ft.key)
    security = cfg.get("security", "tls")
    port = int(cfg.get("port") or (993 if security == "tls" else 143))
    address = resolve_checked(cfg["host"], port, jimu.services.notifier.allowlist)
    timeout = float(jimu.config.get("MAIL_TIMEOUT") or TIMEOUT)
    client = _Client(cfg["host"], port, address, security, timeout)
    try:
        _ok(client.login(cfg["user"], password), f"the login of {cfg['user']}")
    except imaplib.IMAP4.error as exc:
        client.logout()
        raise MailboxError(f"the IMAP server refused the login of {cfg['user']}: {exc}; check the user and "
                           "JIMU_IMAP_PASSWORDS", code="mail.imap_login", form=ft.key) from None
    return client


def _uidvalidity(client, folder: str) -> int:
    data = _ok(client.status(_quote(folder), "(UIDVALIDITY)"), f"the status of {folder}")
    found = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
    return int(found.group(1)) if found else 0


def _uids(client, criterion: str) -> list[int]:
    data = _ok(client.uid("SEARCH", criterion), "a search")
    return sorted(int(u) for u in (data[0] or b"").split())


def _move(client, uids: list[int], folder: str) -> None:
    """Move the messages ``uids`` to ``folder`` (created if missing): MOVE where the server has it."""
    if not uids:
        return
    typ, data = client.list('""', '""')  # the server's hierarchy delimiter: move_to writes it as /
    found = re.match(rb'\(.*?\) "(.)"', data[0] or b"") if typ == "OK" and data and data[0] else None
    if found and found.group(1) != b"/":
        folder = folder.replace("/", found.group(1).decode())
    client.create(_quote(folder))  # an existing folder answers NO: fine
    ranges = ",".join(str(u) for u in uids)
    if "MOVE" in client.capabilities:
        _ok(client.uid("MOVE", ranges, _quote(folder)), f"moving messages to {folder}")
        return
    _ok(client.uid("COPY", ranges, _quote(folder)), f"copying messages to {folder}")
    _ok(client.uid("STORE", ranges, "+FLAGS.SILENT", "(\\Deleted)"), "marking moved messages deleted")
    client.expunge()


def fetch(jimu, conn: sa.Connection, ft) -> dict[str, int]:
    """Take the new messages of the form's mailbox (see the module docstring); returns counts."""
    cfg = ft.spec.definition["intake"]["email"]["imap"]
    folder = cfg.get("folder") or "INBOX"
    batch = int(jimu.config.get("MAIL_FETCH_BATCH") or BATCH)
    t = db.mailboxes
    state = conn.execute(sa.select(t).where(t.c.form_key == ft.key)).mappings().first()
    if state is None:
        conn.execute(sa.insert(t).values(form_key=ft.key, uidvalidity=None, last_uid=0))
        state = {"uidvalidity": None, "last_uid": 0, "last_error": None}
    counts = {"taken": 0, "moved": 0}
    client = connect(jimu, ft)
    try:
        validity = _uidvalidity(client, folder)
        last = int(state["last_uid"] or 0) if state["uidvalidity"] == validity else 0
        _ok(client.select(_quote(folder)), f"folder {folder}")
        if cfg.get("move_to") and last:  # taken and committed by an earlier poll
            done = [u for u in _uids(client, f"UID 1:{last}") if u <= last]
            _move(client, done, cfg["move_to"])
            counts["moved"] = len(done)
        new = [u for u in _uids(client, f"UID {last + 1}:*") if u > last][:batch]
        for uid in new:
            data = _ok(client.uid("FETCH", str(uid), "(BODY.PEEK[])"), f"message {uid}")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if raw is not None:
                _take(jimu, conn, ft, uid, raw)
            last = uid
            counts["taken"] += 1
        if new:
            _ok(client.uid("STORE", ",".join(map(str, new)), "+FLAGS.SILENT", "(\\Seen)"), "marking messages seen")
        conn.execute(sa.update(t).where(t.c.form_key == ft.key).values(
            uidvalidity=validity, last_uid=last, checked_at=jimu.now(), last_error=None))
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return counts


def _take(jimu, conn, ft, uid: int, raw: bytes) -> None:
    """One message through the intake in a savepoint: a message it refuses is logged and skipped."""
    try:
        with conn.begin_nested():
            deliver_email(jimu, conn, parse_message(raw), form_key=ft.key)
    except JimuError as exc:
        record_event(conn, "mail.refused", at=jimu.now(), form_key=ft.key,
                     data={"uid": uid, "code": exc.code, "message": exc.message[:300]})


def fetch_job(jimu, conn: sa.Connection, job) -> None:
    """Poll every mailbox, then queue the next poll. A mailbox that fails is logged (once per distinct
    error) and tried again next time; the others are read regardless."""
    schedule(jimu, conn, datetime.fromisoformat(job.payload["at"]) if job.payload.get("at") else None)
    for ft in mailbox_forms(jimu.catalog):
        try:
            with conn.begin_nested():
                fetch(jimu, conn, ft)
        except (OSError, imaplib.IMAP4.error, JimuError) as exc:
            failed(jimu, conn, ft, exc)


def failed(jimu, conn: sa.Connection, ft, exc: Exception) -> None:
    message = exc.message if isinstance(exc, JimuError) else f"{type(exc).__name__}: {exc}"
    message = message[:500]
    log.warning("mailbox of form %s: %s", ft.key, message)
    t = db.mailboxes
    before = conn.execute(sa.select(t.c.last_error).where(t.c.form_key == ft.key)).first()
    if before is None:
        conn.execute(sa.insert(t).values(form_key=ft.key, last_uid=0, checked_at=jimu.now(), last_error=message))
    else:
        conn.execute(sa.update(t).where(t.c.form_key == ft.key).values(checked_at=jimu.now(), last_error=message))
    if before is None or before[0] != message:
        record_event(conn, "mail.fetch_failed", at=jimu.now(), form_key=ft.key,
                     data={"code": getattr(exc, "code", "mail.fetch_failed"), "message": message})


JOB_HANDLERS = {JOB_KIND: fetch_job}
