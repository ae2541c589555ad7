"""Views, related timelines with an inline composer and templates, and suggestions — declared
in the customer-service package, rendered by the generic record pages."""
import html as htmllib
import re

from tests.conftest import install_package, make_user
from tests.runtime.test_ui_records import login
from tests.test_customer_service import load


def api(client, headers, form, data):
    resp = client.post(f"/api/v1/forms/{form}/records", json=data, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def ticket(**kw):
    return {"标题": "无法登录账号", "客户姓名": "张三", "问题类型": "账号问题", "问题详细描述": "登录时提示密码错误，重置密码收不到验证码", **kw}


def test_my_view_shows_only_my_open_tickets(client, jimu, admin_headers):
    install_package(jimu, load())
    token = login(client, jimu, "agent1", roles=["agent"])
    other = make_user(jimu, "agent2", roles=["agent"])
    with jimu.read() as conn:
        import sqlalchemy as sa
        from runtime import db
        me = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "agent1")).scalar_one()
    api(client, admin_headers, "工单", ticket(标题="我的一", 处理人=me))
    api(client, admin_headers, "工单", ticket(标题="我的已关闭", 处理人=me, 状态="已关闭"))
    api(client, admin_headers, "工单", ticket(标题="别人的", 处理人=other))
    page = client.get("/forms/工单?view=mine").get_data(as_text=True)
    assert "我的一" in page and "我的已关闭" not in page and "别人的" not in page
    assert client.get("/forms/工单?view=nope").status_code == 400
    assert token


def test_reply_from_the_ticket_page_with_a_template(client, jimu, admin_headers):
    install_package(jimu, load())
    token = login(client, jimu, "agent1", roles=["agent"])
    t = api(client, admin_headers, "工单", ticket(客户姓名="{{7*7}}李四"))
    api(client, admin_headers, "回复模板", {"名称": "首次回复", "正文": "{客户姓名}您好，工单 {工单编号} 已收到。"})
    page = client.get(f"/forms/工单/{t['id']}").get_data(as_text=True)
    texts = [htmllib.unescape(x) for x in re.findall(r'data-text="([^"]*)"', page)]
    assert texts == [f"{{{{7*7}}}}李四您好，工单 {t['工单编号']} 已收到。"]     # user data stays data
    resp = client.post("/forms/回复/new", data={"csrf_token": token, "工单": t["id"], "类型": "内部备注",
                                                 "内容": "需要二线看看", "next": f"/forms/工单/{t['id']}"})
    from urllib.parse import unquote
    assert resp.status_code == 302 and unquote(resp.headers["Location"]).endswith(f"/forms/工单/{t['id']}")
    page = client.get(f"/forms/工单/{t['id']}").get_data(as_text=True)
    timeline = page[page.index('data-related="回复"'):]
    assert "需要二线看看" in timeline and 'class="highlight"' in timeline and "agent1" in timeline


def test_knowledge_suggestions_match_chinese_text_and_respect_the_filter(client, jimu, admin_headers):
    install_package(jimu, load())
    login(client, jimu, "agent1", roles=["agent"])
    api(client, admin_headers, "知识库文章", {"标题": "如何重置登录密码", "正文": "<p>点击忘记密码，用验证码重置。</p>", "已发布": True})
    api(client, admin_headers, "知识库文章", {"标题": "发票重开流程", "正文": "<p>提供税号</p>", "已发布": True})
    api(client, admin_headers, "知识库文章", {"标题": "重置密码内部脚本", "正文": "<p>不公开</p>", "已发布": False})
    t = api(client, admin_headers, "工单", ticket())
    page = client.get(f"/forms/工单/{t['id']}").get_data(as_text=True)
    box = page[page.index('data-suggest="知识库文章"'):]
    box = box[:box.index("</section>")]
    assert "如何重置登录密码" in box and "内部脚本" not in box and "发票" not in box
