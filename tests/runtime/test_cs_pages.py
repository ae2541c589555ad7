"""The customer-service package in the browser's HTTP conversation (no JavaScript needed): the customer
confirms or reopens from the private status link, one click turns a solved ticket into a draft article
that a Chinese search on the public portal finds once published, and the navigation to tasks and the
process."""
from __future__ import annotations

import re

import pytest

from tests.conftest import sign_in
from tests.runtime.cs_fixtures import complete, install, open_tasks, run_jobs, ticket
from tests.runtime.rules_helpers import get


def login(client, jimu, uid):
    return sign_in(client, jimu, uid)


def csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def staff(jimu):
    return install(jimu)


def resolved(jimu, **values):
    t = ticket(jimu, **values)
    run_jobs(jimu)
    (task,) = open_tasks(jimu, t["id"])
    complete(jimu, task["id"], "resolved", task["assignee_user_id"])
    run_jobs(jimu)
    return t


def status_url(app, t):
    from runtime.public import record_token
    with app.test_request_context():
        return f"/p/工单/s/{record_token('工单', t['id'])}"


def test_the_customer_confirms_from_the_status_link(app, client, jimu, staff):
    t = resolved(jimu)
    url = status_url(app, t)
    html = client.get(url).get_data(as_text=True)
    assert 'data-outcome="confirmed"' in html and 'data-outcome="reopen"' in html and "确认已解决" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    r = client.post(action, data={"csrf_token": token, "outcome": "confirmed", "comment": "可以了，谢谢"})
    assert r.status_code == 302 and "answered=confirmed" in r.headers["Location"]
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "已关闭" and row["重开次数"] == 0 and open_tasks(jimu, t["id"]) == []
    after = client.get(url).get_data(as_text=True)
    assert 'data-outcome="confirmed"' not in after  # nothing left to answer
    assert client.post(action, data={"csrf_token": token, "outcome": "confirmed"}).status_code == 409


def test_the_customer_reopens_from_the_status_link_and_cannot_pick_other_outcomes(app, client, jimu, staff):
    t = resolved(jimu)
    url = status_url(app, t)
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    assert client.post(action, data={"csrf_token": token, "outcome": "resolved"}).status_code == 403
    assert client.post(action, data={"outcome": "reopen"}).status_code == 403  # no CSRF token
    assert get(jimu, "工单", t["id"])["状态"] == "已解决"
    # a link for another record cannot answer this record's task
    other = resolved(jimu, 标题="另一个")
    foreign = status_url(app, other)
    task_id = action.rsplit("/", 1)[1]
    assert client.post(f"{foreign}/tasks/{task_id}", data={"csrf_token": token, "outcome": "reopen"}).status_code == 409
    r = client.post(action, data={"csrf_token": token, "outcome": "reopen"})
    assert r.status_code == 302
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "处理中" and row["重开次数"] == 1
    assert [x["node_id"] for x in open_tasks(jimu, t["id"])] == ["diagnose"]


