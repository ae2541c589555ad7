"""The live chat's HTTP API (``runtime.chat``): the visitor's side, called by the widget from the
app's web sites (CORS for the form's ``chat.origins``), and the console's side for signed-in users.

Visitor: ``GET /chat/<form>/settings``, ``POST /chat/<form>/conversations`` (start: answers the
conversation's token), then with ``X-Chat-Token``: ``GET /chat/<form>/mine`` and ``POST
/chat/<form>/mine/messages``. Console: ``GET /chat/<form>/queue``, ``GET
/chat/<form>/conversations/<id>/messages``, ``POST /chat/<form>/messages`` (one text to one or
several conversations), ``POST .../handover``, ``POST .../close``, ``GET /chat/<form>/snippets``.

Reads take ``after`` (the last message id the caller has) and ``wait`` (seconds to hold the answer
until something newer arrives: a long poll). A server that runs one request per process at a time
(gunicorn's sync workers) never holds a request: ``wait`` is then 0 and the caller polls.
The WebSocket (``runtime.ui.chat``) pushes the very answers these reads give.
"""
from __future__ import annotations

from flask import jsonify, request

from .. import chat
from ..auth import current_principal
from ..context import current_jimu
from ..security import allow_cors
from . import bp
from .util import MAX_INT, BadRequest, int_arg, json_body, query_args, whole

TOKEN = "X-Chat-Token"
VISITOR_METHODS = ["OPTIONS"]


def _own_origin() -> str:
    return request.host_url.rstrip("/")


def visitor_config(form: str) -> chat.ChatConfig:
    """The form's chat for a visitor's request: its origins may read the answer; another origin is
    refused."""
    jimu = current_jimu()
    with jimu.read():
        cfg = chat.config(jimu.catalog, form)
    allow_cors(cfg.origins)
    chat.check_origin(cfg, request.headers.get("Origin"), _own_origin())
    return cfg


def _preflight():
    return "", 204


def may_wait() -> bool:
    """Whether this server may hold a request open (threads, or an async worker)."""
    env = request.environ
    return bool(env.get("wsgi.multithread")) or current_jimu().config.get("CHAT_LONG_POLL") is True


def _wait() -> float:
    wait = int_arg("wait", 0, lo=0, hi=chat.MAX_WAIT)
    return wait if may_wait() else 0


def held(jimu, who):
    """A place among the readers this process keeps waiting (``chat.Hub.holding``); ``CHAT_MAX_HELD``
    (default ``chat.MAX_HELD``) should stay below the server's threads per process."""
    return jimu.services.chat.holding(who, int(jimu.config.get("CHAT_MAX_HELD") or chat.MAX_HELD))


def visitor_state(jimu, cfg: chat.ChatConfig, rid: int, after: int) -> dict:
    with jimu.read() as conn:
        conversation = chat.visitor_conversation(jimu, conn, cfg, rid)
        found = chat.messages(jimu, conn, cfg, [rid], after)
    return {"conversation": conversation, "messages": found, "cursor": chat.cursor(found, after)}


def queue_state(jimu, principal, cfg: chat.ChatConfig, after: int) -> dict:
    with jimu.read() as conn:
        records = jimu.services.records(jimu, conn, principal, source="chat")
        conversations = chat.queue(records, cfg)
        found = chat.messages(jimu, conn, cfg, chat.visible_clause(records, cfg), after) if after else []
    return {"conversations": conversations, "messages": found, "cursor": chat.cursor(found, after) if after
            else _last_id(jimu, cfg)}


def _last_id(jimu, cfg: chat.ChatConfig) -> int:
    import sqlalchemy as sa
    mf = jimu.catalog.form(cfg.messages["form"])
    with jimu.read() as conn:
        return conn.execute(sa.select(sa.func.max(mf.table.c.id))).scalar() or 0


def _new(after: int):
    return lambda answer: any(m["id"] > after for m in answer["messages"])


