"""Issue 20's live chat probed from the outside, as a visitor or a restricted user would, on a
building-management app (not the helpdesk): tokens used on other conversations, other origins,
malformed and oversized bodies, flooding, row scopes of the console, deleted conversations."""
from __future__ import annotations

import copy

import pytest

from tests.conftest import api_token, install_package, make_user
from tests.runtime.chat_package import chat_package

SITE = "http://localhost:8765"
BASE = "/api/v1/chat/enquiry"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _package(**chat):
    package = chat_package((SITE,))
    package["forms"][0]["chat"].update(chat)
    # a second desk role that answers only the chats it holds (row scope on the conversation form)
    own = copy.deepcopy(package["roles"][0])
    own.update(key="own_desk", label={"zh-CN": "值班", "en": "Own desk"},
               rows={"enquiry": {"scope": "own", "field": "handled_by"}})
    package["roles"].append(own)
    return package


@pytest.fixture
def estate(jimu):
    install_package(jimu, _package())
    return _people(jimu)


def _people(jimu):
    out = {}
    for name, roles in (("desk", ["desk"]), ("mine1", ["own_desk"]), ("mine2", ["own_desk"]), ("boss", [])):
        uid = make_user(jimu, name, roles=roles, admin=name == "boss")
        out[name] = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
        out[name + "_id"] = uid
    return out


def _start(client, name="王芳", text="你好", origin=SITE):
    resp = client.post(f"{BASE}/conversations", json={"fields": {"name": name}, "text": text},
                       headers={"Origin": origin})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _texts(client, token):
    return [m["text"] for m in client.get(f"{BASE}/mine", headers={"X-Chat-Token": token}).get_json()["messages"]]


def test_a_token_writes_and_reads_only_its_own_conversation(client, estate):
    one, two = _start(client, "A", "a1"), _start(client, "B", "b1")
    # a body naming the other conversation changes nothing: the token alone says which chat
    sent = client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": one["token"]},
                       json={"text": "a2", "conversation": two["conversation"]["id"], "id": two["conversation"]["id"]})
    assert sent.status_code == 201 and sent.get_json()["message"]["conversation"] == one["conversation"]["id"]
    assert _texts(client, one["token"]) == ["a1", "a2"] and _texts(client, two["token"]) == ["b1"]
    # a visitor's token is no key to the console's reads
    for url in (f"{BASE}/queue", f"{BASE}/conversations/{two['conversation']['id']}/messages"):
        assert client.get(url, headers={"X-Chat-Token": one["token"]}).status_code == 401
    resp = client.post(f"{BASE}/messages", headers={"X-Chat-Token": one["token"]},
                       json={"conversations": [two["conversation"]["id"]], "text": "spoof"})
    assert resp.status_code == 401
    assert _texts(client, two["token"]) == ["b1"]


def test_malformed_and_oversized_visitor_requests_are_coded_400s(client, estate):
    one = _start(client)
    tok = {"X-Chat-Token": one["token"]}
    cases = [
        (f"{BASE}/mine/messages", {"text": "x" * 4001}, tok, 400, "chat.too_long"),
        (f"{BASE}/mine/messages", {"text": {"$gt": ""}}, tok, 400, "chat.empty_message"),
        (f"{BASE}/mine/messages", {"text": "   "}, tok, 400, "chat.empty_message"),
        (f"{BASE}/mine/messages", ["hi"], tok, 400, "request.not_json"),
        (f"{BASE}/conversations", {"fields": "name=x"}, {}, 400, "request.bad_param"),
    ]
    for url, body, headers, status, code in cases:
        resp = client.post(url, json=body, headers={"Origin": SITE, **headers})
        assert resp.status_code == status, (url, body if len(str(body)) < 100 else "...", resp.get_json())
        if code:
            assert resp.get_json()["error"]["code"] == code
    for query in ("after=-1", "after=abc", "wait=99", "after=99999999999999999999999"):
        resp = client.get(f"{BASE}/mine?{query}", headers=tok)
        assert resp.status_code == 400, (query, resp.get_json())
    for bad in ("not-a-token", "中文令牌", "." * 5000):
        resp = client.get(f"{BASE}/mine", headers={"X-Chat-Token": bad.encode("utf-8").decode("latin-1")})
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "chat.bad_token"
    # nothing of the refused requests was stored
    assert _texts(client, one["token"]) == ["你好"]


