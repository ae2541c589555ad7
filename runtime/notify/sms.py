"""SMS providers: one interface (``SmsProvider.send``), two vendors' documented HTTP APIs.

* **Aliyun** (阿里云短信, dysmsapi ``SendSms``, version 2017-05-25): an RPC call whose query carries the
  common parameters (``AccessKeyId``, ``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``,
  ``SignatureNonce``, ``Timestamp``, ``Format=JSON``, ``Action``, ``Version``, ``RegionId``) and the
  operation's (``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` as a JSON object of
  the template's named variables ``${name}``), signed with ``Signature`` = base64 HMAC-SHA1 over
  ``GET&%2F&`` + the percent-encoded sorted query, keyed by the AccessKey secret + ``&``. The answer
  is ``{"Code": "OK", "BizId": ...}`` or another ``Code`` (``isv.BUSINESS_LIMIT_CONTROL`` is throttling).
* **Tencent Cloud** (腾讯云短信, API 3.0 ``SendSms``, version 2021-01-11): a JSON POST with the
  ``X-TC-*`` headers, signed with TC3-HMAC-SHA256 (canonical request over ``content-type`` and
  ``host``, a key derived from ``TC3`` + SecretKey, the date and the service ``sms``); the body names
  ``SmsSdkAppId``, ``SignName``, ``TemplateId``, ``TemplateParamSet`` (the template's positional
  variables ``{1}``, ``{2}``…) and ``PhoneNumberSet`` (E.164). The answer's
  ``Response.SendStatusSet[]`` holds ``Code`` (``Ok``) and ``SerialNo`` per number, or
  ``Response.Error`` (``RequestLimitExceeded``, ``LimitExceeded.*`` are throttling).

Delivery receipts come pushed (``runtime.rules.sms.receive_receipts``) or pulled (``pull``: Aliyun
``QuerySendDetails`` per message, Tencent ``PullSmsSendStatus``).

Settings (never in a package): ``SMS_PROVIDER`` (``aliyun`` or ``tencent``), ``SMS_ACCESS_KEY_ID``,
``SMS_ACCESS_KEY_SECRET``, ``SMS_SIGN_NAME``, ``SMS_APP_ID`` (Tencent's SmsSdkAppId), ``SMS_REGION``
and ``SMS_ENDPOINT`` (the base URL; the vendor's by default, a local server in tests). Calls go
through the notifier's guarded HTTP client (``runtime.notify.http``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from engines.errors import JimuError


class SmsNotConfigured(JimuError):
    """The deployment has no SMS vendor set: the request was fine, the server's state refuses it (409)."""
    code = "sms.not_configured"
    status = 409


@dataclass(frozen=True)
class SmsResult:
    """What the provider answered for one number: ``status`` is ``sent`` (accepted; the receipt comes
    later), ``throttled`` (try again later) or ``failed`` (refused; retrying does not help)."""

    status: str
    provider_id: str | None = None
    code: str | None = None
    message: str | None = None


#: answers that mean "too many messages now": the job retries with back-off
ALIYUN_THROTTLE = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "isv.DAY_LIMIT_CONTROL")
TENCENT_THROTTLE_PREFIXES = ("RequestLimitExceeded", "LimitExceeded")
#: answers that mean a passing fault at the vendor: retried
ALIYUN_TRANSIENT = ("isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError")
TENCENT_TRANSIENT_PREFIXES = ("InternalError", "FailedOperation.Timeout")


def _percent(value: str) -> str:
    """RFC 3986 encoding as Aliyun's RPC signature wants it (``~`` kept, space as ``%20``)."""
    return quote(str(value), safe="~")


def aliyun_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    query = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{_percent('/')}&{_percent(query)}"


