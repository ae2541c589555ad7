"""The SMS channel against local vendor servers that check what the vendors document: Aliyun's
dysmsapi SendSms (RPC query, Signature v1.0 HMAC-SHA1) and Tencent Cloud's SendSms (API 3.0 JSON,
TC3-HMAC-SHA256 Authorization). Each server recomputes the signature from the request it received
(its own implementation, written from the vendors' documentation), checks the request's shape and
answers as the vendor does: success, an error, throttling. The rules are a clinic's appointment
reminders (another domain than the helpdesk)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import sqlalchemy as sa

from engines.rule import RuleInvalid, compile_rule
from runtime import db, jobs
from tests.conftest import install_package

KEY_ID, SECRET = "LTAI-test-id", "test-secret-key"
#: the delivery records' PostgreSQL path (own transactions) is the first two tests'; the rest run on SQLite
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

CLINIC = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "clinic", "version": "1.0.0", "label": "Clinic"},
    "roles": [{"key": "front_desk", "version": 1, "label": "Front desk",
               "permissions": {"appointment": ["create", "read", "update"]},
               "fields": {"appointment": {"notes": "hidden"}}}],
    "forms": [{"key": "appointment", "version": 1, "label": "Appointment", "title_field": "patient",
               "fields": [{"key": "patient", "label": "Patient", "widget": "text"},
                          {"key": "mobile", "label": "Mobile", "widget": "phone", "config": {"region": "any"}},
                          {"key": "at", "label": "Time", "widget": "text"},
                          {"key": "notes", "label": "Notes", "widget": "text"}]}],
    "rules": [{"key": "remind", "version": 1, "label": "Remind by SMS", "form": "appointment",
               "trigger": {"type": "record_created"}, "condition": {"field": "mobile", "op": "is_not_empty"},
               "actions": [{"type": "notify", "channel": "sms", "to": {"phone_fields": ["mobile"]},
                            "sms_template": "SMS_465", "params": {"name": "{patient}", "time": "{at}",
                                                                  "secret": "{notes}"}}]}],
}


# -- the vendors, as documented ---------------------------------------------------------------
def _pct(s: str) -> str:
    return quote(s, safe="-_.~")


def aliyun_expected_signature(secret: str, method: str, params: dict) -> str:
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = method + "&" + _pct("/") + "&" + _pct(canonical)
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def tc3_expected_authorization(secret_id, secret_key, headers, body: bytes) -> str:
    ts = int(headers["X-TC-Timestamp"])
    day = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{headers['Content-Type']}\nhost:{headers['Host']}\n"
    request = f"POST\n/\n\n{canonical_headers}\ncontent-type;host\n{hashlib.sha256(body).hexdigest()}"
    scope = f"{day}/sms/tc3_request"
    string = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"

    def mac(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    signing = mac(mac(mac(f"TC3{secret_key}".encode(), day), "sms"), "tc3_request")
    sig = hmac.new(signing, string.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={sig}"


class Vendor:
    """A local SMS vendor: checks each request's signature and shape, answers from a script."""

    def __init__(self, kind):
        self.kind, self.requests, self.script, self.problems = kind, [], [], []
        self.receipts = {}  # provider id → delivered?, what a status query answers
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = outer.handle(self.command, self.path, dict(self.headers), body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, method, path, headers, body):
        return self.aliyun(method, path) if self.kind == "aliyun" else self.tencent(method, headers, body)

    def aliyun(self, method, path):
        params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        self.requests.append(params)
        given = params.pop("Signature", None)
        if given != aliyun_expected_signature(SECRET, method, params):
            self.problems.append("signature")
            return {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched",
                    "RequestId": "r-sig"}
        action = params.get("Action")
        need = {"AccessKeyId": KEY_ID, "Format": "JSON", "SignatureMethod": "HMAC-SHA1",
                "SignatureVersion": "1.0", "Version": "2017-05-25"}
        wrong = [k for k, v in need.items() if params.get(k) != v]
        own = {"SendSms": ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"),
               "QuerySendDetails": ("PhoneNumber", "BizId", "SendDate", "PageSize", "CurrentPage")}.get(action)
        missing = [k for k in ("SignatureNonce", "Timestamp", "RegionId", *(own or ("Action",)))
                   if not params.get(k)]
        if wrong or missing:
            self.problems.append(("shape", wrong, missing))
            return {"Code": "MissingParameter", "Message": str(missing), "RequestId": "r-shape"}
        datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        if action == "QuerySendDetails":
            datetime.strptime(params["SendDate"], "%Y%m%d")
            delivered = self.receipts.get(params["BizId"])
            dto = [] if delivered is None else [{"PhoneNum": params["PhoneNumber"], "SendStatus": 3 if delivered else 2,
                                                 "ErrCode": "DELIVERED" if delivered else "MK:0001",
                                                 "ReceiveDate": "2026-11-02 17:00:05", "TemplateCode": "SMS_465"}]
            return {"Code": "OK", "Message": "OK", "TotalCount": len(dto), "RequestId": "r-q",
                    "SmsSendDetailDTOs": {"SmsSendDetailDTO": dto}}
        json.loads(params["TemplateParam"])
        if self.script:
            return self.script.pop(0)
        return {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.requests)}", "RequestId": "r-ok"}

    def tencent(self, method, headers, body):
        self.requests.append({"headers": headers, "body": json.loads(body)})
        if method != "POST" or headers.get("Authorization") != tc3_expected_authorization(
                KEY_ID, SECRET, headers, body):
            self.problems.append("signature")
            return {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad signature"},
                                 "RequestId": "r-sig"}}
        action = headers.get("X-TC-Action")
        own = {"SendSms": ("SmsSdkAppId", "SignName", "TemplateId", "TemplateParamSet", "PhoneNumberSet"),
               "PullSmsSendStatus": ("Limit", "SmsSdkAppId")}.get(action, ("Action",))
        data = json.loads(body)
        wrong = ([] if headers.get("X-TC-Version") == "2021-01-11" else ["X-TC-Version"]) + [
            k for k in own if k not in data] + ([] if headers.get("X-TC-Region") else ["X-TC-Region"])
        if wrong:
            self.problems.append(("shape", wrong))
            return {"Response": {"Error": {"Code": "MissingParameter", "Message": str(wrong)}, "RequestId": "r"}}
        if action == "PullSmsSendStatus":
            pulled, self.receipts = self.receipts, {}  # the vendor hands each receipt out once
            return {"Response": {"PullSmsSendStatusSet": [
                {"UserReceiveTime": "2026-11-02 17:00:05", "CountryCode": "86", "SubscriberNumber": "13500135000",
                 "PhoneNumber": "+8613500135000", "SerialNo": sn, "ReportStatus": "SUCCESS" if ok else "FAIL",
                 "Description": "DELIVRD" if ok else "MK:0001", "SessionContext": ""} for sn, ok in pulled.items()],
                "RequestId": "r-pull"}}
        if self.script:
            return self.script.pop(0)
        return {"Response": {"SendStatusSet": [
            {"SerialNo": f"sn-{len(self.requests)}", "PhoneNumber": data["PhoneNumberSet"][0], "Fee": 1,
             "SessionContext": data.get("SessionContext", ""), "Code": "Ok", "Message": "send success",
             "IsoCode": "CN"}], "RequestId": "r-ok"}}

    def close(self):
        self.server.shutdown()


