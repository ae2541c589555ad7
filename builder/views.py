"""Builder pages: the app list, one app (items, publishing, versions) and one page per designer."""
from __future__ import annotations

from flask import abort, render_template

from . import bp

#: definition kind → designer template
DESIGNERS: dict[str, str] = {
    "forms": "builder/form_designer.html",
    "flows": "builder/flow_designer.html",
    "rules": "builder/rule_designer.html",
    "reports": "builder/report_designer.html",
    "dashboards": "builder/dashboard_designer.html",
}


@bp.get("/")
def index():
    return render_template("builder/index.html")


@bp.get("/apps/<app_key>")
def app_page(app_key):
    return render_template("builder/app.html", app_key=app_key, designers=sorted(DESIGNERS))


@bp.get("/apps/<app_key>/<kind>/<item_key>")
def designer(app_key, kind, item_key):
    template = DESIGNERS.get(kind)
    if template is None:
        abort(404)
    return render_template(template, app_key=app_key, kind=kind, item_key=item_key)
