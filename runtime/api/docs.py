"""The API reference page, ``/api/docs``: Swagger UI over the caller's OpenAPI document.

The UI's files come from the ``flask-swagger-ui`` package (its ``dist`` folder, served here from
``/api/docs/assets/``), so the page works offline and behind the strict Content-Security-Policy: no
CDN, no inline script (``static/js/api-docs.js`` starts the UI). The page is behind the same access
as ``/api/v1/openapi.json``: a signed-in person (a browser without a session is sent to the login
page; a client that asks for JSON gets the API's 401). "Try it out" calls go out with the session
cookie and the page's CSRF token, as the app's own pages call the API.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, send_from_directory, url_for

from ..auth import current_principal
from ..exceptions import NotAuthenticated

bp = Blueprint("apidocs", __name__, url_prefix="/api/docs")

#: the Swagger UI files the page loads (the rest of the package's dist folder is not served)
ASSETS = frozenset({"swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})


def _dist() -> Path:
    import flask_swagger_ui
    return Path(flask_swagger_ui.__file__).with_name("dist")


@bp.get("")
def api_docs():
    """The reference of the caller's API: every route, its models and examples; ``?app=`` narrows it."""
    if not current_principal().is_authenticated:
        if request.accept_mimetypes.best == "application/json":
            raise NotAuthenticated("log in or send an API token to read the API reference")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    app = request.args.get("app")
    document = url_for("api.openapi_document", **({"app": app} if app else {}))
    return render_template("api_docs.html", document=document)


@bp.get("/assets/<name>")
def api_docs_asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(_dist(), name, max_age=86400)