def test_one_click_turns_a_solved_ticket_into_an_article_found_on_the_portal(app, client, jimu, staff):
    t = resolved(jimu, 标题="忘记密码收不到验证码", 问题详细描述="短信验证码一直收不到，无法重置密码")
    open_one = ticket(jimu, 标题="还在处理")
    ann = get(jimu, "工单", t["id"])["处理人"]
    token = login(client, jimu, ann)
    page = client.get(f"/forms/工单/{t['id']}").get_data(as_text=True)
    assert 'data-rule="to_article"' in page and "转为知识库文章" in page
    assert 'data-link="process"' in page and 'data-link="tasks"' in page
    assert 'data-rule="to_article"' not in client.get(f"/forms/工单/{open_one['id']}").get_data(as_text=True)
    r = client.post(f"/forms/工单/{t['id']}/run/to_article", data={"csrf_token": token})
    assert r.status_code == 302
    m = re.search(r"/forms/([^/]+)/(\d+)$", r.headers["Location"])
    from urllib.parse import unquote
    assert unquote(m.group(1)) == "知识库文章"
    article = get(jimu, "知识库文章", int(m.group(2)))
    assert article["标题"] == "忘记密码收不到验证码" and article["来源工单"] == t["id"]
    assert article["已发布"] is False and "短信验证码一直收不到" in article["正文"] and article["分类"] == "账号问题"
    # a draft is not on the portal; once published, a Chinese search finds it
    assert "忘记密码收不到验证码" not in client.get("/p/知识库文章/portal?q=验证码").get_data(as_text=True)
    from tests.runtime.rules_helpers import update
    update(jimu, "知识库文章", article["id"], {"已发布": True})
    portal = client.get("/p/知识库文章/portal?q=验证码").get_data(as_text=True)
    assert "忘记密码收不到验证码" in portal
    assert "忘记密码收不到验证码" not in client.get("/p/知识库文章/portal?q=退款").get_data(as_text=True)
    # the rule is refused where its condition does not hold
    r = client.post(f"/forms/工单/{open_one['id']}/run/to_article", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/{open_one['id']}")


def test_the_manual_rule_over_the_api(client, jimu, staff):
    from tests.conftest import api_token
    t = resolved(jimu)
    headers = {"Authorization": f"Bearer {api_token(jimu, staff['ann'])}"}
    r = client.post(f"/api/v1/forms/工单/records/{t['id']}/run/to_article", headers=headers)
    assert r.status_code == 200, r.get_json()
    (made,) = r.get_json()["records"]
    assert made["form"] == "知识库文章"
    nobody = {"Authorization": f"Bearer {api_token(jimu, staff['csm'])}"}
    # csm is an agent too: allowed; an expert may update tickets as well — a user without roles may not
    from tests.conftest import make_user
    stranger = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'stranger'))}"}
    assert client.post(f"/api/v1/forms/工单/records/{t['id']}/run/to_article", headers=stranger).status_code == 403
    assert client.post(f"/api/v1/forms/工单/records/{t['id']}/run/nope", headers=nobody).status_code == 404
    fresh = ticket(jimu)
    r = client.post(f"/api/v1/forms/工单/records/{fresh['id']}/run/to_article", headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rule.not_applicable"


def test_my_tasks_link_in_the_header(client, jimu, staff):
    login(client, jimu, staff["ann"])
    html = client.get("/").get_data(as_text=True)
    assert 'href="/tasks"' in html and "我的任务" in html
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "My tasks" in html


def test_the_assignee_finds_the_task_and_the_process_of_a_ticket(client, jimu, staff):
    t = ticket(jimu, 标题="打印机无法连接")
    ann = get(jimu, "工单", t["id"])["处理人"]
    login(client, jimu, ann)
    inbox = client.get("/tasks").get_data(as_text=True)
    assert "打印机无法连接" in inbox and "一线诊断" in inbox
    process = client.get(f"/forms/工单/{t['id']}/process")
    assert process.status_code == 200
    html = process.get_data(as_text=True)
    assert all(label in html for label in ("系统自动受理", "一线诊断", "二线专家", "客户确认"))


def test_a_public_submission_is_dispatched_and_its_status_link_shows_no_answer_yet(client, jimu, staff):
    token = csrf(client, "/p/工单")
    r = client.post("/p/工单", data={"csrf_token": token, "标题": "退款还没到账", "客户姓名": "王芳",
                                      "邮箱": "wang@example.com", "问题类型": "退款", "紧急程度": "中",
                                      "问题详细描述": "申请退款一周了", "处理人": "1"})
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    status = re.search(r'href="(http://[^"]+/p/[^"]+/s/[^"]+)"', html).group(1)
    from tests.runtime.cs_fixtures import group_id, records
    (t,) = records(jimu, "工单")
    assert (t["处理组"], t["处理人"]) == (group_id(jimu, "finance"), staff["fin"])  # dispatched, not the posted 处理人
    assert [x["node_id"] for x in open_tasks(jimu, t["id"])] == ["diagnose"]
    page = client.get(status.split("localhost", 1)[-1]).get_data(as_text=True)
    assert t["工单编号"] in page and "data-outcome" not in page