def settings_json(jimu, cfg: chat.ChatConfig) -> dict:
    from ..i18n import current_language, label
    ft = jimu.catalog.form(cfg.form)
    fields = []
    for key in cfg.fields:
        f = ft.spec.field(key)
        fields.append({"key": key, "label": label(f.label), "required": f.required,
                       "type": "email" if f.definition.get("widget") == "email" else "text"})
    return {"form": cfg.form, "title": label(cfg.block.get("title") or ft.spec.label),
            "greeting": label(cfg.block.get("greeting") or ""), "fields": fields, "language": current_language(),
            "socket": socket_url(cfg.form), "text": widget_text(cfg.block)}


def socket_url(form: str) -> str | None:
    """The WebSocket address of ``form``'s chat, or None when this server cannot hold sockets."""
    from flask import current_app, url_for
    if "chat.socket" not in current_app.extensions.get("jimu.chat", ()) or not may_wait():
        return None
    url = url_for("chat_socket", form=form, _external=True)
    return "ws" + url[4:] if url.startswith("http") else url


def widget_text(block: dict) -> dict:
    """The widget's texts in the request's language; ``staff`` (beside an answer whose author has no
    name) is the chat block's ``staff_label`` when the app gives its people a name of its own."""
    from ..i18n import gettext as _, label
    return {"open": _("Chat with us"), "send": _("Send"), "start": _("Start chat"),
            "placeholder": _("Type a message…"), "close": _("Close"), "ended": _("This chat has ended"),
            "new": _("New chat"), "you": _("You"), "staff": label(block.get("staff_label") or _("Staff")),
            "offline": _("Connection lost, retrying…"), "error": _("Not sent, try again")}


# -- the visitor ---------------------------------------------------------------------------------
@bp.route("/chat/<form>/settings", methods=["GET", *VISITOR_METHODS])
@query_args("lang")
def chat_settings(form):
    """What the widget shows: title, greeting, the fields asked before the first message, its texts
    in the visitor's language (``lang``), and the WebSocket address (null: poll)."""
    cfg = visitor_config(form)
    if request.method == "OPTIONS":
        return _preflight()
    return jsonify(settings_json(current_jimu(), cfg))


@bp.route("/chat/<form>/conversations", methods=["POST", *VISITOR_METHODS])
def chat_start(form):
    """Start a conversation: ``{"fields": {...}, "text": "first message"}``; answers its token, which
    the visitor sends as ``X-Chat-Token`` from then on."""
    cfg = visitor_config(form)
    if request.method == "OPTIONS":
        return _preflight()
    body = json_body()
    values = body.get("fields") or {}
    if not isinstance(values, dict):
        raise BadRequest("fields must be an object of field key → value", code="request.bad_param", param="fields")
    jimu = current_jimu()
    from ..public import count_hit
    with jimu.begin() as conn:
        count_hit(jimu, conn, f"chat:{form}", int(cfg.block.get("rate_limit", 10)), form_key=form, what="chats")
    with jimu.begin() as conn:
        record = chat.start(jimu, conn, cfg, values)
        if body.get("text"):
            chat.post(jimu, conn, cfg, record["id"], body.get("text"))
    jimu.services.chat.changed()
    token = chat.visitor_token(jimu.config["SECRET_KEY"], form, record["id"])
    return jsonify({"token": token, **visitor_state(jimu, cfg, record["id"], 0)}), 201


@bp.route("/chat/<form>/mine", methods=["GET", *VISITOR_METHODS])
@query_args(after=whole(lo=0), wait=whole(lo=0, hi=chat.MAX_WAIT))
def chat_mine(form):
    """The visitor's conversation and its messages after ``after`` (all of them without it),
    held up to ``wait`` seconds until there is a newer one."""
    cfg = visitor_config(form)
    if request.method == "OPTIONS":
        return _preflight()
    jimu = current_jimu()
    rid = chat.read_visitor(jimu.config["SECRET_KEY"], request.headers.get(TOKEN), form)
    after = int_arg("after", 0, lo=0)
    wait = _wait()
    with held(jimu, (form, rid)) as waits:
        return jsonify(chat.wait_for(jimu.services.chat, lambda: visitor_state(jimu, cfg, rid, after),
                                     wait if waits else 0, _new(after)))