def test_other_origins_get_no_answer_and_no_cors_grant(client, estate):
    one = _start(client)
    for origin in ("http://evil.example", "null", "http://localhost:8765.evil.example", "https://localhost:8765",
                   SITE + "/"):
        for method, url, body in (("get", f"{BASE}/settings", None), ("post", f"{BASE}/conversations",
                                                                        {"fields": {"name": "x"}}),
                                  ("get", f"{BASE}/mine", None), ("post", f"{BASE}/mine/messages", {"text": "x"})):
            resp = getattr(client, method)(url, json=body, headers={"Origin": origin, "X-Chat-Token": one["token"]})
            assert resp.status_code == 403, (origin, url)
            assert "Access-Control-Allow-Origin" not in resp.headers
    assert _texts(client, one["token"]) == ["你好"]


def test_the_console_keeps_to_the_rows_a_user_may_read(client, jimu, estate):
    a, b = _start(client, "A", "a1"), _start(client, "B", "b1")
    ia, ib = a["conversation"]["id"], b["conversation"]["id"]
    # the desk hands A to mine1 and B to mine2 (the assignee field the row scope reads)
    for rid, who in ((ia, "mine1_id"), (ib, "mine2_id")):
        resp = client.patch(f"/api/v1/forms/enquiry/records/{rid}", json={"handled_by": estate[who]},
                            headers=estate["desk"])
        assert resp.status_code == 200, resp.get_json()
    start = client.get(f"{BASE}/queue", headers=estate["mine1"]).get_json()
    assert [c["id"] for c in start["conversations"]] == [ia]
    client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": b["token"]}, json={"text": "b-secret"})
    client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": a["token"]}, json={"text": "a2"})
    stream = client.get(f"{BASE}/queue?after={start['cursor']}", headers=estate["mine1"]).get_json()
    assert {m["conversation"] for m in stream["messages"]} == {ia}
    assert "b-secret" not in str(stream)
    assert client.get(f"{BASE}/conversations/{ib}/messages", headers=estate["mine1"]).status_code == 404
    resp = client.post(f"{BASE}/messages", headers=estate["mine1"], json={"conversations": [ia, ib], "text": "hi"})
    assert resp.status_code == 404
    assert _texts(client, a["token"]) == ["a1", "a2"]    # all or none: A got nothing either
    for url in (f"{BASE}/conversations/{ib}/handover", f"{BASE}/conversations/{ib}/close"):
        assert client.post(url, headers=estate["mine1"]).status_code == 404
    assert _texts(client, b["token"]) == ["b1", "b-secret"]


def test_a_deleted_conversation_takes_no_more_visitor_messages(client, estate):
    one = _start(client)
    rid = one["conversation"]["id"]
    gone = client.delete(f"/api/v1/forms/enquiry/records/{rid}", headers=estate["boss"])
    assert gone.status_code in (200, 204), gone.get_json()
    resp = client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": one["token"]}, json={"text": "still there?"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "chat.not_found"
    assert client.get(f"{BASE}/mine", headers={"X-Chat-Token": one["token"]}).status_code == 404



def test_a_visitor_cannot_flood_a_conversation(client, jimu, clock):
    """Starting chats is limited per address (``rate_limit``); the messages of one conversation are
    limited too (``message_limit`` an hour), or one token would write without end."""
    install_package(jimu, _package(message_limit=5))
    people = _people(jimu)
    one = _start(client, text="1")   # the first message counts
    tok = {"X-Chat-Token": one["token"]}
    codes = [client.post(f"{BASE}/mine/messages", headers=tok, json={"text": str(i)}).status_code for i in range(2, 8)]
    assert codes == [201] * 4 + [429, 429]
    refused = client.post(f"{BASE}/mine/messages", headers=tok, json={"text": "more"}).get_json()
    assert refused["error"]["code"] == "chat.rate_limited"
    assert _texts(client, one["token"]) == ["1", "2", "3", "4", "5"]
    # the desk's answers are not the visitor's: they still go through, and so does another chat
    sent = client.post(f"{BASE}/messages", headers=people["desk"],
                       json={"conversations": [one["conversation"]["id"]], "text": "answer"})
    assert sent.status_code == 201
    two = _start(client, text="x")
    assert client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": two["token"]},
                       json={"text": "y"}).status_code == 201
    # an hour later the conversation takes messages again
    clock.advance(hours=1, seconds=1)
    assert client.post(f"{BASE}/mine/messages", headers=tok, json={"text": "later"}).status_code == 201