@pytest.fixture(params=["aliyun", "tencent"])
def vendor(request, jimu, monkeypatch):
    v = Vendor(request.param)
    settings = {"SMS_PROVIDER": request.param, "SMS_ACCESS_KEY_ID": KEY_ID, "SMS_ACCESS_KEY_SECRET": SECRET,
                "SMS_SIGN_NAME": "仁心诊所", "SMS_APP_ID": "1400006666", "SMS_ENDPOINT": v.url,
                "OUTBOUND_ALLOWLIST": "127.0.0.1"}
    for k, val in settings.items():
        monkeypatch.setitem(jimu.config, k, val)
    monkeypatch.setenv("JIMU_OUTBOUND_ALLOWLIST", "127.0.0.1")
    yield v
    v.close()


def _create(jimu, data):
    from tests.runtime.rules_helpers import create
    return create(jimu, "appointment", data)


def _records(jimu):
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.sms_messages).order_by(db.sms_messages.c.id)).mappings()]


def _job(jimu):
    with jimu.read() as conn:
        return dict(conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == "rule.sms")).mappings().one())


def _sent(vendor):
    """(number, template, params) of each request as the vendor read it."""
    out = []
    for r in vendor.requests:
        if vendor.kind == "aliyun":
            if r.get("Action") == "SendSms":
                out.append((r["PhoneNumbers"], r["TemplateCode"], json.loads(r["TemplateParam"]), r["SignName"]))
        else:
            b = r["body"]
            if r["headers"].get("X-TC-Action") == "SendSms":
                out.append((b["PhoneNumberSet"][0], b["TemplateId"], b["TemplateParamSet"], b["SignName"]))
    return out


