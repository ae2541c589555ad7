"""The live chat's console page (``/chat/<form>``) and its WebSocket (``/chat/<form>/socket``).

The console is for users who may answer the form's chats (``runtime.chat.may_answer``); it shows
the queue of open conversations, lets them answer one or several at once, insert reply templates
and articles, hand a conversation over and end it, and gives the script tag that publishes the
widget on a web site.

The socket (flask-sock, when installed and the server runs threads) pushes what the polling reads
answer (``runtime.api.chat.visitor_state`` / ``queue_state``): the client's first frame says who it
is (``{"token": ..., "after": n}`` for a visitor — from one of the form's origins — or
``{"after": n}`` for a signed-in user of the console); after that the server sends a frame whenever
there are messages past the cursor. Clients send messages over HTTP (stored, then pushed), so a
socket that fails loses nothing: the page falls back to polling from its cursor.
"""
from __future__ import annotations

import json
import logging

from flask import Flask, render_template, request

from .. import chat
from ..auth import current_principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from . import bp

log = logging.getLogger(__name__)

#: longest wait of the socket between two looks at the client (its liveness and cursor)
SOCKET_WAIT = 15


@bp.get("/chat/<form>")
def chat_console(form):
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    jimu = current_jimu()
    with jimu.read():
        cfg = chat.config(jimu.catalog, form)
        ft = jimu.catalog.form(form)
    chat.require_answer(principal, cfg)
    from flask import url_for
    from ..api.chat import socket_url
    handover = cfg.part("handover")
    handover_label = jimu.catalog.form(handover["form"]).spec.label if handover else None
    return render_template("chat_console.html", cfg=cfg, ft=ft, form=form, handover=handover,
                           handover_label=handover_label, socket=socket_url(form),
                           api=url_for("api.chat_queue", form=form).rsplit("/queue", 1)[0],
                           closable=(cfg.status or {}).get("closed") is not None)


def consoles(principal, catalog) -> list:
    """The chat forms ``principal`` may answer (links on the home page)."""
    return [cfg for cfg in chat.chat_forms(catalog) if chat.may_answer(principal, cfg)]


def init_socket(app: Flask) -> None:
    """Register the WebSocket route when flask-sock is installed (a dependency in setup.cfg); without
    it the widget and the console poll."""
    try:
        from flask_sock import Sock
    except ImportError:  # an install older than setup.cfg: polling still works
        log.warning("flask-sock is not installed: live chat polls instead of using WebSockets")
        return
    sock = Sock(app)
    app.extensions["jimu.chat"] = ("chat.socket",)

    @sock.route("/chat/<form>/socket", endpoint="chat_socket")
    def chat_socket(ws, form):
        _serve(ws, form)


def _serve(ws, form: str) -> None:
    from simple_websocket import ConnectionClosed
    from ..api.chat import held, queue_state, visitor_state
    jimu = current_jimu()
    try:
        with jimu.read():
            cfg = chat.config(jimu.catalog, form)
        hello = json.loads(ws.receive(timeout=10) or "{}")
        after = int(hello.get("after") or 0)
        if hello.get("token"):
            chat.check_origin(cfg, request.headers.get("Origin"), request.host_url.rstrip("/"))
            rid = chat.read_visitor(jimu.config["SECRET_KEY"], hello["token"], form)
            who: tuple = (form, rid)

            def fetch(after):
                return visitor_state(jimu, cfg, rid, after)
        else:
            principal = current_principal()
            chat.require_answer(principal, cfg)
            if request.headers.get("Origin") not in (None, request.host_url.rstrip("/")):
                raise chat.OriginRefused("the console's socket is for Jimu's own pages")
            after = after or queue_state(jimu, principal, cfg, 0)["cursor"]
            who = ("user", principal.user_id)

            def fetch(after):
                return queue_state(jimu, principal, cfg, after)
    except (ValueError, TypeError, chat.JimuError) as exc:
        code = getattr(exc, "code", "request.bad")
        ws.send(json.dumps({"error": {"code": code, "message": str(exc)}}))
        ws.close(reason=1008)
        return
    except ConnectionClosed:
        return
    with held(jimu, who) as ok:   # a socket holds a thread as a long poll does
        if ok:
            _push(ws, fetch, after)
            return
    ws.send(json.dumps({"error": {"code": "chat.busy", "message": "too many open chat connections; polling"}}))
    ws.close(reason=1013)   # try again later: the page polls instead


def _push(ws, fetch, after: int) -> None:
    from simple_websocket import ConnectionClosed
    jimu = current_jimu()
    try:
        while True:
            state = chat.wait_for(jimu.services.chat, lambda: fetch(after), SOCKET_WAIT,
                                  lambda s: any(m["id"] > after for m in s["messages"]))
            if any(m["id"] > after for m in state["messages"]):
                ws.send(current_app_json(state))
                after = max(after, state["cursor"])
            else:
                ws.send('{"ping": true}')   # a dead client shows here; the page keeps its socket alive
            got = ws.receive(timeout=0)
            if got:   # the page may move its cursor back (after a reload of its history)
                after = int(json.loads(got).get("after", after) or 0)
    except ConnectionClosed:
        return


def current_app_json(value) -> str:
    from flask import current_app
    return current_app.json.dumps(value)
