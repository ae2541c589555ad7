"""Issue 20, live chat's API, on a building-management app (not the helpdesk): a visitor starts a chat
from an allowed origin and reads only their own conversation; another origin is refused; a front-desk
user answers one or several chats, inserts a canned reply or a published house rule, and hands the
chat over to a repair order; a user without the role cannot open the console. On SQLite and PostgreSQL."""
from __future__ import annotations

import copy

import pytest

from apps.compile import Problems, compile_package
from tests.conftest import api_token, install_package, make_user
from tests.runtime.chat_package import chat_package

SITE = "http://localhost:8765"
BASE = "/api/v1/chat/enquiry"


@pytest.fixture
def estate(jimu):
    install_package(jimu, chat_package((SITE,)))
    desk = make_user(jimu, "desk", roles=["desk"])
    keeper = make_user(jimu, "keeper", roles=["caretaker"])
    return {"desk": {"Authorization": f"Bearer {api_token(jimu, desk)}"},
            "caretaker": {"Authorization": f"Bearer {api_token(jimu, keeper)}"}, "admin": make_user(jimu, "boss", admin=True)}


def _start(client, name, text, origin=SITE):
    resp = client.post(f"{BASE}/conversations", json={"fields": {"name": name, "email": "a@example.com",
                                                                 "state": "ended"}, "text": text},
                       headers={"Origin": origin})
    return resp