@bp.route("/chat/<form>/mine/messages", methods=["POST", *VISITOR_METHODS])
def chat_visitor_message(form):
    """The visitor's message ``{"text": ...}``: stored, then pushed to the console."""
    cfg = visitor_config(form)
    if request.method == "OPTIONS":
        return _preflight()
    jimu = current_jimu()
    rid = chat.read_visitor(jimu.config["SECRET_KEY"], request.headers.get(TOKEN), form)
    body = json_body()
    with jimu.begin() as conn:
        message = chat.post(jimu, conn, cfg, rid, body.get("text"))
    jimu.services.chat.changed()
    return jsonify({"message": message}), 201


# -- the console ---------------------------------------------------------------------------------
def _console(form: str) -> tuple:
    jimu = current_jimu()
    with jimu.read():
        cfg = chat.config(jimu.catalog, form)
    principal = current_principal()
    chat.require_answer(principal, cfg)
    return jimu, principal, cfg


@bp.get("/chat/<form>/queue")
@query_args(after=whole(lo=0), wait=whole(lo=0, hi=chat.MAX_WAIT))
def chat_queue(form):
    """The open conversations the caller may answer, and the messages of them after ``after``
    (without ``after``: none, and the cursor to start from)."""
    jimu, principal, cfg = _console(form)
    after = int_arg("after", 0, lo=0)
    wait = _wait() if after else 0
    with held(jimu, ("user", principal.user_id)) as waits:
        return jsonify(chat.wait_for(jimu.services.chat, lambda: queue_state(jimu, principal, cfg, after),
                                     wait if waits else 0, _new(after)))


@bp.get("/chat/<form>/conversations/<int:rid>/messages")
@query_args(after=whole(lo=0))
def chat_conversation(form, rid):
    """One conversation (inside the caller's row scope) and its messages after ``after``."""
    jimu, principal, cfg = _console(form)
    after = int_arg("after", 0, lo=0)
    with jimu.read() as conn:
        records = jimu.services.records(jimu, conn, principal, source="chat")
        record = records.get(form, rid)
        found = chat.messages(jimu, conn, cfg, [rid], after)
    return jsonify({"conversation": chat.conversation_json(cfg, record, records.form(form)), "messages": found,
                    "cursor": chat.cursor(found, after)})


@bp.post("/chat/<form>/messages")
def chat_reply(form):
    """``{"conversations": [ids], "text": ...}``: the same answer to one or several conversations, all
    stored in one transaction (all or none), then pushed."""
    jimu, principal, cfg = _console(form)
    body = json_body()
    ids = body.get("conversations")
    if not isinstance(ids, list) or not ids or len(ids) > 50 or \
            not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_INT for i in ids):
        raise BadRequest("conversations must be a list of 1 to 50 conversation ids", code="request.bad_param",
                         param="conversations")
    with jimu.begin() as conn:
        sent = [chat.post(jimu, conn, cfg, rid, body.get("text"), principal) for rid in dict.fromkeys(ids)]
    jimu.services.chat.changed()
    return jsonify({"messages": sent}), 201


@bp.post("/chat/<form>/conversations/<int:rid>/handover")
def chat_handover(form, rid):
    """Turn the conversation into a record of the hand-over form (with the caller's permissions) and
    link them; a second call answers the same record."""
    jimu, principal, cfg = _console(form)
    with jimu.begin() as conn:
        made = chat.handover(jimu, conn, principal, cfg, rid)
    return jsonify(made), 201 if made["created"] else 200


@bp.post("/chat/<form>/conversations/<int:rid>/close")
def chat_close(form, rid):
    """End the conversation (its status becomes the closed value): the visitor can write no more."""
    jimu, principal, cfg = _console(form)
    with jimu.begin() as conn:
        conversation = chat.close(jimu, conn, principal, cfg, rid)
    jimu.services.chat.changed()
    return jsonify({"conversation": conversation})


@bp.get("/chat/<form>/snippets")
@query_args("q")
def chat_snippets(form):
    """Reply templates and articles the caller may read, found by ``q``, to insert into a reply."""
    jimu, principal, cfg = _console(form)
    with jimu.read() as conn:
        records = jimu.services.records(jimu, conn, principal, source="chat")
        found = chat.snippets(records, cfg, (request.args.get("q") or "").strip())
    return jsonify({"snippets": found})
