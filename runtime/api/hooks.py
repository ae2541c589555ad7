"""Inbound webhooks: ``POST /api/v1/hooks/<form>`` with any JSON, mapped by the form's
``intake.webhook`` block (JSON pointers → fields).

Two ways in: an API token whose user may create records of the form (``Authorization: Bearer``),
or — for senders that cannot hold a token — an HMAC-SHA256 signature of the raw body with the
hook's shared secret (setting ``HOOK_SECRETS``: form key → secret), sent as
``X-Jimu-Signature: sha256=<hex>``. A sender that retries a delivery is answered once: the
block's ``delivery_id`` (a request header, or a JSON pointer into the document) keys the stored
answer, as ``Idempotency-Key`` does for the rest of the API."""
from __future__ import annotations

import hashlib
import hmac

from flask import jsonify, request

from ..audit import jsonable
from ..auth import current_principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..intake import deliver_webhook, resolve_pointer, webhook_config
from . import bp
from .idempotency import claim
from .util import BadRequest

SIGNATURE = "X-Jimu-Signature"


def _signed(form: str) -> bool:
    """True for a body signed with the hook's secret; a wrong signature is refused outright."""
    given = request.headers.get(SIGNATURE)
    if given is None:
        return False
    secret = (current_jimu().config.get("HOOK_SECRETS") or {}).get(form)
    if not secret:
        raise NotAuthenticated(f"form {form!r} has no webhook secret; set HOOK_SECRETS or send an API token",
                               code="intake.no_secret")
    want = "sha256=" + hmac.new(secret.encode(), request.get_data(cache=True), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.strip().lower().encode(), want.encode()):  # bytes: non-ASCII is no 500
        raise NotAuthenticated(f"{SIGNATURE} does not match the body signed with the hook's secret "
                               "(HMAC-SHA256 of the raw body, hex, prefixed sha256=)", code="intake.bad_signature")
    return True


@bp.post("/hooks/<form>")
def webhook(form):
    jimu = current_jimu()
    signed = _signed(form)
    principal = current_principal()
    if not signed and not principal.is_authenticated:
        raise NotAuthenticated(f"send an API token (Authorization: Bearer <token>) or sign the body ({SIGNATURE})")
    doc = request.get_json(silent=True)
    if doc is None:
        raise BadRequest("send the event as JSON", code="request.not_json")
    with jimu.read():
        cfg = webhook_config(jimu, form)
    source = cfg.get("delivery_id")
    if source:
        delivery = resolve_pointer(doc, source) if source.startswith("/") else request.headers.get(source)
        if delivery not in (None, ""):
            replay = claim(f"hook:{form}", str(delivery)[:200])
            if replay is not None:
                return replay
    with jimu.begin() as conn:
        record = deliver_webhook(jimu, conn, None if signed else principal, form, doc)
    return jsonify(jsonable(record)), 201
