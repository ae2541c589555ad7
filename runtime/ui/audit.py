"""``/audit``: the audit log page (administrators, and app owners for their apps' forms).

A filter form over ``runtime.api.audit.search`` (the same scope rules and
filters as ``GET /api/v1/audit``), newest first, paged, with a CSV link that
exports exactly what is filtered.
"""
from __future__ import annotations

from math import ceil

import sqlalchemy as sa
from flask import render_template, request

from .. import db
from ..api.audit import FILTERS, audit_scope, filters_from_request, search
from ..auth import current_principal
from ..context import current_jimu
from . import bp

PER_PAGE = 50


@bp.get("/audit")
def audit_page():
    jimu = current_jimu()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    filters = filters_from_request()
    with jimu.read() as conn:
        owned = audit_scope(current_principal())
        events, total = search(conn, filters, owned, page=page, per_page=PER_PAGE)
        apps = sorted(owned) if owned is not None else list(conn.execute(
            sa.select(db.apps.c.key).order_by(db.apps.c.key)).scalars())
    return render_template("audit.html", events=events, total=total, page=page,
                           pages=max(ceil(total / PER_PAGE), 1), filters=filters, apps=apps, FILTERS=FILTERS,
                           admin=owned is None)