def test_a_rule_sends_the_template_with_its_variables_signed_as_the_vendor_documents(jimu, vendor):
    install_package(jimu, CLINIC)
    rec = _create(jimu, {"patient": "王小明", "mobile": "138 0013 8000", "at": "11月3日 10:30",
                         "notes": "内部备注"})
    assert vendor.requests == []  # planned in the write, sent by the outbox
    jobs.run_due(jimu)
    assert vendor.problems == []
    # the record's hidden field reaches no outsider: an SMS leaves Jimu
    if vendor.kind == "aliyun":
        assert _sent(vendor) == [("13800138000", "SMS_465", {"name": "王小明", "time": "11月3日 10:30", "secret": ""},
                                  "仁心诊所")]
    else:  # positional variables in the order of their names, E.164 numbers
        assert _sent(vendor) == [("+8613800138000", "SMS_465", ["王小明", "", "11月3日 10:30"], "仁心诊所")]
    [row] = _records(jimu)
    assert row["status"] == "sent" and row["provider"] == vendor.kind and row["phone"] == "+8613800138000"
    assert row["provider_id"] == ("biz-1" if vendor.kind == "aliyun" else "sn-1")
    assert row["form_key"] == "appointment" and row["record_id"] == rec["id"] and row["rule_key"] == "remind"
    assert _job(jimu)["status"] == "done"


def test_throttling_retries_later_and_the_record_counts_the_attempts(jimu, vendor, clock):
    install_package(jimu, CLINIC)
    vendor.script = [{"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1",
                      "RequestId": "r"} if vendor.kind == "aliyun" else
                     {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too many requests"},
                                   "RequestId": "r"}}]
    _create(jimu, {"patient": "李", "mobile": "13900139000", "at": "t"})
    jobs.run_due(jimu)
    [row] = _records(jimu)
    assert row["status"] == "throttled" and row["attempts"] == 1
    job = _job(jimu)
    assert job["status"] == "pending" and "throttled the SMS" in job["last_error"]
    clock.advance(minutes=5)
    jobs.run_due(jimu)
    [row] = _records(jimu)
    assert row["status"] == "sent" and row["attempts"] == 2 and row["provider_id"]
    assert _job(jimu)["status"] == "done" and len(vendor.requests) == 2 and vendor.problems == []
    clock.advance(hours=1)
    assert jobs.run_due(jimu) == 0  # nothing sent twice


