"""The customer-service package's SMS survey, NPS, phone linking, follow-up task and peak hours, on the
real package: the CSAT survey link goes by SMS (a local Aliyun-shaped vendor) to a customer with a mobile
number and no e-mail; NPS computed by the report engine from 0–10 answers; a ticket with only a phone
number links its customer; three days after closing the handler gets a follow-up task (clock moved)."""
from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest

from tests.runtime.cs_fixtures import complete, install, open_tasks, records, run_jobs, ticket
from tests.runtime.flow_fixtures import tasks
from tests.runtime.rules_helpers import create, get
from tests.runtime.test_sms import KEY_ID, SECRET, Vendor

#: sqlite only: the package's flows and rules make each test a few seconds; the SMS channel's
#: PostgreSQL path is test_sms's
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def staff(jimu):
    return install(jimu)


@pytest.fixture
def aliyun(jimu, monkeypatch):
    v = Vendor("aliyun")
    for k, val in {"SMS_PROVIDER": "aliyun", "SMS_ACCESS_KEY_ID": KEY_ID, "SMS_ACCESS_KEY_SECRET": SECRET,
                   "SMS_SIGN_NAME": "积木客服", "SMS_ENDPOINT": v.url, "OUTBOUND_ALLOWLIST": "127.0.0.1",
                   "BASE_URL": "https://desk.example"}.items():
        monkeypatch.setitem(jimu.config, k, val)
    yield v
    v.close()


def _close(jimu, clock, rid):
    """Solve ticket ``rid`` by its assignee and have the customer confirm: it is closed."""
    run_jobs(jimu)
    (task,) = open_tasks(jimu, rid)
    complete(jimu, task["id"], "resolved", task["assignee_user_id"])
    run_jobs(jimu)
    (confirm,) = open_tasks(jimu, rid)
    clock.advance(hours=1)
    complete(jimu, confirm["id"], "confirmed", confirm["assignee_user_id"])
    run_jobs(jimu)
    assert get(jimu, "工单", rid)["状态"] == "已关闭"


def test_the_survey_goes_by_sms_to_a_customer_with_a_mobile_number_and_no_email(jimu, staff, clock, aliyun, client):
    by_phone = ticket(jimu, 客户姓名="王五", 联系电话="13912345678")
    by_mail = ticket(jimu, 客户姓名="赵六", 联系电话="13700001111", 邮箱="zhao@example.com")
    _close(jimu, clock, by_phone["id"])
    _close(jimu, clock, by_mail["id"])
    assert aliyun.problems == []
    # one SMS: to the customer without e-mail (the other gets the survey by e-mail, not twice)
    [req] = aliyun.requests
    assert req["PhoneNumbers"] == "13912345678" and req["TemplateCode"] == "SMS_CSAT_SURVEY"
    params = json.loads(req["TemplateParam"])
    row = get(jimu, "工单", by_phone["id"])
    assert params["name"] == "王五" and params["no"] == row["工单编号"]
    link = urlsplit(params["link"])
    assert link.netloc == "desk.example" and unquote(link.path) == "/p/满意度调查" and "ref=" in link.query
    # the link opens the survey about this ticket, which takes the NPS answer beside the rating
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and "推荐意愿" in page.get_data(as_text=True)
    from runtime.rules.sms import delivery_records
    with jimu.read() as conn:
        [sent] = delivery_records(conn, "工单", by_phone["id"])
    assert sent["status"] == "sent" and sent["rule_key"] == "csat_survey_sms" and sent["provider_id"] == "biz-1"


def test_nps_is_promoters_minus_detractors_over_the_answers(jimu, staff, client, admin_headers):
    t = ticket(jimu)
    answers = [10, 9, 9, 8, 7, 6, 3, 0, 10, None]  # 9 answers: 4 promoters, 2 passives, 3 detractors
    for a in answers:
        create(jimu, "满意度调查", {"工单": t["id"], "评分": 4, **({} if a is None else {"推荐意愿": a})})
    r = client.get("/api/v1/reports/nps/data", headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    [row] = r.get_json()["rows"]
    assert (row["nps_responses"], row["promoters"], row["detractors"]) == (9, 4, 3)
    assert row["nps"] == pytest.approx((4 / 9 - 3 / 9) * 100, abs=1e-9)
    # an answer outside 0–10 is refused by the form
    bad = client.post("/api/v1/forms/满意度调查/records", headers=admin_headers,
                      json={"工单": t["id"], "评分": 5, "推荐意愿": 11})
    assert bad.status_code == 422


def test_a_ticket_with_only_a_phone_number_links_the_customer_with_it(jimu, staff):
    known = create(jimu, "客户", {"客户姓名": "孙七", "联系电话": "13800138000"})
    other = create(jimu, "客户", {"客户姓名": "周八", "联系电话": "13600136000", "邮箱": "zhou@example.com"})
    t = ticket(jimu, 客户姓名="孙七", 联系电话="+86 138-0013-8000")
    assert get(jimu, "工单", t["id"])["客户"] == known["id"]
    # the e-mail still decides when there is one
    by_mail = ticket(jimu, 客户姓名="周八", 联系电话="13800138000", 邮箱="zhou@example.com")
    assert get(jimu, "工单", by_mail["id"])["客户"] == other["id"]
    stranger = ticket(jimu, 联系电话="13511112222")
    assert get(jimu, "工单", stranger["id"])["客户"] is None


def test_three_days_after_closing_the_handler_gets_a_follow_up_task(jimu, staff, clock):
    t = ticket(jimu, 客户姓名="吴九", 联系电话="13312345678")
    _close(jimu, clock, t["id"])
    row = get(jimu, "工单", t["id"])
    handler = row["处理人"]
    clock.advance(days=3, minutes=-1)
    run_jobs(jimu)
    assert records(jimu, "回访任务") == []
    clock.advance(minutes=2)
    run_jobs(jimu)
    [followup] = records(jimu, "回访任务")
    assert followup["工单"] == t["id"] and followup["负责人"] == handler and row["工单编号"] in followup["说明"]
    [task] = [x for x in tasks(jimu, record_id=followup["id"], status="open") if x["form_key"] == "回访任务"]
    assert task["assignee_user_id"] == handler and task["node_id"] == "call"
    clock.advance(days=10)
    run_jobs(jimu)
    assert len(records(jimu, "回访任务")) == 1  # once per closing


def test_a_ticket_reopened_before_the_follow_up_gets_none(jimu, staff, clock):
    from tests.runtime.cs_fixtures import reply
    t = ticket(jimu, 联系电话="13312345679")
    _close(jimu, clock, t["id"])
    clock.advance(days=1)
    reply(jimu, t["id"], "又坏了", who="客户")
    run_jobs(jimu)
    assert get(jimu, "工单", t["id"])["状态"] == "处理中"
    clock.advance(days=3)
    run_jobs(jimu)
    assert records(jimu, "回访任务") == []


def test_peak_hours_count_tickets_by_hour_of_day(jimu, staff, clock, client, admin_headers):
    ticket(jimu)  # 09:00 UTC
    clock.advance(days=1)
    ticket(jimu)
    clock.advance(hours=5)
    ticket(jimu)
    r = client.get("/api/v1/reports/peak_hours/data", headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    counts = {row["hour"]: row["n"] for row in r.get_json()["rows"] if row["n"]}
    assert counts == {"09": 2, "14": 1}
