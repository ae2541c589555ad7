"""Personal survey links: the survey form's new-record page, about one record, signed and expiring."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote


def _sig(secret: str, survey_form: str, about: str, exp: int) -> str:
    msg = f"{survey_form}|{about}|{exp}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def survey_link(jimu, survey_form: str, form: str, record_id, expires: datetime) -> str:
    base = (jimu.config.get("BASE_URL") or "").rstrip("/")
    about, exp = f"{form}:{record_id}", int(expires.timestamp())
    sig = _sig(jimu.config["SECRET_KEY"], survey_form, about, exp)
    return f"{base}/forms/{quote(survey_form)}/new?about={quote(about)}&exp={exp}&sig={sig}"


def verify(jimu, survey_form: str, about: str, exp: int, sig: str, now: datetime) -> bool:
    if now.timestamp() > exp:
        return False
    return hmac.compare_digest(_sig(jimu.config["SECRET_KEY"], survey_form, about, exp), sig or "")
