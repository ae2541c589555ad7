"""Outgoing notifications: guarded HTTP (webhooks, robots, API calls) and SMTP mail."""
from .http import Response, request, sign_dingtalk_url, webhook_signature
from .mail import send_mail
from .ssrf import resolve_checked

__all__ = ["Response", "request", "sign_dingtalk_url", "webhook_signature", "send_mail", "resolve_checked"]