def test_the_default_message_limit_holds_without_setting(client, estate):
    from runtime import chat
    one = _start(client, text="0")
    tok = {"X-Chat-Token": one["token"]}
    codes = [client.post(f"{BASE}/mine/messages", headers=tok, json={"text": str(i)}).status_code
             for i in range(1, chat.MESSAGE_LIMIT + 1)]
    assert codes == [201] * (chat.MESSAGE_LIMIT - 1) + [429]


def test_a_visitor_gives_short_values_only(client, estate):
    """What a visitor types before the first message (name, e-mail) is as short as a message at most:
    a text field without its own max_length would otherwise take a request's whole 50 MB."""
    from runtime import chat
    for value in ("n" * (chat.MAX_TEXT + 1), ["n"] * 5000):
        resp = client.post(f"{BASE}/conversations", json={"fields": {"name": value}, "text": "hi"},
                           headers={"Origin": SITE})
        assert resp.status_code in (400, 422), resp.status_code
        assert resp.get_json()["error"]["code"] in ("chat.too_long", "validation.failed")
    resp = client.post(f"{BASE}/conversations", json={"fields": {"name": "n" * 100_000}}, headers={"Origin": SITE})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "chat.too_long"
    assert resp.get_json()["error"]["field"] == "name"
    queue = client.get(f"{BASE}/queue", headers=estate["desk"]).get_json()
    assert queue["conversations"] == []
    assert _start(client, "n" * 200)["conversation"]["fields"]["name"] == "n" * 200


def test_one_visitor_cannot_hold_the_servers_threads(app, client, jimu, estate, monkeypatch):
    """On a threaded server a read may wait (a long poll: a thread held, the database read every
    second). One conversation holds at most chat.HELD_EACH of them at a time and a process at most
    CHAT_MAX_HELD; a read beyond either answers at once (the widget then polls every 2 s), so copies of
    one token cannot take every thread and hammer the database."""
    import threading
    import time
    from runtime import chat
    one = _start(client)
    readers, answers = [], []

    def read(after=one["cursor"]):
        c = app.test_client()
        t0 = time.monotonic()
        resp = c.get(f"{BASE}/mine?after={after}&wait=20", headers={"X-Chat-Token": one["token"]},
                     environ_overrides={"wsgi.multithread": True})
        answers.append((time.monotonic() - t0, [m["text"] for m in resp.get_json()["messages"]
                                                 if m["id"] > one["cursor"]]))

    for _ in range(chat.HELD_EACH + 3):
        readers.append(threading.Thread(target=read, daemon=True))
        readers[-1].start()
    deadline = time.monotonic() + 10
    while len(answers) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(answers) == 3 and all(took < 10 and got == [] for took, got in answers)  # answered at once
    # the held readers still get the next message as soon as it is stored
    client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": one["token"]}, json={"text": "wake"})
    for r in readers:
        r.join(15)
    assert sorted(got for _, got in answers) == [[]] * 3 + [["wake"]] * chat.HELD_EACH
    # the whole process: at most CHAT_MAX_HELD readers wait, whoever they are
    monkeypatch.setitem(jimu.config, "CHAT_MAX_HELD", 1)
    two = _start(client, "B")
    latest = client.get(f"{BASE}/mine", headers={"X-Chat-Token": one["token"]}).get_json()["cursor"]
    held = threading.Thread(target=read, args=(latest,), daemon=True)
    answers.clear()
    held.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    resp = client.get(f"{BASE}/mine?after={two['cursor']}&wait=20", headers={"X-Chat-Token": two["token"]},
                      environ_overrides={"wsgi.multithread": True})
    assert resp.status_code == 200 and time.monotonic() - t0 < 10
    client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": one["token"]}, json={"text": "bye"})
    held.join(15)
    assert answers and answers[0][1][-1:] == ["bye"]


