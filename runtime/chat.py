"""Live chat: visitors on the app's web sites talk with its users, as a form's ``chat`` block says.

A conversation is a record of the form that declares ``chat``; each message is a record of
``chat.messages.form`` linked to it through ``messages.link_field`` (so the record page's related
lists, reports, rules and the audit log see them as any other records). A message is written and
committed first and only then pushed (``Hub.changed``), so a reload, a lost socket or a restarted
worker loses nothing: every reader asks the database from its cursor (the last message id it has),
and a reader that waits is woken by a write in its own process or looks again every
``POLL_SLICE`` seconds for the writes of other processes.

Who is who:

* a **visitor** has no account: starting a chat gives a signed token naming the conversation
  (``visitor_token``), kept by the widget in the host page's storage; it reads and writes that one
  conversation only. Browsers reach the chat API from the origins in ``chat.origins`` (CORS); a
  request from any other origin is refused (``OriginRefused``);
* a **user** answers in the console when the one permission policy lets them read and update
  conversations and read and create messages (``may_answer``); the conversations they see are those
  their row scope allows.

A message's side is its author: a record created by a user is the staff's, one created without a user
is the visitor's. Hand-over creates a record of ``chat.handover.form`` (the work to do) with the
user's permissions and links the conversation to it (``handover.link_field``).
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer

from engines.errors import Conflict, JimuError, NotFound, PermissionDenied

from . import db
from .auth import policy
from .auth.principal import ANONYMOUS, Principal
from .exceptions import NotAuthenticated

SALT = "jimu.chat-visitor"
#: seconds a waiting reader sleeps before it looks at the database again (writes of other processes)
POLL_SLICE = 1.0
#: longest wait of one long poll (a proxy's idle timeout is usually 60 s)
MAX_WAIT = 25
#: messages are also re-sent when newer than this: a message whose id was taken before a lower one
#: committed (PostgreSQL sequences) still reaches a reader whose cursor passed it; readers drop repeats
OVERLAP = timedelta(seconds=30)
MAX_TEXT = 4000
#: readers one conversation (a visitor) or one user may keep waiting at a time: a page, and a reload of it
HELD_EACH = 2
#: readers a process keeps waiting at most unless ``CHAT_MAX_HELD`` says otherwise (each holds a thread)
MAX_HELD = 100
MAX_MESSAGES = 500
#: messages a conversation's visitor may send per hour unless ``chat.message_limit`` says otherwise
MESSAGE_LIMIT = 120


class NoChat(NotFound):
    code = "chat.not_enabled"


class OriginRefused(PermissionDenied):
    code = "chat.origin_refused"


class BadVisitorToken(NotAuthenticated):
    code = "chat.bad_token"


class ChatClosed(Conflict):
    code = "chat.closed"


class NoHandover(NotFound):
    code = "chat.no_handover"


class EmptyMessage(JimuError):
    code = "chat.empty_message"


class ChatRateLimited(JimuError):
    code = "chat.rate_limited"
    status = 429


@dataclass(frozen=True)
class ChatConfig:
    """A form's ``chat`` block, read once per request."""
    form: str
    block: Mapping[str, Any]

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(self.block.get("origins") or ())

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.block.get("fields") or ())

    @property
    def messages(self) -> Mapping[str, Any]:
        return self.block["messages"]

    @property
    def status(self) -> Mapping[str, Any] | None:
        return self.block.get("status")

    def part(self, name: str) -> Mapping[str, Any] | None:
        return self.block.get(name)


def config(catalog, form: str) -> ChatConfig:
    """The chat settings of ``form``; ``NoChat`` when it has none (or does not exist)."""
    if form not in catalog:
        raise NoChat(f"form {form!r} does not exist", form=form)
    block = catalog.form(form).spec.definition.get("chat")
    if not block:
        raise NoChat(f"form {form!r} has no live chat; add a chat block to its definition", form=form)
    return ChatConfig(form, block)


def chat_forms(catalog) -> list[ChatConfig]:
    return [ChatConfig(ft.key, ft.spec.definition["chat"]) for ft in catalog if ft.spec.definition.get("chat")]


# -- who may do what -----------------------------------------------------------------------
def check_origin(cfg: ChatConfig, origin: str | None, own: str) -> None:
    """A browser request from a page of another origin than Jimu's own must come from one of the
    form's ``chat.origins``; requests without an Origin (servers, same-origin reads) pass."""
    if not origin or origin == own or origin in cfg.origins:
        return
    raise OriginRefused(f"the chat of {cfg.form!r} does not run on {origin}; add that origin to the form's "
                        "chat.origins", origin=origin)


