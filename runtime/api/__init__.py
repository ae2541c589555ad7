"""REST API ``/api/v1``: apps, records, OpenAPI. One JSON error shape everywhere."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import apps, records, openapi  # noqa: E402,F401  (routes register on import)
from . import reports  # noqa: E402,F401  (report and dashboard routes)
from . import flows  # noqa: E402,F401  (tasks and flow instances)
from . import rules  # noqa: E402,F401  (rules: catalogue, dry run, firing log, outbox; in-app inbox)
from . import hooks  # noqa: E402,F401  (inbound webhooks mapped to records)
from . import users  # noqa: E402,F401  (people administration, admins only)