def test_visitor_chat_is_stored_and_only_its_token_reads_it(client, estate):
    settings = client.get(f"{BASE}/settings?lang=en", headers={"Origin": SITE})
    assert settings.status_code == 200
    assert settings.headers["Access-Control-Allow-Origin"] == SITE and "Origin" in settings.headers["Vary"]
    body = settings.get_json()
    assert body["title"] == "Front desk" and [f["key"] for f in body["fields"]] == ["name", "email"]
    assert body["text"]["send"] == "Send"
    assert body["socket"] is None   # a server without threads (gunicorn sync workers) is polled, never held

    pre = client.options(f"{BASE}/mine/messages", headers={"Origin": SITE, "Access-Control-Request-Method": "POST",
                                                             "Access-Control-Request-Headers": "content-type, x-chat-token"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == SITE
    assert "X-Chat-Token" in pre.headers["Access-Control-Allow-Headers"]

    first = _start(client, "王芳", "楼道灯坏了")
    assert first.status_code == 201, first.get_json()
    one = first.get_json()
    # the visitor cannot set what the chat block does not list (state is the platform's)
    assert one["conversation"]["status"] == "open" and one["conversation"]["open"] is True
    assert [(m["text"], m["from"]) for m in one["messages"]] == [("楼道灯坏了", "visitor")]
    two = _start(client, "李雷", "停车位的问题").get_json()

    mine = client.get(f"{BASE}/mine", headers={"Origin": SITE, "X-Chat-Token": one["token"]}).get_json()
    assert [m["text"] for m in mine["messages"]] == ["楼道灯坏了"]
    sent = client.post(f"{BASE}/mine/messages", json={"text": "在 3 号楼"},
                       headers={"Origin": SITE, "X-Chat-Token": one["token"]})
    assert sent.status_code == 201
    after = client.get(f"{BASE}/mine?after={mine['cursor']}", headers={"X-Chat-Token": one["token"]}).get_json()
    # the answer may repeat the last seconds' messages (readers drop repeats by id): new is above the cursor
    assert [m["text"] for m in after["messages"] if m["id"] > mine["cursor"]] == ["在 3 号楼"]

    # another visitor's token reads only their own chat; a forged or missing one reads nothing
    theirs = client.get(f"{BASE}/mine", headers={"X-Chat-Token": two["token"]}).get_json()
    assert [m["text"] for m in theirs["messages"]] == ["停车位的问题"]
    forged = one["token"][:-2] + ("AA" if not one["token"].endswith("AA") else "BB")
    for headers in ({"X-Chat-Token": forged}, {}):
        resp = client.get(f"{BASE}/mine", headers=headers)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "chat.bad_token"
    # a token of another form's chat is refused too (signed for "repair_order")
    from runtime.chat import visitor_token
    other = visitor_token("test-secret", "repair_order", one["conversation"]["id"])
    assert client.get(f"{BASE}/mine", headers={"X-Chat-Token": other}).status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_origin_the_form_does_not_list_is_refused(client, estate):
    evil = "http://evil.example"
    resp = _start(client, "Mallory", "hi", origin=evil)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "chat.origin_refused"
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = client.options(f"{BASE}/conversations", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "Access-Control-Allow-Origin" not in pre.headers
    token = _start(client, "王芳", "hello").get_json()["token"]
    resp = client.get(f"{BASE}/mine", headers={"Origin": evil, "X-Chat-Token": token})
    assert resp.status_code == 403
    # one address starts at most chat.rate_limit chats an hour (10 by default; one was started above)
    codes = [_start(client, f"v{i}", "hi").status_code for i in range(10)]
    assert codes == [201] * 9 + [429]
    # a form without a chat has no chat API
    assert client.get("/api/v1/chat/repair_order/settings").get_json()["error"]["code"] == "chat.not_enabled"


def test_console_answers_several_chats_inserts_snippets_and_hands_over(client, jimu, estate):
    desk, caretaker = estate["desk"], estate["caretaker"]
    one = _start(client, "王芳", "楼道灯坏了").get_json()
    two = _start(client, "李雷", "停车位的问题").get_json()
    from runtime.records import Records
    from runtime.auth.principal import ANONYMOUS
    with jimu.begin() as conn:
        records = Records(jimu, conn, ANONYMOUS, check_permissions=False)
        records.create("canned_reply", {"title": "稍等", "text": "请稍等，马上为您处理。"})
        records.create("house_rule", {"title": "报修时间", "body": "<p>工作日 <b>9:00-18:00</b></p>", "published": True})
        records.create("house_rule", {"title": "草稿", "body": "<p>未发布</p>", "published": False})

    queue = client.get(f"{BASE}/queue", headers=desk).get_json()
    assert {c["title"] for c in queue["conversations"]} == {"王芳", "李雷"}
    cursor = queue["cursor"]

    snippets = client.get(f"{BASE}/snippets", headers=desk).get_json()["snippets"]
    assert {(s["kind"], s["title"], s["text"]) for s in snippets} == {
        ("template", "稍等", "请稍等，马上为您处理。"), ("article", "报修时间", "工作日 9:00-18:00")}
    ids = [one["conversation"]["id"], two["conversation"]["id"]]
    sent = client.post(f"{BASE}/messages", json={"conversations": ids, "text": snippets[0]["text"]}, headers=desk)
    assert sent.status_code == 201 and len(sent.get_json()["messages"]) == 2

    stream = client.get(f"{BASE}/queue?after={cursor}", headers=desk).get_json()
    assert sorted((m["conversation"], m["from"], m["author"]) for m in stream["messages"] if m["id"] > cursor) == \
        sorted((i, "staff", "desk") for i in ids)
    assert all(c["assignee"] for c in stream["conversations"])
    # the visitor sees the answer in their own chat
    mine = client.get(f"{BASE}/mine", headers={"X-Chat-Token": one["token"]}).get_json()
    assert [m["from"] for m in mine["messages"]] == ["visitor", "staff"]
    assert "assignee" not in mine["conversation"]   # who answers, and the work record, are not the visitor's

    made = client.post(f"{BASE}/conversations/{ids[0]}/handover", headers=desk)
    assert made.status_code == 201, made.get_json()
    order = made.get_json()
    again = client.post(f"{BASE}/conversations/{ids[0]}/handover", headers=desk)
    assert again.status_code == 200 and again.get_json()["id"] == order["id"]
    record = client.get(f"/api/v1/forms/repair_order/records/{order['id']}", headers=desk).get_json()
    assert record["reporter"] == "王芳" and "楼道灯坏了" in record["details"] and "请稍等" in record["details"]
    assert client.get(f"{BASE}/conversations/{ids[0]}/messages", headers=desk).get_json()["conversation"]["handover"] \
        == order["id"]

    closed = client.post(f"{BASE}/conversations/{ids[1]}/close", headers=desk)
    assert closed.status_code == 200 and closed.get_json()["conversation"]["open"] is False
    late = client.post(f"{BASE}/mine/messages", json={"text": "还在吗"}, headers={"X-Chat-Token": two["token"]})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "chat.closed"
    assert [c["id"] for c in client.get(f"{BASE}/queue", headers=desk).get_json()["conversations"]] == [ids[0]]

    # a caretaker reads enquiries but may not answer them: no console, no messages, no hand-over
    for method, url, body in (("get", f"{BASE}/queue", None), ("get", f"{BASE}/snippets", None),
                              ("post", f"{BASE}/messages", {"conversations": ids, "text": "hi"}),
                              ("post", f"{BASE}/conversations/{ids[0]}/handover", None)):
        resp = getattr(client, method)(url, headers=caretaker, json=body)
        assert resp.status_code == 403, (url, resp.get_json())
        assert resp.get_json()["error"]["code"] == "chat.console_denied"
    assert client.get(f"{BASE}/queue").status_code == 401


def jimu_user(jimu, username):
    import sqlalchemy as sa
    from runtime import db
    with jimu.read() as conn:
        return conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).scalar()


def test_package_chat_references_are_checked():
    assert not isinstance(compile_package(chat_package()), Problems)
    pkg = chat_package()
    pkg["forms"][0]["chat"]["messages"]["link_field"] = "body"
    pkg["forms"][0]["chat"]["handover"]["fields"]["nope"] = "name"
    problems = compile_package(copy.deepcopy(pkg))
    assert isinstance(problems, Problems)
    codes = {(e["code"], e["pointer"]) for e in problems}
    assert ("chat.wrong_widget", "/forms/0/chat/messages/link_field") in codes
    assert ("package.unknown_field", "/forms/0/chat/handover/fields/nope") in codes


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_widget_names_the_answering_side_as_the_chat_block_says(client, jimu):
    """Without ``staff_label`` the widget calls the people who answer by a neutral word in the visitor's
    language; the app's chat block names them (a front desk's 前台)."""
    pkg = chat_package((SITE,))
    install_package(jimu, pkg)
    texts = {lang: client.get(f"{BASE}/settings?lang={lang}", headers={"Origin": SITE}).get_json()["text"]
             for lang in ("zh-CN", "en")}
    assert (texts["zh-CN"]["staff"], texts["en"]["staff"]) == ("工作人员", "Staff")
    assert (texts["zh-CN"]["send"], texts["en"]["send"]) == ("发送", "Send")
    pkg["app"]["version"] = "1.0.1"
    pkg["forms"][0]["chat"]["staff_label"] = {"zh-CN": "前台", "en": "Front desk"}
    install_package(jimu, pkg)
    named = {lang: client.get(f"{BASE}/settings?lang={lang}", headers={"Origin": SITE}).get_json()["text"]["staff"]
             for lang in ("zh-CN", "en")}
    assert named == {"zh-CN": "前台", "en": "Front desk"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_only_users_who_may_answer_open_the_console(client, jimu, estate):
    from tests.conftest import sign_in
    assert client.get("/chat/enquiry").status_code in (302, 401)
    sign_in(client, jimu, jimu_user(jimu, "keeper"))
    denied = client.get("/chat/enquiry")
    assert denied.status_code == 403 and b"chat.console_denied" in denied.data
    assert b"chat-console" not in client.get("/").data
    sign_in(client, jimu, jimu_user(jimu, "desk"))
    shown = client.get("/chat/enquiry")
    assert shown.status_code == 200
    assert b"chat-widget.js" in shown.data and b'data-jimu-chat="enquiry"' in shown.data
    assert b'data-link="chat-console"' in client.get("/").data
    assert "待接待会话".encode() in shown.data and b"Open chats" in client.get("/chat/enquiry?lang=en").data
    assert client.get("/chat/repair_order").status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_socket_pushes_stored_messages_and_refuses_other_origins(jimu, live_server, estate):
    """Over the WebSocket (flask-sock on a threaded server) a visitor's socket gets the desk's answer
    once it is stored; a socket opened from an origin the form does not list gets an error frame."""
    import json
    import requests
    from simple_websocket import Client
    settings = requests.get(f"{live_server}{BASE}/settings", headers={"Origin": SITE}).json()
    assert settings["socket"] == f"ws{live_server[4:]}/chat/enquiry/socket"
    started = requests.post(f"{live_server}{BASE}/conversations", json={"fields": {"name": "王芳"}, "text": "你好"},
                            headers={"Origin": SITE}).json()
    ws = Client.connect(settings["socket"], headers={"Origin": SITE})
    try:
        ws.send(json.dumps({"token": started["token"], "after": started["cursor"]}))
        sent = requests.post(f"{live_server}{BASE}/messages", headers=estate["desk"],
                             json={"conversations": [started["conversation"]["id"]], "text": "您好，请讲"})
        assert sent.status_code == 201
        while True:
            frame = json.loads(ws.receive(timeout=10))
            if frame.get("messages"):
                break
        assert [(m["text"], m["from"]) for m in frame["messages"] if m["id"] > started["cursor"]] == \
            [("您好，请讲", "staff")]
    finally:
        ws.close()
    evil = Client.connect(settings["socket"], headers={"Origin": "http://evil.example"})
    try:
        evil.send(json.dumps({"token": started["token"]}))
        assert json.loads(evil.receive(timeout=10))["error"]["code"] == "chat.origin_refused"
    finally:
        evil.close()


def test_a_message_written_by_another_process_reaches_a_waiting_reader(app, client, jimu, estate, db_url):
    """Two web processes on one database (a second app object): a reader waiting in one is not woken by
    the other's in-memory push, and still gets the message stored there within a poll slice; a reader
    started afterwards (a reload, a restarted worker) reads everything from the database."""
    import threading
    import time
    from runtime import chat
    from runtime.app import create_app
    other = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret", "AUTO_MIGRATE": False,
                        "CLOCK": jimu.clock})
    try:
        started = _start(client, "王芳", "你好").get_json()
        rid, cursor = started["conversation"]["id"], started["cursor"]
        ojimu = other.extensions["jimu"]
        with ojimu.read():
            cfg = chat.config(ojimu.catalog, "enquiry")

        def write_in_first_process():
            time.sleep(0.3)
            client.post(f"{BASE}/mine/messages", json={"text": "第二条"}, headers={"X-Chat-Token": started["token"]})

        writer = threading.Thread(target=write_in_first_process)
        t0 = time.monotonic()
        writer.start()

        def fetch():
            with ojimu.read() as conn:
                return chat.messages(ojimu, conn, cfg, [rid], cursor)

        found = chat.wait_for(ojimu.services.chat, fetch, 10, lambda ms: any(m["id"] > cursor for m in ms))
        writer.join()
        assert [m["text"] for m in found if m["id"] > cursor] == ["第二条"]
        assert time.monotonic() - t0 < chat.POLL_SLICE + 3
        with other.test_client() as reload:
            mine = reload.get(f"{BASE}/mine", headers={"X-Chat-Token": started["token"]}).get_json()
        assert [m["text"] for m in mine["messages"]] == ["你好", "第二条"]
    finally:
        other.extensions["jimu"].dispose()


@pytest.mark.timeout(90)
def test_gunicorn_sync_workers_are_polled_never_held(tmp_path):
    """Under gunicorn's sync workers (one request per process at a time) the widget is offered no
    socket and a read asking to wait answers at once: a long poll would hold the only worker."""
    import json
    import time
    import requests
    from tests.runtime.test_deploy import Procs, base_env, free_port, http_up, wait_for
    procs = Procs(tmp_path)
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = base_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'jimu.sqlite'}", BASE_URL=base)
        package = tmp_path / "estate.json"
        package.write_text(json.dumps(chat_package((SITE,))), encoding="utf-8")
        done = procs.run(["jimu", "import", str(package)], env)
        assert done.returncode == 0, done.stderr
        procs.start(["gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "runtime.wsgi:app"], env, "web")
        wait_for(lambda: http_up(base), 30, "gunicorn", procs.logs)
        api = f"{base}{BASE}"
        assert requests.get(f"{api}/settings", headers={"Origin": SITE}, timeout=10).json()["socket"] is None
        started = requests.post(f"{api}/conversations", json={"fields": {"name": "王芳"}, "text": "你好"},
                                headers={"Origin": SITE}, timeout=10).json()
        t0 = time.monotonic()
        polled = requests.get(f"{api}/mine?after={started['cursor']}&wait=20",
                              headers={"Origin": SITE, "X-Chat-Token": started["token"]}, timeout=30)
        assert polled.status_code == 200 and time.monotonic() - t0 < 5
        assert polled.headers["Access-Control-Allow-Origin"] == SITE
        sent = requests.post(f"{api}/mine/messages", json={"text": "在吗"}, timeout=10,
                             headers={"Origin": SITE, "X-Chat-Token": started["token"]})
        assert sent.status_code == 201
        again = requests.get(f"{api}/mine?after={started['cursor']}", timeout=10,
                             headers={"X-Chat-Token": started["token"]}).json()
        assert [m["text"] for m in again["messages"] if m["id"] > started["cursor"]] == ["在吗"]
    finally:
        procs.stop()
