"""The builder: designers for forms (flows, rules and reports slot in the same way),
drafts, versions and publishing, at ``/builder``.

One blueprint with two parts: pages (``views``) and a JSON API under
``/builder/api`` (``api``). Only users with a builder role (or admins) get in;
everyone else gets 403. Builder rights are per app: every page and API route
under ``/apps/<app_key>`` answers only builders of that app (a builder role of
the app; creating or importing a new app gives its creator one), so one team's
designer never opens another team's app. Every designer is one page that edits the app's shared draft
through ``builder/static/draft.js`` and publishes through ``drafts.publish``.
"""
from __future__ import annotations

from flask import Blueprint, g, request

from runtime.auth import current_principal
from runtime.auth.policy import may_build, require_app_builder, require_builder

bp = Blueprint("builder", __name__, url_prefix="/builder", template_folder="templates",
               static_folder="static", static_url_path="/static")
api = Blueprint("builder_api", __name__, url_prefix="/api")


@bp.before_request
def _builders_only():
    principal = current_principal()
    require_builder(principal)
    app_key = (request.view_args or {}).get("app_key")
    if app_key is not None and not may_build(principal, app_key):
        principal = _fresh(principal)
        require_app_builder(principal, app_key)


def _fresh(principal):
    """The principal reloaded past the principal cache: a builder role granted seconds ago (the
    app this user just created) counts at once, in every web process."""
    if not principal.is_authenticated or g.get("via_token"):
        return principal
    from runtime.auth.principal import load_principal
    from runtime.context import current_jimu
    with current_jimu().read() as conn:
        fresh = load_principal(conn, principal.user_id)
    if fresh is None:
        return principal
    g.principal = fresh
    return fresh


from . import views, routes  # noqa: E402,F401

bp.register_blueprint(api)


def init_app(app) -> None:
    """Register the builder on a Jimu app: the ``builder`` entry point of the ``jimu.extensions``
    group (setup.cfg), which ``runtime.app.create_app`` calls; the runtime never names the builder."""
    app.register_blueprint(bp)