def may_answer(principal: Principal, cfg: ChatConfig) -> bool:
    """Whether ``principal`` may work in the console: read and update conversations, read and create
    messages (update alone, a role made for a rule or an import, opened the console on a queue it
    could not read)."""
    return principal.is_authenticated and all(policy.can(principal, verb, form) for verb, form in (
        ("read", cfg.form), ("update", cfg.form), ("read", cfg.messages["form"]), ("create", cfg.messages["form"])))


def require_answer(principal: Principal, cfg: ChatConfig) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated("sign in to answer chats")
    if not may_answer(principal, cfg):
        raise PermissionDenied(f"your roles do not let you answer the chats of {cfg.form!r} (they need read and "
                               f"update on {cfg.form!r} and create and read on {cfg.messages['form']!r})",
                               code="chat.console_denied")


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def visitor_token(secret: str, form: str, rid: int) -> str:
    return _serializer(secret).dumps([form, int(rid)])


def read_visitor(secret: str, token: str | None, form: str) -> int:
    """The conversation id a visitor's token names; ``BadVisitorToken`` for a missing, altered or
    other form's token."""
    if not token:
        raise BadVisitorToken("send the conversation's token (X-Chat-Token) the chat start answered")
    try:
        named, rid = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise BadVisitorToken("this chat token is not valid; start a new chat") from None
    if named != form:
        raise BadVisitorToken("this chat token belongs to another chat")
    return int(rid)


