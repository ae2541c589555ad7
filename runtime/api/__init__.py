"""REST API ``/api/v1``: apps, records, OpenAPI. One JSON error shape everywhere."""
from flask import Blueprint, request

from . import idempotency, ratelimit
from .util import NotAcceptable, check_query_args

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: endpoints that answer in another media type than JSON (CSV/XLSX downloads)
NOT_JSON = frozenset({"api.report_export", "api.records_export", "api.import_rejected", "api.import_template"})


@bp.before_request
def _negotiate():
    """429 over the rate limit; 406 for a client that accepts no JSON; 400 for a query parameter the
    endpoint does not take."""
    ratelimit.before()
    if "Accept" in request.headers and request.endpoint not in NOT_JSON \
            and not request.accept_mimetypes.accept_json:
        raise NotAcceptable(f"this API answers in application/json; the request accepts only "
                            f"{request.headers['Accept']}")
    check_query_args()
    return idempotency.before()


@bp.after_request
def _remember(response):
    return ratelimit.after(idempotency.after(response))


from . import apps, records, openapi  # noqa: E402,F401  (routes register on import)
from . import reports  # noqa: E402,F401  (report and dashboard routes)
from . import flows  # noqa: E402,F401  (tasks and flow instances)
from . import rules  # noqa: E402,F401  (rules: catalogue, dry run, firing log, outbox; in-app inbox)
from . import hooks  # noqa: E402,F401  (inbound webhooks mapped to records)
from . import sms  # noqa: E402,F401  (SMS delivery records and the vendors' receipts)
from . import users  # noqa: E402,F401  (people administration, admins only)
from . import files  # noqa: E402,F401  (file upload and download)
from . import tokens  # noqa: E402,F401  (API tokens: create, list, revoke)
from . import audit  # noqa: E402,F401  (the audit viewer: event log search and CSV export)
from . import recycle  # noqa: E402,F401  (the recycle bin: deleted records, restore, purge)
from . import choices  # noqa: E402,F401  (what a user, group or link field may be set to, by name)
from . import dataio  # noqa: E402,F401  (spreadsheets: record import, export, import template)
from . import subscriptions  # noqa: E402,F401  (outgoing webhook subscriptions and their delivery log)
from . import flow_migration  # noqa: E402,F401  (running instances onto a republished flow)
from . import related  # noqa: E402,F401  (a record's related lists with counts and summaries)
from . import actions  # noqa: E402,F401  (macros, bulk actions on a selection, merging duplicates)
from . import chat  # noqa: E402,F401  (live chat: the widget's visitor API and the console's)
