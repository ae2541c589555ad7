"""``/apps/<app>/recycle-bin``: an app's deleted records, with restore and (administrators) purge.

The page shows what ``runtime.recycle.entries`` lets the user see (who may delete a record may see it
in the bin and restore it); the buttons post to the same service functions as the REST API.
"""
from __future__ import annotations

from math import ceil

from flask import flash, redirect, render_template, request, url_for

from engines.form import label_text

from .. import recycle
from ..auth import current_principal
from ..context import current_jimu
from ..i18n import current_language
from ..records import Records
from . import bp
from .views import _login_required

PER_PAGE = 50


@bp.get("/apps/<app>/recycle-bin")
def recycle_bin_page(app):
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    with jimu.read() as conn:
        items, total = recycle.entries(conn, jimu.catalog, principal, app_key=app, page=page, per_page=PER_PAGE)
        users = _names(conn, {e["deleted_by"] for e in items if e["deleted_by"]})
    return render_template("recycle_bin.html", app=app, entries=items, total=total, page=page,
                           pages=max(ceil(total / PER_PAGE), 1), users=users, admin=principal.is_admin)


def _names(conn, ids) -> dict:
    import sqlalchemy as sa
    from .. import db
    if not ids:
        return {}
    u = db.users.c
    return {r.id: r.display_name or r.username for r in conn.execute(sa.select(u.id, u.username, u.display_name)
                                                                      .where(u.id.in_(ids)))}


@bp.post("/apps/<app>/recycle-bin/<int:entry_id>/restore")
def recycle_bin_restore_page(app, entry_id):
    _login_required()
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = recycle.restore(Records(jimu, conn, current_principal(), source="ui"), entry_id)
    record = result["record"]
    flash(label_text({"zh-CN": "已恢复", "en": "Restored"}, current_language()))
    form = request.form.get("form")
    if form:
        return redirect(url_for("ui.record_detail", form=form, rid=record["id"]))
    return redirect(url_for("ui.recycle_bin_page", app=app))


@bp.post("/apps/<app>/recycle-bin/<int:entry_id>/purge")
def recycle_bin_purge_page(app, entry_id):
    _login_required()
    jimu = current_jimu()
    with jimu.begin() as conn:
        recycle.purge(jimu, conn, current_principal(), entry_id)
    flash(label_text({"zh-CN": "已彻底删除", "en": "Deleted for good"}, current_language()))
    return redirect(url_for("ui.recycle_bin_page", app=app))
