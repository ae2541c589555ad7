"""Work messages to a person through the documented server APIs of WeCom (企业微信) and DingTalk (钉钉).

WeCom (a self-built app: ``WECOM_CORP_ID``, ``WECOM_CORP_SECRET``, ``WECOM_AGENT_ID``):

* ``GET  /cgi-bin/gettoken?corpid=&corpsecret=`` → ``{"errcode": 0, "access_token", "expires_in"}``;
* ``POST /cgi-bin/message/send?access_token=`` with ``touser`` (ids joined by ``|``), ``agentid`` and
  ``msgtype`` ``text``, ``markdown`` or ``template_card`` (``card_type: button_interaction``);
  the answer lists ``invaliduser`` ids it could not reach.

DingTalk (an internal app: ``DINGTALK_APP_KEY``, ``DINGTALK_APP_SECRET``, ``DINGTALK_AGENT_ID``):

* ``GET  /gettoken?appkey=&appsecret=`` → ``{"errcode": 0, "access_token", "expires_in"}``, or with
  ``DINGTALK_TOKEN_API=v1`` ``POST /v1.0/oauth2/accessToken`` (``{"appKey", "appSecret"}`` →
  ``{"accessToken", "expireIn"}``) on ``DINGTALK_API_V1_BASE``;
* ``POST /topapi/message/corpconversation/asyncsend_v2?access_token=`` with ``agent_id``,
  ``userid_list`` (ids joined by ``,``) and ``msg`` (``markdown`` or ``action_card`` with
  ``btn_json_list``) → ``{"errcode": 0, "task_id"}``.

An access token is cached per app until shortly before ``expires_in`` runs out, and fetched anew when
the vendor says it expired or is invalid (WeCom and DingTalk errcode 42001, 40014), then the call is
made once more. A rate-limit answer (WeCom 45009, DingTalk 88 or 90018, HTTP 429) raises
``VendorBusy``: the job queue retries the message later with back-off; nothing sleeps in a request.
A refusal (another errcode) raises ``VendorRefused``, which fails the job at once with the vendor's
code. Base URLs are settings (``WECOM_API_BASE``, ``DINGTALK_API_BASE``) so that tests and private
deployments point them elsewhere; calls go through the notifier's guarded HTTP client.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from engines.errors import JimuError

#: answers that mean "the token is no longer good: fetch a new one and try again"
TOKEN_ERRORS = frozenset({42001, 40014})
#: answers that mean "too many calls: try later" (the job queue's back-off)
BUSY = {"wecom": frozenset({45009}), "dingtalk": frozenset({88, 90018})}
#: renew a token this many seconds before the vendor says it expires
MARGIN = 300


class WorkMessageError(JimuError):
    code = "workmsg.error"


class NotConfigured(WorkMessageError):
    code = "workmsg.not_configured"
    permanent = True


class VendorBusy(WorkMessageError):
    """The vendor's rate limit: retried by the job queue with back-off."""

    code = "workmsg.rate_limited"


class VendorRefused(WorkMessageError):
    """The vendor refused the call (its errcode says why); retrying would not change that."""

    code = "workmsg.refused"
    permanent = True


