"""Apps: list, import (with a dry-run diff), export. A builder lists and exports only the apps
they design; importing over the REST API is for administrators."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request

from .. import db, installer
from ..auth import current_principal
from ..auth.policy import may_build, require_admin, require_app_builder, require_builder
from ..context import current_jimu
from . import bp
from .util import FLAG, query_args


@bp.get("/apps")
def list_apps():
    principal = current_principal()
    require_builder(principal)
    with current_jimu().read() as conn:
        rows = conn.execute(sa.select(db.apps.c.key, db.apps.c.version, db.apps.c.label,
                                      db.apps.c.updated_at).order_by(db.apps.c.key)).mappings().all()
    return jsonify({"apps": [dict(r, updated_at=r["updated_at"].isoformat()) for r in rows
                             if may_build(principal, r["key"])]})


@bp.post("/apps/import")
@query_args(dry_run=FLAG, allow_downgrade=FLAG)
def import_app():
    """Body: the package JSON (or a multipart file ``package``). ``?dry_run=1`` only shows the diff;
    it runs the same compile as the import, so a dry run answers what the import will do."""
    principal = current_principal()
    require_admin(principal)
    upload = request.files.get("package")
    source = upload.stream if upload else request.get_data(cache=False)
    jimu = current_jimu()
    with jimu.begin() as conn:
        app = installer.compile(conn, source)
        if request.args.get("dry_run") in ("1", "true"):
            return jsonify(installer.plan(conn, app).to_dict())
        plan, _report = installer.install(conn, app, now=jimu.now(), actor_id=principal.user_id,
                                          allow_downgrade=request.args.get("allow_downgrade") == "1")
    return jsonify(plan.to_dict()), 200 if plan.action == "unchanged" else 201


@bp.get("/apps/<app_key>/export")
def export_app(app_key):
    require_app_builder(current_principal(), app_key)
    with current_jimu().read() as conn:
        pkg = installer.export(conn, app_key)
    resp = jsonify(pkg)
    resp.headers["Content-Disposition"] = f'attachment; filename="{app_key}.json"'
    return resp
