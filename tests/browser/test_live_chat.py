"""Issue 20: live chat in Chromium. A tenant chats from the estate's web site (another origin: a second
local HTTP server whose page carries the widget's script tag) and the front desk answers in the console
side by side; a reload on either side loses nothing; with the WebSocket refused the widget polls; the
chat becomes a repair order. Building management, not the helpdesk."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tests.conftest import browser_login, install_package, make_user
from tests.runtime.chat_package import chat_package

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True), pytest.mark.timeout(120)]


def _site(app_url: str):
    """The estate's web site on localhost (the app is on 127.0.0.1): one page with the script tag."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (f'<!doctype html><meta charset="utf-8"><title>Estate</title><h1>Sunny Gardens</h1>'
                    f'<script src="{app_url}/static/js/chat-widget.js" data-jimu-chat="enquiry" data-lang="zh-CN" '
                    f'defer></script>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _bubbles(page, selector):
    return page.locator(f"{selector} [data-message] span").all_inner_texts()


def test_visitor_and_desk_chat_across_origins_and_reloads(jimu, live_server, browser, artifacts):
    site = _site(live_server)
    try:
        origin = f"http://localhost:{site.server_port}"
        install_package(jimu, chat_package((origin,)))
        make_user(jimu, "desk", roles=["desk"])
        with jimu.begin() as conn:
            from runtime.auth.principal import ANONYMOUS
            from runtime.records import Records
            Records(jimu, conn, ANONYMOUS, check_permissions=False).create(
                "canned_reply", {"title": "稍等", "text": "请稍等，马上派人。"})

        visitor_ctx = browser.new_context(locale="zh-CN", viewport={"width": 900, "height": 800})
        visitor = visitor_ctx.new_page()
        sockets, polls = [], []
        visitor.on("websocket", lambda ws: sockets.append(ws.url))
        visitor.on("request", lambda r: polls.append(r.url) if "/mine?after=" in r.url else None)
        visitor.goto(f"{origin}/")
        visitor.click("[data-jimu-chat-open]")
        panel = "[data-jimu-chat-panel]"
        visitor.fill(f"{panel} input[name=name]", "王芳")
        visitor.fill(f"{panel} input[name=email]", "wang@example.com")
        visitor.fill(f"{panel} form input", "楼道灯坏了")
        visitor.press(f"{panel} form input", "Enter")
        visitor.locator(f"{panel} [data-from=visitor]").first.wait_for()

        desk_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
        desk = desk_ctx.new_page()
        browser_login(desk, live_server, "desk")
        desk.goto(f"{live_server}/chat/enquiry")
        desk.wait_for_function("document.getElementById('chat-console').dataset.ready === '1'")
        desk.click("[data-queue] li:has-text('王芳')")
        desk.locator("[data-messages] [data-from=visitor]", has_text="楼道灯坏了").wait_for()
        # a canned reply inserted into the answer, sent; the visitor sees it pushed
        desk.click("[data-snippets] summary")
        desk.click("[data-snippet-list] button:has-text('稍等')")
        assert desk.input_value("[data-text]") == "请稍等，马上派人。"
        desk.click("[data-send]")
        visitor.locator(f"{panel} [data-from=staff]", has_text="请稍等").wait_for(timeout=20000)
        visitor.fill(f"{panel} form input", "在 3 号楼")
        visitor.press(f"{panel} form input", "Enter")
        desk.locator("[data-messages] [data-from=visitor]", has_text="在 3 号楼").wait_for(timeout=20000)
        desk.screenshot(path=str(artifacts / "live-chat-console.png"), full_page=True)

        assert sockets and sockets[0].endswith("/chat/enquiry/socket") and not polls   # pushed over the socket
        # the visitor reloads, and from now on the WebSocket is refused: the widget polls
        visitor.route_web_socket("**/socket", lambda ws: ws.close())
        visitor.reload()
        visitor.locator(f"{panel} [data-from=staff]", has_text="请稍等").wait_for()
        assert _bubbles(visitor, panel) == ["楼道灯坏了", "请稍等，马上派人。", "在 3 号楼"]
        desk.fill("[data-text]", "师傅十分钟后到")
        desk.click("[data-send]")
        visitor.locator(f"{panel} [data-from=staff]", has_text="师傅十分钟后到").wait_for(timeout=20000)
        assert polls   # the answer came by polling from the cursor
        visitor.screenshot(path=str(artifacts / "live-chat-visitor.png"), full_page=True)

        # the desk reloads: the chat is still open with its whole history, then handed over
        desk.reload()
        desk.wait_for_function("document.getElementById('chat-console').dataset.ready === '1'")
        desk.locator("[data-messages] [data-from=staff]", has_text="师傅十分钟后到").wait_for()
        assert _bubbles(desk, "[data-messages]") == ["楼道灯坏了", "请稍等，马上派人。", "在 3 号楼", "师傅十分钟后到"]
        desk.click("[data-action=handover]")
        desk.locator("[data-handed]").wait_for()
        ft = jimu.catalog.form("repair_order")
        with jimu.read() as conn:
            rows = conn.execute(sa.select(ft.columns["reporter"], ft.columns["details"])).all()
        assert len(rows) == 1 and rows[0][0] == "王芳" and "师傅十分钟后到" in rows[0][1]
        desk.screenshot(path=str(artifacts / "live-chat-handover.png"), full_page=True)
        visitor_ctx.close()
        desk_ctx.close()
    finally:
        site.shutdown()