class TokenCache:
    """Access tokens by app, each with the monotonic time it stops being used."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._tokens: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, key: tuple) -> str | None:
        with self._lock:
            hit = self._tokens.get(key)
            return hit[0] if hit and hit[1] > self._clock() else None

    def put(self, key: tuple, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, self._clock() + max(0.0, float(expires_in) - MARGIN))

    def forget(self, key: tuple, token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


class _Vendor:
    vendor = ""
    label = ""

    def __init__(self, config: Mapping, http, tokens: TokenCache):
        self.config, self.http, self.tokens = config, http, tokens

    def _setting(self, name: str) -> str:
        value = self.config.get(name)
        if value in (None, ""):
            raise NotConfigured(f"{self.label} work messages need the {name} setting (JIMU_{name})",
                                code=f"workmsg.{self.vendor}_not_configured", setting=name)
        return str(value)

    @property
    def configured(self) -> bool:
        return all(self.config.get(n) not in (None, "") for n in self.required)

    def _call(self, method: str, url: str, body: Mapping | None = None) -> dict:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        resp = self.http(method, url, body=data, headers=headers,
                         timeout=float(self.config.get("WORKMSG_TIMEOUT") or 10))
        if resp.status == 429:
            raise VendorBusy(f"{self.label} answered HTTP 429 (too many requests); the message is retried later",
                             vendor=self.vendor)
        if not resp.ok:
            raise WorkMessageError(f"{self.label} answered HTTP {resp.status}", code="workmsg.http_error",
                                   vendor=self.vendor, status=resp.status)
        try:
            answer = resp.json()
        except ValueError:
            raise WorkMessageError(f"{self.label} did not answer JSON", code="workmsg.bad_answer",
                                   vendor=self.vendor) from None
        return answer if isinstance(answer, dict) else {}

    def _check(self, answer: Mapping, what: str) -> None:
        errcode = answer.get("errcode", 0)
        if errcode in (0, None):
            return
        if errcode in BUSY[self.vendor]:
            raise VendorBusy(f"{self.label} rate limit ({what}: errcode {errcode}); the message is retried later",
                             vendor=self.vendor, errcode=errcode)
        raise VendorRefused(f"{self.label} refused {what}: errcode {errcode} {answer.get('errmsg', '')}".strip(),
                            vendor=self.vendor, errcode=errcode)

    def token(self) -> str:
        key = self.token_key()
        cached = self.tokens.get(key)
        if cached:
            return cached
        token, expires_in = self.fetch_token()
        self.tokens.put(key, token, expires_in)
        return token

    def post(self, path: str, body: Mapping, what: str) -> dict:
        """POST ``body`` with the app's access token; a token the vendor calls expired or invalid is
        fetched anew once and the call repeated."""
        for attempt in (0, 1):
            token = self.token()
            answer = self._call("POST", f"{self.base}{path}?{urlencode({'access_token': token})}", body)
            if answer.get("errcode") in TOKEN_ERRORS and attempt == 0:
                self.tokens.forget(self.token_key(), token)
                continue
            self._check(answer, what)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover


class WeCom(_Vendor):
    vendor, label = "wecom", "WeCom"
    required = ("WECOM_CORP_ID", "WECOM_CORP_SECRET", "WECOM_AGENT_ID")

    @property
    def base(self) -> str:
        return str(self.config.get("WECOM_API_BASE") or "https://qyapi.weixin.qq.com").rstrip("/")

    def token_key(self) -> tuple:
        return ("wecom", self._setting("WECOM_CORP_ID"), self._setting("WECOM_AGENT_ID"))

    def fetch_token(self) -> tuple[str, float]:
        query = urlencode({"corpid": self._setting("WECOM_CORP_ID"), "corpsecret": self._setting("WECOM_CORP_SECRET")})
        answer = self._call("GET", f"{self.base}/cgi-bin/gettoken?{query}")
        self._check(answer, "gettoken")
        return str(answer["access_token"]), float(answer.get("expires_in") or 7200)

    def send(self, userids: list[str], message: Mapping[str, Any]) -> dict:
        """``message/send`` to ``userids``: ``message`` holds ``msgtype`` and its part (``markdown``,
        ``text`` or ``template_card``). Returns the answer (``invaliduser``, ``msgid``, ``response_code``)."""
        body = {"touser": "|".join(userids), "agentid": int(self._setting("WECOM_AGENT_ID")), **message}
        return self.post("/cgi-bin/message/send", body, "message/send")


class DingTalk(_Vendor):
    vendor, label = "dingtalk", "DingTalk"
    required = ("DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_AGENT_ID")

    @property
    def base(self) -> str:
        return str(self.config.get("DINGTALK_API_BASE") or "https://oapi.dingtalk.com").rstrip("/")

    def token_key(self) -> tuple:
        return ("dingtalk", self._setting("DINGTALK_APP_KEY"))

    def fetch_token(self) -> tuple[str, float]:
        key, secret = self._setting("DINGTALK_APP_KEY"), self._setting("DINGTALK_APP_SECRET")
        if str(self.config.get("DINGTALK_TOKEN_API") or "").lower() == "v1":
            base = str(self.config.get("DINGTALK_API_V1_BASE") or "https://api.dingtalk.com").rstrip("/")
            answer = self._call("POST", f"{base}/v1.0/oauth2/accessToken", {"appKey": key, "appSecret": secret})
            if not answer.get("accessToken"):
                raise VendorRefused(f"DingTalk refused v1.0/oauth2/accessToken: {answer.get('code', '')} "
                                    f"{answer.get('message', '')}".strip(), vendor=self.vendor)
            return str(answer["accessToken"]), float(answer.get("expireIn") or 7200)
        answer = self._call("GET", f"{self.base}/gettoken?{urlencode({'appkey': key, 'appsecret': secret})}")
        self._check(answer, "gettoken")
        return str(answer["access_token"]), float(answer.get("expires_in") or 7200)

    def send(self, userids: list[str], msg: Mapping[str, Any]) -> dict:
        """The work notification (``corpconversation/asyncsend_v2``) to ``userids``; ``msg`` holds
        ``msgtype`` and its part (``markdown`` or ``action_card``). Returns the answer (``task_id``)."""
        body = {"agent_id": int(self._setting("DINGTALK_AGENT_ID")), "userid_list": ",".join(userids), "msg": dict(msg)}
        return self.post("/topapi/message/corpconversation/asyncsend_v2", body, "corpconversation/asyncsend_v2")


VENDORS = {"wecom": WeCom, "dingtalk": DingTalk}
