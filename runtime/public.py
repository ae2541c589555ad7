"""Signed record links for people without an account.

A status page or a survey about one record is reached through a token that
names the form and the record id, signed with the app's SECRET_KEY: it can be
mailed to a customer, cannot be guessed or altered, and needs no table.
Rules build these links with ``record_link``.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from engines.errors import JimuError, NotFound

SALT = "jimu.record-link"


class BadLink(NotFound):
    code = "public.bad_link"


class RateLimited(JimuError):
    code = "public.rate_limited"
    status = 429


def _hit_kind(scope: str) -> str:
    digest = hashlib.sha256(f"{scope}|{request.remote_addr}".encode()).hexdigest()[:32]
    return f"public.hit.{digest}"


def count_hit(jimu, conn, scope: str, limit: int, *, form_key: str | None = None,
              what: str = "submissions") -> None:
    """Count one attempt of this address at ``scope`` (a public form's key, ``chat:<form>``) in the
    event log, after refusing it with ``RateLimited`` when the last hour holds ``limit`` already.
    Refused attempts count too, so retries cannot probe for free; every web process shares the count."""
    from . import db
    from .audit import record_event
    since = jimu.now() - timedelta(hours=1)
    kind = _hit_kind(scope)
    hits = conn.execute(sa.select(sa.func.count()).select_from(db.events)
                        .where(db.events.c.kind == kind, db.events.c.at >= since)).scalar()
    record_event(conn, kind, at=jimu.now(), form_key=form_key)
    if hits >= limit:
        raise RateLimited(f"too many {what} from your address; try again within an hour (limit {limit}/hour)")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def record_token(form_key: str, record_id: int) -> str:
    return _serializer().dumps([form_key, int(record_id)])


def read_token(token: str, form_key: str | None = None) -> tuple[str, int]:
    """(form key, record id) of a token; ``BadLink`` if it was altered or names another form."""
    try:
        form, rid = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise BadLink("this link is not valid; use the link from your confirmation or e-mail") from None
    if form_key is not None and form != form_key:
        raise BadLink("this link belongs to another page")
    return form, int(rid)


def record_link(form_key: str, record_id: int, *, page: str = "status", about: str | None = None) -> str:
    """Absolute URL of a record's status page, or of form ``about``'s public form prefilled with it."""
    token = record_token(form_key, record_id)
    if page == "status":
        return url_for("ui.public_status", form=form_key, token=token, _external=True)
    return url_for("ui.public_submit", form=about, ref=token, _external=True)
