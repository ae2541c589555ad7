"""The builder: designers for forms (flows, rules and reports slot in the same way),
drafts, versions and publishing, at ``/builder``.

One blueprint with two parts: pages (``views``) and a JSON API under
``/builder/api`` (``api``). Only users with the builder role (or admins) get in;
everyone else gets 403. Every designer is one page that edits the app's shared
draft through ``builder/static/draft.js`` and publishes through ``drafts.publish``.
"""
from __future__ import annotations

from flask import Blueprint

from runtime.auth import current_principal
from runtime.auth.policy import require_builder

bp = Blueprint("builder", __name__, url_prefix="/builder", template_folder="templates",
               static_folder="static", static_url_path="/static")
api = Blueprint("builder_api", __name__, url_prefix="/api")


@bp.before_request
def _builders_only():
    require_builder(current_principal())


from . import views, routes  # noqa: E402,F401

bp.register_blueprint(api)


def init_app(app) -> None:
    """Register the builder on a Jimu app (one line in ``runtime.app.create_app``)."""
    app.register_blueprint(bp)
