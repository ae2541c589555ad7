"""The one place that maps errors to HTTP responses.

Every error body is ``{"error": {"code", "message", ...context}}``; a
``ValidationErrors`` carries the full list under ``errors``. Browser pages get
the same information rendered in an error page.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from engines.errors import JimuError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def error_response(code: str, message: str, http_status: int, **extra):
    """``extra`` is the error's context; it may itself carry a ``status`` (a flow's state), which is
    why the HTTP status has a name of its own."""
    if wants_json():
        body = {"code": code, "message": message}
        body.update(extra)
        return make_response(jsonify({"error": body}), http_status)
    return make_response(render_template("error.html", code=code, message=message, status=http_status,
                                         extra=extra), http_status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(JimuError)
    def _jimu(exc: JimuError):
        d = exc.to_dict()
        code, message = d.pop("code"), d.pop("message")
        if exc.status == 401 and not wants_json():
            from flask import redirect, url_for
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        response = error_response(code, message, exc.status, **d)
        if d.get("retry_after") is not None:
            response.headers["Retry-After"] = str(d["retry_after"])
        if exc.status == 401:  # RFC 6750: say how to authenticate, and why a token was refused
            challenge = 'Bearer realm="jimu"'
            if code == "auth.bad_token":
                challenge += ', error="invalid_token"'
            response.headers["WWW-Authenticate"] = challenge
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "request.too_large",
                400: "request.bad"}.get(exc.code, f"http.{exc.code}")
        response = error_response(code, exc.description or exc.name, exc.code or 500)
        for name, value in exc.get_headers():  # Allow on 405, Retry-After ...
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _crash(exc: Exception):
        log.exception("unhandled error")
        return error_response("server.error", "something went wrong on the server; the error was logged", 500)