def test_one_visitor_cannot_open_sockets_without_end(jimu, live_server, estate):
    """A socket holds a thread as a long poll does: past chat.HELD_EACH sockets of one conversation the
    next gets an error frame (chat.busy), on which the widget polls instead."""
    import json
    import requests
    from simple_websocket import Client
    from runtime import chat
    settings = requests.get(f"{live_server}{BASE}/settings", headers={"Origin": SITE}).json()
    started = requests.post(f"{live_server}{BASE}/conversations", json={"fields": {"name": "王芳"}, "text": "你好"},
                            headers={"Origin": SITE}).json()
    hello = json.dumps({"token": started["token"], "after": started["cursor"]})
    kept = []
    try:
        for _ in range(chat.HELD_EACH):
            kept.append(Client.connect(settings["socket"], headers={"Origin": SITE}))
            kept[-1].send(hello)
        requests.post(f"{live_server}{BASE}/mine/messages", json={"text": "在吗"},
                      headers={"Origin": SITE, "X-Chat-Token": started["token"]})
        for ws in kept:   # each socket is being served (it pushes the new message)
            assert [m["text"] for m in json.loads(ws.receive(timeout=10))["messages"]][-1] == "在吗"
        extra = Client.connect(settings["socket"], headers={"Origin": SITE})
        try:
            extra.send(hello)
            assert json.loads(extra.receive(timeout=10))["error"]["code"] == "chat.busy"
        finally:
            extra.close()
    finally:
        for ws in kept:
            ws.close()


def test_a_user_who_may_not_read_the_chats_has_no_console(client, jimu):
    """Update without read on the conversation form (a role made for a rule or an import) is no right
    to the console: its page, the queue, the messages and answers are all refused, and the home page
    offers no link to it."""
    from tests.conftest import sign_in
    package = _package()
    package["roles"].append({"key": "blind", "version": 1, "label": "Blind",
                             "permissions": {"enquiry": ["update"], "enquiry_message": ["create", "read"]}})
    install_package(jimu, package)
    uid = make_user(jimu, "blind", roles=["blind"])
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    one = _start(client, "王芳", "我的住址是 3 号楼 502")
    rid = one["conversation"]["id"]
    for method, url, body in (("get", f"{BASE}/queue", None), ("get", f"{BASE}/conversations/{rid}/messages", None),
                              ("post", f"{BASE}/messages", {"conversations": [rid], "text": "hi"}),
                              ("get", f"{BASE}/snippets", None)):
        resp = getattr(client, method)(url, headers=headers, json=body)
        assert resp.status_code == 403, (url, resp.status_code)
        assert "502" not in resp.get_data(as_text=True)
    assert _texts(client, one["token"]) == ["我的住址是 3 号楼 502"]
    sign_in(client, jimu, uid)
    assert client.get("/chat/enquiry").status_code == 403
    assert b'data-link="chat-console"' not in client.get("/").data


def test_the_console_writes_with_the_answerers_own_field_and_form_rights(client, jimu):
    """Hand-over creates the work record with the user's rights, closing writes the status field with
    them, and the first answer sets the assignee only where the user may write it."""
    package = _package()
    limited = copy.deepcopy(package["roles"][0])
    limited.update(key="limited", label="Limited", fields={"enquiry": {"state": "read_only", "handled_by": "read_only"}})
    limited["permissions"]["repair_order"] = ["read"]          # may not create the work record
    package["roles"].append(limited)
    install_package(jimu, package)
    uid = make_user(jimu, "limited", roles=["limited"])
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    one = _start(client)
    rid = one["conversation"]["id"]
    sent = client.post(f"{BASE}/messages", headers=headers, json={"conversations": [rid], "text": "您好"})
    assert sent.status_code == 201
    assert client.post(f"{BASE}/conversations/{rid}/handover", headers=headers).status_code == 403
    assert client.post(f"{BASE}/conversations/{rid}/close", headers=headers).status_code in (403, 422)
    state = client.get(f"{BASE}/conversations/{rid}/messages", headers=headers).get_json()["conversation"]
    assert state["open"] is True and state["assignee"] is None and state["handover"] is None
    import sqlalchemy as sa
    with jimu.read() as conn:
        ft = jimu.catalog.form("repair_order")
        assert conn.execute(sa.select(sa.func.count()).select_from(ft.table)).scalar() == 0


