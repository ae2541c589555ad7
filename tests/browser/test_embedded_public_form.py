"""Issue 13 item 5: a purchasing app's public request form embedded in an iframe on another site
(a second local HTTP server, on another host name so the browser treats it as cross-site) is filled
and submitted there; a site the form does not declare cannot frame it."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import api_token, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _site(app_url: str):
    """A tiny web site on localhost (the app is on 127.0.0.1): one page framing the public form."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (f'<!doctype html><meta charset="utf-8"><title>Intranet</title><h1>Intranet</h1>'
                    f'<iframe id="embed" src="{app_url}/p/purchase" width="800" height="700"></iframe>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _package(origin: str) -> dict:
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "purchasing", "version": "1.0.0", "label": "Purchasing"},
            "forms": [{"key": "purchase", "version": 1, "label": {"zh-CN": "采购申请", "en": "Purchase request"},
                       "title_field": "item",
                       "fields": [{"key": "item", "label": {"zh-CN": "物品", "en": "Item"}, "widget": "text",
                                   "required": True},
                                  {"key": "qty", "label": {"zh-CN": "数量", "en": "Quantity"}, "widget": "number"}],
                       "public": {"submit": {"fields": ["item", "qty"]}, "embed_origins": [origin]}}]}


def test_public_form_submitted_inside_an_iframe_on_another_origin(jimu, live_server, browser, artifacts, client):
    site, other = _site(live_server), _site(live_server)
    try:
        origin = f"http://localhost:{site.server_port}"
        install_package(jimu, _package(origin))
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{origin}/")
        frame = page.frame_locator("#embed")
        frame.get_by_label("物品").fill("27 寸显示器")
        frame.get_by_label("数量").fill("3")
        frame.get_by_role("button", name="提交").click()
        frame.locator(".done").wait_for()
        page.screenshot(path=str(artifacts / "embedded-public-form.png"), full_page=True)
        token = api_token(jimu, make_user(jimu, "buyer", admin=True))
        rows = client.get("/api/v1/forms/purchase/records",
                          headers={"Authorization": f"Bearer {token}"}).get_json()["records"]
        assert [(r["item"], r["qty"]) for r in rows] == [("27 寸显示器", 3)]

        # an origin the form does not declare gets no frame (frame-ancestors)
        blocked = browser.new_context().new_page()
        blocked.goto(f"http://localhost:{other.server_port}/")
        blocked.wait_for_timeout(500)
        frame = blocked.frame(url=lambda u: "/p/purchase" in u)
        assert frame is None or not frame.locator("form[data-jimu-form]").count()
        blocked.screenshot(path=str(artifacts / "embedded-public-form-refused.png"))
        page.context.close()
        blocked.context.close()
    finally:
        site.shutdown()
        other.shutdown()
