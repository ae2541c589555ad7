"""Survey links: the survey form's public page (``/p/<form>``) with a signed ``ref`` naming the record
the survey is about — the same token ``runtime.public`` reads, so the answer is linked to that record.
Built without a request (rules also run in workers): ``BASE_URL`` makes the link absolute."""
from __future__ import annotations

from urllib.parse import quote

from itsdangerous import URLSafeSerializer


def _token(jimu, form: str, record_id) -> str:
    from ..public import SALT
    return URLSafeSerializer(jimu.config["SECRET_KEY"], salt=SALT).dumps([form, int(record_id)])


def survey_link(jimu, survey_form: str, form: str, record_id) -> str:
    base = (jimu.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}/p/{quote(survey_form)}?ref={_token(jimu, form, record_id)}"


def status_link(jimu, form: str, record_id) -> str:
    """The record's private status page (``/p/<form>/s/<token>``), as ``runtime.public`` serves it."""
    base = (jimu.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}/p/{quote(form)}/s/{_token(jimu, form, record_id)}"
