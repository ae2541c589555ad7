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


def _app_label(app_key: str):
    """The app's name for the crumbs and the title (its draft's, else the installed one's): the key is
    not what people read."""
    from runtime.context import current_jimu
    from .drafts import get_draft, BuilderError
    try:
        with current_jimu().read() as conn:
            return (get_draft(conn, app_key)["package"].get("app") or {}).get("label") or app_key
    except BuilderError:
        return app_key


@bp.get("/apps/<app_key>")
def app_page(app_key):
    return render_template("builder/app.html", app_key=app_key, app_label=_app_label(app_key),
                           designers=sorted(DESIGNERS))


@bp.get("/apps/<app_key>/<kind>/<item_key>")
def designer(app_key, kind, item_key):
    template = DESIGNERS.get(kind)
    if template is None:
        abort(404)
    return render_template(template, app_key=app_key, app_label=_app_label(app_key), kind=kind, item_key=item_key)