def test_a_busy_last_half_minute_never_hides_the_newest_messages(client, jimu, estate, monkeypatch):
    """Reads re-send the last OVERLAP's messages besides those past the cursor, at most MAX_MESSAGES in
    all. When the repeats alone fill that bound (a busy desk), the new messages must still come first,
    or the reader's cursor never moves and the console shows nothing new."""
    from runtime import chat
    monkeypatch.setattr(chat, "MAX_MESSAGES", 5)
    chats = [_start(client, f"v{i}", f"m{i}") for i in range(3)]
    for c in chats[:2]:
        client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": c["token"]}, json={"text": "again"})
    desk = estate["desk"]
    cursor = client.get(f"{BASE}/queue", headers=desk).get_json()["cursor"]          # 5 messages so far
    client.post(f"{BASE}/mine/messages", headers={"X-Chat-Token": chats[2]["token"]}, json={"text": "newest"})
    stream = client.get(f"{BASE}/queue?after={cursor}", headers=desk).get_json()
    assert [m["text"] for m in stream["messages"] if m["id"] > cursor] == ["newest"]
    assert stream["cursor"] > cursor
    ids = [m["id"] for m in stream["messages"]]
    assert ids == sorted(ids) and len(ids) <= 5                                          # oldest first, bounded
    mine = client.get(f"{BASE}/mine?after={cursor}", headers={"X-Chat-Token": chats[2]["token"]}).get_json()
    assert [m["text"] for m in mine["messages"] if m["id"] > cursor] == ["newest"]


def test_the_consoles_socket_is_not_opened_from_another_site(jimu, live_server, estate):
    """A page of another site cannot ride a signed-in user's cookie into the console's socket (cross-site
    WebSocket hijacking): a socket without a visitor token from a foreign origin gets an error frame and
    no queue; from Jimu's own pages it streams the desk's chats."""
    import json
    import re
    import requests
    from simple_websocket import Client
    browser = requests.Session()
    page = browser.get(f"{live_server}/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(f"{live_server}/login", data={"username": "desk", "password": "pw-123456",
                                                      "csrf_token": csrf}, allow_redirects=False).status_code == 302
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    started = requests.post(f"{live_server}{BASE}/conversations", json={"fields": {"name": "王芳"}, "text": "隐私"},
                            headers={"Origin": SITE}).json()
    url = f"ws{live_server[4:]}/chat/enquiry/socket"
    for origin in ("http://evil.example", SITE):
        ws = Client.connect(url, headers={"Origin": origin, "Cookie": cookie})
        try:
            ws.send(json.dumps({"after": 0}))
            frame = json.loads(ws.receive(timeout=10))
            assert frame["error"]["code"] == "chat.origin_refused" and "隐私" not in str(frame)
        finally:
            ws.close()
    # simple_websocket's client sends Host without the port (a browser sends it whole): own origin as seen
    own = Client.connect(url, headers={"Origin": live_server.rsplit(":", 1)[0], "Cookie": cookie})
    try:
        own.send(json.dumps({"after": started["cursor"]}))
        requests.post(f"{live_server}{BASE}/mine/messages", json={"text": "隐私二"},
                      headers={"Origin": SITE, "X-Chat-Token": started["token"]})
        frame = json.loads(own.receive(timeout=10))
        assert [m["text"] for m in frame["messages"] if m["id"] > started["cursor"]] == ["隐私二"]
    finally:
        own.close()