# -- the push ------------------------------------------------------------------------------
class Hub:
    """Wakes the readers of this process when a chat message is committed here. Readers in other
    processes notice it at their next look at the database (``POLL_SLICE``).

    It also counts the readers held waiting (long polls, sockets): each holds a thread and reads the
    database every ``POLL_SLICE``, so ``holding`` admits at most ``HELD_EACH`` per conversation or user
    and ``most`` in all; a reader refused answers at once (a poll) instead of waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 0
        self._held: dict[Any, int] = {}
        self._total = 0

    @contextmanager
    def holding(self, who: Any, most: int) -> Iterator[bool]:
        """Whether ``who`` (a conversation, a user) may wait now; the place is kept until the end."""
        with self._cond:
            ok = self._total < most and self._held.get(who, 0) < HELD_EACH
            if ok:
                self._held[who] = self._held.get(who, 0) + 1
                self._total += 1
        try:
            yield ok
        finally:
            if ok:
                with self._cond:
                    self._total -= 1
                    self._held[who] -= 1
                    if not self._held[who]:
                        del self._held[who]

    def changed(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            if self.version == seen:
                self._cond.wait(timeout)
            return self.version


def wait_for(hub: Hub, fetch: Callable[[], Any], wait: float, ready: Callable[[Any], bool]) -> Any:
    """``fetch()`` until ``ready`` of its answer or ``wait`` seconds passed; between looks the reader
    sleeps until a write of this process or ``POLL_SLICE``. No connection is held while waiting."""
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        seen = hub.version
        answer = fetch()
        left = deadline - time.monotonic()
        if ready(answer) or left <= 0:
            return answer
        hub.wait(seen, min(POLL_SLICE, left))


# -- reading ------------------------------------------------------------------------------
def _names(conn: sa.Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(sa.select(db.users.c.id, db.users.c.display_name, db.users.c.username)
                        .where(db.users.c.id.in_(sorted(ids))))
    return {r.id: r.display_name or r.username for r in rows}


def messages(jimu, conn: sa.Connection, cfg: ChatConfig, conversations: sa.ColumnElement | list[int],
             after: int = 0) -> list[dict]:
    """The messages of ``conversations`` (ids, or a condition on the conversation form's table) with
    an id above ``after`` — and those of the last ``OVERLAP`` — oldest first."""
    mf = jimu.catalog.form(cfg.messages["form"])
    link = mf.columns[cfg.messages["link_field"]]
    text = mf.columns[cfg.messages["text_field"]]
    t = mf.table
    if isinstance(conversations, list):
        belongs = link.in_(conversations) if conversations else sa.false()
    else:
        cf = jimu.catalog.form(cfg.form)
        belongs = link.in_(sa.select(cf.table.c.id).where(conversations))
    new = t.c.id > after
    fresh = sa.or_(new, t.c.created_at >= jimu.now() - OVERLAP) if after else new
    # the messages past the cursor before the repeats: repeats alone filling MAX_MESSAGES (a busy half
    # minute) would otherwise keep the cursor where it is and hide every new message
    order = (sa.case((new, 0), else_=1), t.c.id) if after else (t.c.id,)
    rows = sorted(conn.execute(sa.select(t.c.id, link.label("conversation"), text.label("text"), t.c.created_at,
                                         t.c.created_by).where(belongs, fresh).order_by(*order)
                               .limit(MAX_MESSAGES)).all(), key=lambda r: r.id)
    names = _names(conn, {r.created_by for r in rows if r.created_by is not None})
    return [{"id": r.id, "conversation": r.conversation, "text": r.text or "",
             "from": "visitor" if r.created_by is None else "staff",
             "author": names.get(r.created_by) if r.created_by is not None else None,
             "at": r.created_at.isoformat() if r.created_at else None} for r in rows]


def cursor(found: list[dict], after: int) -> int:
    return max([after, *[m["id"] for m in found]])


def conversation_json(cfg: ChatConfig, record: Mapping[str, Any], ft) -> dict:
    status = cfg.status
    out = {"id": record["id"], "title": record.get(ft.spec.definition.get("title_field") or "") or None,
           "fields": {k: record.get(k) for k in cfg.fields if k in record},
           "created_at": record["created_at"].isoformat() if record.get("created_at") else None,
           "open": True}
    if status:
        out["status"] = record.get(status["field"])
        out["open"] = record.get(status["field"]) != status.get("closed")
    assignee = cfg.part("assignee_field")
    if assignee:
        out["assignee"] = record.get(assignee)
    handover = cfg.part("handover")
    if handover:
        out["handover"] = record.get(handover["link_field"])
    return out


def _open_clause(cfg: ChatConfig, ft) -> sa.ColumnElement | None:
    status = cfg.status
    if not status:
        return None
    col = ft.columns[status["field"]]
    return sa.or_(col.is_(None), col != status["closed"]) if status.get("closed") is not None else None


def queue(records, cfg: ChatConfig, limit: int = 200) -> list[dict]:
    """The open conversations the records' principal may read, newest activity first."""
    ft = records.form(cfg.form)
    policy.require(records.principal, "read", cfg.form)
    where = [c for c in (_open_clause(cfg, ft), policy.row_filter(records.principal, ft)) if c is not None]
    rows, _ = records.store.select(ft, where=sa.and_(*where) if where else None, limit=limit)
    return [conversation_json(cfg, policy.redact(records.principal, cfg.form, r), ft) for r in rows]


def visible_clause(records, cfg: ChatConfig) -> sa.ColumnElement:
    """The conversations the principal may read (for the console's stream of messages)."""
    ft = records.form(cfg.form)
    clauses = [c for c in (_open_clause(cfg, ft), policy.row_filter(records.principal, ft)) if c is not None]
    return sa.and_(*clauses) if clauses else sa.true()


# -- writing ------------------------------------------------------------------------------
def _text(text: Any) -> str:
    text = (text if isinstance(text, str) else "").strip()
    if not text:
        raise EmptyMessage("write a message first", field="text")
    if len(text) > MAX_TEXT:
        raise EmptyMessage(f"a message holds at most {MAX_TEXT} characters", field="text", code="chat.too_long")
    return text


def start(jimu, conn: sa.Connection, cfg: ChatConfig, values: Mapping[str, Any]) -> dict:
    """A new conversation with the visitor's values of ``chat.fields`` (anything else is dropped), each
    at most ``MAX_TEXT`` characters (as JSON when not text): a field without its own ``max_length``
    would otherwise keep whatever a request carries."""
    data = {k: values[k] for k in cfg.fields if values.get(k) not in (None, "")}
    for key, value in data.items():
        if len(value if isinstance(value, str) else json.dumps(value, default=str)) > MAX_TEXT:
            raise EmptyMessage(f"{key} holds at most {MAX_TEXT} characters", field=key, code="chat.too_long")
    if cfg.status:
        data[cfg.status["field"]] = cfg.status["open"]
    records = jimu.services.records(jimu, conn, ANONYMOUS, source="chat", check_permissions=False)
    return records.create(cfg.form, data)


def _conversation(conn, jimu, cfg: ChatConfig, rid: int) -> dict:
    from .store import RecordStore
    from .store.records import RecordNotFound
    try:
        return RecordStore(conn).get(jimu.catalog.form(cfg.form), rid)
    except RecordNotFound:
        raise NotFound("this chat does not exist (any more); start a new one", code="chat.not_found") from None


def visitor_conversation(jimu, conn, cfg: ChatConfig, rid: int) -> dict:
    """What the visitor may know of their conversation: whether it is open and what they gave
    (not who answers it, nor the record it was handed over to)."""
    ft = jimu.catalog.form(cfg.form)
    full = conversation_json(cfg, _conversation(conn, jimu, cfg, rid), ft)
    return {k: full[k] for k in ("id", "open", "status", "fields", "created_at") if k in full}


def _check_flood(jimu, conn: sa.Connection, cfg: ChatConfig, rid: int) -> None:
    """Refuse a visitor's message when their conversation holds ``chat.message_limit`` visitor messages
    of the last hour: the token is the visitor's only credential, and without a bound one token writes
    records without end (the per-address ``rate_limit`` bounds only how many chats are started)."""
    mf = jimu.catalog.form(cfg.messages["form"])
    limit = int(cfg.block.get("message_limit") or MESSAGE_LIMIT)
    t = mf.table
    sent = conn.execute(sa.select(sa.func.count()).select_from(t).where(
        mf.columns[cfg.messages["link_field"]] == rid, t.c.created_by.is_(None),
        t.c.created_at >= jimu.now() - timedelta(hours=1))).scalar()
    if sent >= limit:
        raise ChatRateLimited(f"this chat takes at most {limit} messages an hour; wait a little or start a new chat",
                              limit=limit)


def post(jimu, conn: sa.Connection, cfg: ChatConfig, rid: int, text: Any, principal: Principal | None = None) -> dict:
    """Store one message in conversation ``rid``: the visitor's (``principal`` None) or a user's, who
    must be able to answer it (``require_answer``, the conversation inside their row scope). A closed
    conversation takes no more messages."""
    text = _text(text)
    ft = jimu.catalog.form(cfg.form)
    m = cfg.messages
    if principal is None:
        record = _conversation(conn, jimu, cfg, rid)
        _check_flood(jimu, conn, cfg, rid)
        records = jimu.services.records(jimu, conn, ANONYMOUS, source="chat", check_permissions=False)
    else:
        require_answer(principal, cfg)
        records = jimu.services.records(jimu, conn, principal, source="chat")
        record = records.get(cfg.form, rid)   # row scope: another's chat is a 404
    status = cfg.status
    if status and status.get("closed") is not None and record.get(status["field"]) == status["closed"]:
        raise ChatClosed("this chat has ended; start a new one")
    made = records.create(m["form"], {m["link_field"]: rid, m["text_field"]: text})
    assignee = cfg.part("assignee_field")
    if principal is not None and assignee and not record.get(assignee) and principal.user_id \
            and assignee not in policy.field_access(principal, cfg.form):   # a field they may not write stays
        records.update(cfg.form, rid, {assignee: principal.user_id})
    return {"id": made["id"], "conversation": rid, "text": text,
            "from": "visitor" if principal is None else "staff",
            "author": principal.display_name or principal.username if principal else None,
            "at": made["created_at"].isoformat() if made.get("created_at") else None}


def close(jimu, conn, principal: Principal, cfg: ChatConfig, rid: int) -> dict:
    require_answer(principal, cfg)
    status = cfg.status
    if not status or status.get("closed") is None:
        raise NotFound(f"the chat of {cfg.form!r} has no status.closed value to end it with", code="chat.no_status")
    records = jimu.services.records(jimu, conn, principal, source="chat")
    after = records.update(cfg.form, rid, {status["field"]: status["closed"]})
    return conversation_json(cfg, after, records.form(cfg.form))


def transcript(jimu, conn, cfg: ChatConfig, rid: int) -> str:
    lines = []
    for msg in messages(jimu, conn, cfg, [rid]):
        who = msg["author"] or "visitor"
        lines.append(f"[{(msg['at'] or '')[:16].replace('T', ' ')}] {who}: {msg['text']}")
    return "\n".join(lines)


def handover(jimu, conn, principal: Principal, cfg: ChatConfig, rid: int) -> dict:
    """A record of ``handover.form`` made from conversation ``rid`` (its fields copied as
    ``handover.fields`` says, ``"transcript"`` giving the messages as text), written with the user's
    permissions, and the conversation linked to it. A conversation already handed over answers its
    record again."""
    spec = cfg.part("handover")
    if not spec:
        raise NoHandover(f"the chat of {cfg.form!r} has no handover block", form=cfg.form)
    require_answer(principal, cfg)
    records = jimu.services.records(jimu, conn, principal, source="chat")
    record = records.get(cfg.form, rid)
    if record.get(spec["link_field"]):
        return {"form": spec["form"], "id": record[spec["link_field"]], "created": False}
    values = dict(spec.get("defaults") or {})
    for target, source in (spec.get("fields") or {}).items():
        value = transcript(jimu, conn, cfg, rid) if source == "transcript" else record.get(source)
        if value not in (None, ""):
            values[target] = value
    made = records.create(spec["form"], values)
    records.update(cfg.form, rid, {spec["link_field"]: made["id"]})
    return {"form": spec["form"], "id": made["id"], "created": True}


def snippets(records, cfg: ChatConfig, q: str = "", limit: int = 20) -> list[dict]:
    """Reply templates and articles (``chat.templates`` / ``chat.articles``) the user may read, found
    by ``q``: what the console inserts into a reply (``runtime.snippets``)."""
    from .snippets import find
    sources = [{**cfg.part(kind), "kind": kind[:-1]} for kind in ("templates", "articles") if cfg.part(kind)]
    return find(records, sources, q, limit)