@SQLITE
def test_a_refused_message_fails_at_once_with_the_vendors_code(jimu, vendor, client, admin_headers):
    install_package(jimu, CLINIC)
    vendor.script = [{"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r"}
                     if vendor.kind == "aliyun" else
                     {"Response": {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": "+8613700137000", "Fee": 0,
                                                      "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                                      "Message": "incorrect phone number"}], "RequestId": "r"}}]
    _create(jimu, {"patient": "赵", "mobile": "13700137000", "at": "t"})
    jobs.run_due(jimu)
    job = _job(jimu)
    code = "isv.MOBILE_NUMBER_ILLEGAL" if vendor.kind == "aliyun" else "InvalidParameterValue.IncorrectPhoneNumber"
    assert job["status"] == "failed" and job["attempts"] == 1 and code in job["last_error"]
    [row] = _records(jimu)
    assert row["status"] == "failed" and row["code"] == code and row["provider_id"] is None
    r = client.get("/api/v1/sms/messages?form=appointment", headers=admin_headers)
    assert r.status_code == 200 and [m["status"] for m in r.json["messages"]] == ["failed"]


@SQLITE
def test_a_wrong_secret_is_refused_by_the_vendor_and_never_marked_sent(jimu, vendor, monkeypatch):
    install_package(jimu, CLINIC)
    monkeypatch.setitem(jimu.config, "SMS_ACCESS_KEY_SECRET", "not-the-secret")
    _create(jimu, {"patient": "钱", "mobile": "13600136000", "at": "t"})
    jobs.run_due(jimu)
    assert vendor.problems == ["signature"]
    [row] = _records(jimu)
    assert row["status"] == "failed" and row["code"] in ("SignatureDoesNotMatch", "AuthFailure.SignatureFailure")


@SQLITE
def test_receipts_set_the_delivery_status_and_need_the_urls_token(jimu, vendor, client, admin_headers):
    install_package(jimu, CLINIC)
    _create(jimu, {"patient": "孙", "mobile": "13500135000", "at": "t"})
    jobs.run_due(jimu)
    [row] = _records(jimu)
    urls = client.get("/api/v1/sms/messages", headers=admin_headers).json["receipt_urls"]
    path = urlsplit(urls[vendor.kind]).path
    if vendor.kind == "aliyun":
        body = [{"phone_number": "13500135000", "send_time": "2026-11-02 09:00:00",
                 "report_time": "2026-11-02 09:00:05", "success": False, "err_code": "MK:0001",
                 "err_msg": "用户停机", "sms_size": "1", "biz_id": row["provider_id"], "out_id": ""}]
        answer = {"code": 0, "msg": "成功"}
    else:
        body = [{"user_receive_time": "2026-11-02 09:00:05", "nationcode": "86", "mobile": "13500135000",
                 "report_status": "FAIL", "errmsg": "MK:0001", "description": "用户停机", "sid": row["provider_id"]}]
        answer = {"result": 0, "errmsg": "OK"}
    bad = client.post(path[:-4] + "0000", json=body)
    assert bad.status_code == 401 and bad.json["error"]["code"] == "sms.bad_receipt_token"
    r = client.post(path, json=body)
    assert r.status_code == 200 and r.json == answer
    [row] = _records(jimu)
    assert row["status"] == "undelivered" and row["code"] == "MK:0001" and row["receipt_at"] is not None
    body[0].update({"success": True, "err_code": "DELIVERED"} if vendor.kind == "aliyun" else
                   {"report_status": "SUCCESS", "errmsg": "DELIVRD"})
    client.post(path, json=body)
    assert _records(jimu)[0]["status"] == "delivered"


@SQLITE
def test_receipts_are_pulled_from_the_vendor_by_its_status_query(jimu, vendor, client, admin_headers):
    install_package(jimu, CLINIC)
    _create(jimu, {"patient": "郑", "mobile": "13500135000", "at": "t"})
    _create(jimu, {"patient": "冯", "mobile": "13500135001", "at": "t"})
    jobs.run_due(jimu)
    first, second = _records(jimu)
    vendor.receipts = {first["provider_id"]: True}  # the second has no receipt yet
    r = client.post("/api/v1/sms/receipts/pull", headers=admin_headers)
    assert r.status_code == 200 and r.json == {"updated": 1} and vendor.problems == []
    first, second = _records(jimu)
    assert first["status"] == "delivered" and first["receipt_at"] is not None and second["status"] == "sent"
    asked = [q.get("Action") if vendor.kind == "aliyun" else q["headers"]["X-TC-Action"] for q in vendor.requests]
    assert asked[-1] == ("QuerySendDetails" if vendor.kind == "aliyun" else "PullSmsSendStatus")
    vendor.receipts = {second["provider_id"]: False}
    assert client.post("/api/v1/sms/receipts/pull", headers=admin_headers).json == {"updated": 1}
    assert [x["status"] for x in _records(jimu)] == ["delivered", "undelivered"]


@SQLITE
def test_sms_messages_are_for_admins(jimu, client):
    from tests.conftest import api_token, make_user
    install_package(jimu, CLINIC)
    uid = make_user(jimu, "desk", roles=["front_desk"])
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    assert client.get("/api/v1/sms/messages", headers=headers).status_code == 403
    assert client.post("/api/v1/sms/receipts/pull", headers=headers).status_code == 403


@SQLITE
def test_without_settings_the_job_says_what_to_set(jimu):
    install_package(jimu, CLINIC)
    _create(jimu, {"patient": "周", "mobile": "13400134000", "at": "t"})
    jobs.run_due(jimu)
    job = _job(jimu)
    assert job["status"] == "pending" and "JIMU_SMS_PROVIDER" in job["last_error"]


@pytest.mark.parametrize("action, code", [
    ({"type": "notify", "channel": "sms", "to": {"users": ["ann"]}, "sms_template": "T"}, "rule.sms_recipients"),
    ({"type": "notify", "channel": "sms", "to": {"phone_fields": ["mobile"]}}, "rule.sms_template_missing"),
    ({"type": "notify", "channel": "email", "to": {"emails": ["a@b.c"]}, "sms_template": "T"}, "rule.bad_action"),
    ({"type": "send_survey", "channel": "sms", "survey_form": "s", "to": {"phone_fields": ["mobile"]},
      "sms_template": "T", "subject": "x"}, "rule.bad_action"),
])
def test_an_sms_action_is_checked_when_the_rule_is_saved(action, code):
    with pytest.raises(RuleInvalid) as err:
        compile_rule({"key": "r", "version": 1, "form": "appointment", "trigger": {"type": "record_created"},
                      "actions": [action]})
    assert code in {e["code"] for e in err.value.errors}
