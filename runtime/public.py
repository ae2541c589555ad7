"""Signed record links for people without an account.

A status page or a survey about one record is reached through a token that
names the form and the record id, signed with the app's SECRET_KEY: it can be
mailed to a customer, cannot be guessed or altered, and needs no table.
Rules build these links with ``record_link``.
"""
from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from engines.errors import NotFound

SALT = "jimu.record-link"


class BadLink(NotFound):
    code = "public.bad_link"


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
