"""Pages of the runtime UI (server-rendered Jinja; small ES modules enhance them)."""
from __future__ import annotations

from flask import render_template

from ..auth import current_principal
from ..auth.policy import can
from ..context import current_jimu
from ..exceptions import NotAuthenticated


def _login_required():
    if not current_principal().is_authenticated:
        raise NotAuthenticated("log in first")


from . import bp  # noqa: E402


@bp.get("/")
def home():
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    with jimu.read():
        forms = [ft for ft in jimu.catalog if can(principal, "read", ft.key)]
        # the apps whose recycle bin may hold something for this user (they may delete in them)
        bins = sorted({ft.app_key for ft in jimu.catalog if ft.app_key and can(principal, "delete", ft.key)})
        from .chat import consoles
        chats = consoles(principal, jimu.catalog)
    return render_template("home.html", forms=forms, bins=bins, chats=chats)