def aliyun_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    mac = hmac.new((secret + "&").encode(), aliyun_string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, *, host: str, service: str, payload: bytes,
                      timestamp: int, content_type: str = "application/json; charset=utf-8") -> str:
    """The ``Authorization`` header of a TencentCloud API 3.0 POST (TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac256(_hmac256(_hmac256(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


_DIGITS = re.compile(r"[\s\-()]")


def normalize(phone: str) -> str | None:
    """A number as ``+<country><number>`` (mainland mobiles without a prefix get ``+86``), or None."""
    p = _DIGITS.sub("", str(phone or ""))
    if p.startswith("00"):
        p = "+" + p[2:]
    if re.fullmatch(r"1[3-9]\d{9}", p):
        return "+86" + p
    if re.fullmatch(r"\+\d{6,15}", p):
        return p
    return None


class SmsProvider:
    """One vendor. ``send`` takes a number normalised by ``normalize``, the template's id at the vendor
    and its variables in the template's order, and answers an ``SmsResult``; a transport fault or an
    answer that is no answer of the API raises (the job retries)."""

    name = ""
    default_endpoint = ""
    #: how the vendor's console names template variables: ``named`` (``${code}``) or ``positional`` (``{1}``)
    params = "named"

    def __init__(self, config: Mapping[str, Any], http: Callable[..., Any], now: Callable[[], datetime]):
        self.config, self.http, self.now = config, http, now
        missing = [k for k in self.required if not config.get(k)]
        if missing:
            raise SmsNotConfigured(f"the {self.name} SMS provider needs " + ", ".join(f"JIMU_{m}" for m in missing),
                                   missing=missing)
        self.endpoint = (config.get("SMS_ENDPOINT") or self.default_endpoint).rstrip("/")

    required: tuple[str, ...] = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME")

    def send(self, phone: str, template: str, params: Sequence[tuple[str, str]], *, sign_name: str | None = None,
             key: str = "") -> SmsResult:  # pragma: no cover - interface
        raise NotImplementedError

    def pull(self, sent: Sequence[Mapping[str, Any]]) -> list[tuple[str, bool, str | None, str | None]]:
        """Ask the vendor how the ``sent`` messages (delivery records: ``phone``, ``provider_id``,
        ``created_at``) fared: ``[(provider id, delivered?, code, message)]`` for those with an answer."""
        raise NotImplementedError  # pragma: no cover - interface


class DeliveryError(JimuError):
    """The vendor's answer could not be read (not JSON, HTTP error without an API answer): retried."""

    code = "sms.bad_answer"


def _json(resp) -> dict:
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise DeliveryError(f"the SMS provider answered HTTP {resp.status} without a JSON object")
    return data


class Aliyun(SmsProvider):
    name = "aliyun"
    default_endpoint = "https://dysmsapi.aliyuncs.com"
    params = "named"

    def _rpc(self, action: str, params: Mapping[str, str]):
        """One signed RPC call (GET, Signature v1.0); the answer and its JSON."""
        c = self.config
        query = {
            "AccessKeyId": c["SMS_ACCESS_KEY_ID"], "Action": action, "Format": "JSON",
            "RegionId": c.get("SMS_REGION") or "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()), "SignatureVersion": "1.0",
            "Timestamp": self.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25", **params}
        query["Signature"] = aliyun_signature(c["SMS_ACCESS_KEY_SECRET"], "GET", query)
        url = self.endpoint + "/?" + "&".join(f"{_percent(k)}={_percent(v)}" for k, v in query.items())
        resp = self.http("GET", url, headers={"Accept": "application/json"})
        return resp, _json(resp)

    @staticmethod
    def _number(phone: str) -> str:
        return phone[3:] if phone.startswith("+86") else phone.lstrip("+")  # mainland numbers without 86

    def send(self, phone, template, params, *, sign_name=None, key=""):
        query = {"PhoneNumbers": self._number(phone), "SignName": sign_name or self.config["SMS_SIGN_NAME"],
                 "TemplateCode": template,
                 "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"))}
        if key:
            query["OutId"] = key[-256:]
        resp, data = self._rpc("SendSms", query)
        code = str(data.get("Code") or "")
        if code == "OK":
            return SmsResult("sent", str(data.get("BizId") or ""), code, data.get("Message"))
        if not code:
            raise DeliveryError(f"the SMS provider answered HTTP {resp.status} without a Code")
        if code in ALIYUN_TRANSIENT or resp.status >= 500:
            raise DeliveryError(f"aliyun: {code} {data.get('Message') or ''}".strip(), vendor_code=code)
        return SmsResult("throttled" if code in ALIYUN_THROTTLE else "failed", None, code, data.get("Message"))

    def pull(self, sent):
        """``QuerySendDetails`` per message (number, BizId, the day it was sent in China time):
        ``SendStatus`` 3 delivered, 2 failed, 1 still waiting (left out)."""
        from zoneinfo import ZoneInfo
        out = []
        for row in sent:
            day = row["created_at"].astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
            _, data = self._rpc("QuerySendDetails", {"PhoneNumber": self._number(row["phone"]),
                                                     "BizId": row["provider_id"], "SendDate": day,
                                                     "PageSize": "10", "CurrentPage": "1"})
            if data.get("Code") != "OK":
                raise DeliveryError(f"aliyun QuerySendDetails: {data.get('Code')} {data.get('Message') or ''}",
                                    vendor_code=data.get("Code"))
            details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for d in details if isinstance(details, list) else []:
                status = int(d.get("SendStatus") or 1) if str(d.get("SendStatus") or "1").isdigit() else 1
                if status in (2, 3):
                    out.append((row["provider_id"], status == 3, d.get("ErrCode"), d.get("ReceiveDate")))
        return out


