"""Pages of the runtime UI (server-rendered Jinja; small ES modules enhance them)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from .. import db
from ..api.reports import visible_dashboards

from ..auth import current_principal
from ..auth.policy import can
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from .record_page import list_views


def _login_required():
    if not current_principal().is_authenticated:
        raise NotAuthenticated("log in first")


from . import bp  # noqa: E402


@bp.get("/")
def home():
    """Each app the user may use, with its navigation: the forms they may read (each with its list
    views) and the dashboards they may open — what their roles let them see, nothing else."""
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    with jimu.read() as conn:
        forms = [ft for ft in jimu.catalog if can(principal, "read", ft.key)]
        dashboards = visible_dashboards(conn, principal)
        labels = dict(conn.execute(sa.select(db.apps.c.key, db.apps.c.label)).all())
        # the apps whose recycle bin may hold something for this user (they may delete in them)
        bins = sorted({ft.app_key for ft in jimu.catalog if ft.app_key and can(principal, "delete", ft.key)})
        from .chat import consoles
        chats = consoles(principal, jimu.catalog)
    apps: dict = {}

    def app(key):
        return apps.setdefault(key, {"key": key, "label": labels.get(key) or key, "forms": [], "dashboards": []})
    for ft in forms:
        app(ft.app_key)["forms"].append({"key": ft.key, "label": ft.spec.label,
                                         "views": [v for v in list_views(ft) if v.get("key")]})
    for entry in sorted(dashboards, key=lambda e: e.key):
        app(entry.app)["dashboards"].append({"key": entry.key, "app": entry.app,
                                             "label": entry.definition.get("label") or entry.key})
    return render_template("home.html", apps=sorted(apps.values(), key=lambda a: (a["key"] is None, a["key"] or "")),
                           forms=forms, bins=bins, app_labels=labels, chats=chats)
