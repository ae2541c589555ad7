"""Dashboard pages: a grid of plotly charts with shared filters, refresh, drill-down and export.

The page is rendered with the dashboard's data already in it (one round trip
to a useful page); ``static/js/dashboard.js`` draws the figures with plotly.js,
served here from the installed ``plotly`` package — never from a CDN — and
refetches ``/api/v1/dashboards/<key>/data`` when filters change or on refresh.
A click on a slice or bar asks ``/api/v1/reports/<key>/drilldown`` for the
filtered record list (``/forms/<form>?filter=<json>``) and opens it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from flask import Response, render_template, request
from markupsafe import Markup

from engines.errors import JimuError, PermissionDenied

from ..auth import current_principal
from ..auth.policy import can, hidden_fields, row_filter
from ..context import current_jimu
from ..i18n import current_language
from ..api.reports import DashboardEntry, dashboard_data, may_open, may_read, visible_dashboards
from ..api.util import BadRequest
from . import bp
from .views import _login_required

#: most values a choice filter offers in its drop-down
MAX_CHOICES = 200


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    import plotly
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path.read_bytes()


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    """plotly.js from the installed plotly package (offline; cached by the browser for a day)."""
    return Response(_plotly_js(), mimetype="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/dashboards")
def dashboard_list():
    _login_required()
    jimu = current_jimu()
    lang = current_language()
    with jimu.read() as conn:
        entries = visible_dashboards(conn, current_principal())
    from engines.report.labels import localize
    items = [{"key": e.key, "app": e.app, "label": localize(e.definition.get("label"), lang, e.key),
              "tiles": len(e.definition.get("charts", []))} for e in entries]
    return render_template("dashboards.html", dashboards=items)


@bp.get("/dashboards/<key>")
def dashboard_page(key):
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    lang = current_language()
    values = _values()
    with jimu.read() as conn:
        entry = jimu.services.reports.definitions(conn).find("dashboard", key, request.args.get("app"))
        if entry.error is not None:
            raise entry.error
        if not may_open(principal, entry):
            raise PermissionDenied(f"you may not read the records behind dashboard {key!r}", dashboard=key)
        try:
            data = dashboard_data(jimu, conn, principal, entry, values, lang)
            problem = None
        except JimuError as exc:  # a bad filter in the URL: show the dashboard unfiltered, say why
            data = dashboard_data(jimu, conn, principal, entry, {}, lang)
            problem, values = exc.message, {}
        choices = {f["field"]: _choices(conn, principal, entry, f["field"])
                   for f in entry.definition.get("filters", []) if f["kind"] == "choice"}
    payload = json.dumps({**data, "values": values, "choices": choices}, ensure_ascii=False, default=str)
    return render_template("dashboard.html", data=data, values=values, choices=choices, problem=problem,
                           payload=Markup(payload.replace("<", "\\u003c")))  # cannot end the <script>


def _values() -> dict:
    raw = request.args.get("values")
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError:
        raise BadRequest("values must be a JSON object {field: value}", code="request.bad_param") from None
    if not isinstance(values, dict):
        raise BadRequest("values must be a JSON object {field: value}", code="request.bad_param")
    return values


def _choices(conn, principal, entry: DashboardEntry, field_key: str) -> list:
    """The values a choice filter offers: distinct values of the field over rows the viewer may read."""
    jimu = current_jimu()
    for report in entry.reports.values():
        chart = report.chart
        if chart is None or not may_read(principal, chart):
            continue
        ft = jimu.catalog.form(chart.form)
        if field_key not in ft.columns or field_key in hidden_fields(principal, ft.key):
            continue
        col = ft.columns[field_key]
        stmt = sa.select(col).where(col.is_not(None)).distinct().order_by(col).limit(MAX_CHOICES)
        where = row_filter(principal, ft)
        if where is not None:
            stmt = stmt.where(where)
        if can(principal, "read", ft.key):
            return [v for v in conn.execute(stmt).scalars().all()]
    return []
