"""Inbound webhooks: ``POST /api/v1/hooks/<form>`` with any JSON, mapped by the form's
``intake.webhook`` block (JSON pointers → fields). Authenticated like the rest of the
API (Bearer token); the token's user needs create permission on the form."""
from __future__ import annotations

from flask import jsonify, request

from ..audit import jsonable
from ..auth import current_principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..intake import deliver_webhook
from . import bp
from .util import BadRequest


@bp.post("/hooks/<form>")
def webhook(form):
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("send an API token: Authorization: Bearer <token>")
    doc = request.get_json(silent=True)
    if doc is None:
        raise BadRequest("send the event as JSON", code="request.not_json")
    with current_jimu().begin() as conn:
        record = deliver_webhook(current_jimu(), conn, principal, form, doc)
    return jsonify(jsonable(record)), 201