class Tencent(SmsProvider):
    name = "tencent"
    default_endpoint = "https://sms.tencentcloudapi.com"
    params = "positional"
    required = SmsProvider.required + ("SMS_APP_ID",)

    def _call(self, action: str, payload: Mapping[str, Any]) -> tuple[Any, dict]:
        """One API 3.0 call (POST JSON, TC3-HMAC-SHA256); the answer and its ``Response`` object."""
        c = self.config
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        host = urlsplit(self.endpoint).netloc
        ts = int(self.now().timestamp())
        ctype = "application/json; charset=utf-8"
        headers = {
            "Content-Type": ctype, "Host": host, "X-TC-Action": action, "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(ts), "X-TC-Region": c.get("SMS_REGION") or "ap-guangzhou",
            "Authorization": tc3_authorization(c["SMS_ACCESS_KEY_ID"], c["SMS_ACCESS_KEY_SECRET"], host=host,
                                               service="sms", payload=body, timestamp=ts, content_type=ctype),
        }
        resp = self.http("POST", self.endpoint + "/", body=body, headers=headers)
        data = _json(resp).get("Response")
        if not isinstance(data, dict):
            raise DeliveryError(f"the SMS provider answered HTTP {resp.status} without a Response")
        return resp, data

    def send(self, phone, template, params, *, sign_name=None, key=""):
        c = self.config
        _, data = self._call("SendSms", {
            "PhoneNumberSet": [phone], "SmsSdkAppId": str(c["SMS_APP_ID"]),
            "SignName": sign_name or c["SMS_SIGN_NAME"], "TemplateId": str(template),
            "TemplateParamSet": [v for _, v in params], "SessionContext": key[-512:]})
        error = data.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code") or "")
            if code.startswith(TENCENT_TRANSIENT_PREFIXES):
                raise DeliveryError(f"tencent: {code} {error.get('Message') or ''}".strip(), vendor_code=code)
            status = "throttled" if code.startswith(TENCENT_THROTTLE_PREFIXES) else "failed"
            return SmsResult(status, None, code, error.get("Message"))
        statuses = data.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
            raise DeliveryError("the SMS provider's answer has no SendStatusSet")
        s = statuses[0]
        code = str(s.get("Code") or "")
        if code == "Ok":
            return SmsResult("sent", str(s.get("SerialNo") or ""), code, s.get("Message"))
        status = "throttled" if code.startswith(TENCENT_THROTTLE_PREFIXES) else "failed"
        return SmsResult(status, None, code, s.get("Message"))

    def pull(self, sent):
        """``PullSmsSendStatus``: the receipts the vendor holds for the app (not yet pulled), by SerialNo."""
        _, data = self._call("PullSmsSendStatus", {"Limit": 100, "SmsSdkAppId": str(self.config["SMS_APP_ID"])})
        if isinstance(data.get("Error"), dict):
            raise DeliveryError(f"tencent PullSmsSendStatus: {data['Error'].get('Code')}",
                                vendor_code=data["Error"].get("Code"))
        return [(s.get("SerialNo"), s.get("ReportStatus") == "SUCCESS", s.get("Description"), s.get("UserReceiveTime"))
                for s in data.get("PullSmsSendStatusSet") or [] if isinstance(s, dict) and s.get("SerialNo")]


#: the providers ``SMS_PROVIDER`` may name
PROVIDERS: dict[str, type[SmsProvider]] = {"aliyun": Aliyun, "tencent": Tencent}


def provider_for(config: Mapping[str, Any], http: Callable[..., Any], now: Callable[[], datetime]) -> SmsProvider:
    name = (config.get("SMS_PROVIDER") or "").strip().lower()
    if name not in PROVIDERS:
        raise SmsNotConfigured(f"set JIMU_SMS_PROVIDER to one of {', '.join(PROVIDERS)} to send SMS"
                               + (f" (not {name!r})" if name else ""), provider=name)
    return PROVIDERS[name](config, http, now)
