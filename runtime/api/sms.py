"""SMS over the REST API: the delivery records of the SMS channel (admins), and the vendors' delivery
receipts (``runtime.rules.sms``).

``POST /api/v1/sms/receipts/<provider>/<token>`` is the URL set in the vendor's console (Aliyun:
状态报告接收 HTTP 批量推送; Tencent: 状态回执 callback). A vendor signs no receipt, so the URL carries
a secret token (``runtime.rules.sms.receipt_token``: shown to admins by ``GET /api/v1/sms/messages``);
the body is the vendor's JSON array and the answer is the one the vendor expects."""
from __future__ import annotations

import hmac

from flask import jsonify, request

from ..audit import jsonable
from ..auth import current_principal
from ..auth.policy import require_admin
from ..context import current_jimu
from ..exceptions import NotAuthenticated, NotFound
from ..rules.sms import RECEIPT_ANSWERS, delivery_records, pull_receipts, receipt_token, receive_receipts
from . import bp
from .util import BadRequest, query_args


@bp.post("/sms/receipts/<provider>/<token>")
def sms_receipts(provider, token):
    jimu = current_jimu()
    if provider not in RECEIPT_ANSWERS:   # a path naming no receipt URL: not found, as any unknown path
        raise NotFound(f"no SMS provider {provider!r}; receipts are taken for "
                       + ", ".join(RECEIPT_ANSWERS), code="sms.unknown_provider")
    # compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500)
    if not hmac.compare_digest(token.encode(), receipt_token(jimu, provider).encode()):
        raise NotAuthenticated("the receipt URL's token is wrong: copy the URL GET /api/v1/sms/messages shows "
                               "into the SMS vendor's console", code="sms.bad_receipt_token")
    items = request.get_json(silent=True)
    if not isinstance(items, list):
        raise BadRequest("send the receipts as a JSON array, as the SMS vendor does", code="request.not_json")
    with jimu.begin() as conn:
        receive_receipts(jimu, conn, provider, items)
    return jsonify(RECEIPT_ANSWERS[provider])


@bp.get("/sms/messages")
@query_args("form", "record_id")
def sms_messages():
    """The latest SMS delivery records (``?form=`` and ``?record_id=`` narrow them), and the receipt URLs
    to set in the vendors' consoles."""
    require_admin(current_principal())
    jimu = current_jimu()
    record_id = request.args.get("record_id")
    if record_id is not None and not record_id.isdigit():
        raise BadRequest("record_id is a record's id (digits)", code="request.bad_param", param="record_id")
    with jimu.read() as conn:
        rows = delivery_records(conn, request.args.get("form"), int(record_id) if record_id else None)
    base = (jimu.config.get("BASE_URL") or request.host_url).rstrip("/")
    urls = {p: f"{base}/api/v1/sms/receipts/{p}/{receipt_token(jimu, p)}" for p in RECEIPT_ANSWERS}
    return jsonify({"messages": jsonable(rows), "receipt_urls": urls})


@bp.post("/sms/receipts/pull")
def sms_pull_receipts():
    """Ask the configured SMS vendor for the receipts of sent messages that have none yet (Aliyun
    QuerySendDetails, Tencent PullSmsSendStatus): for a deployment the vendor cannot push to."""
    require_admin(current_principal())
    jimu = current_jimu()
    with jimu.begin() as conn:
        updated = pull_receipts(jimu, conn)
    return jsonify({"updated": updated})
