"""The one error base for every engine, and for the layers above.

Every error a user can cause carries a ``code`` (dotted, stable, documented:
``form.required``, ``expr.syntax``), a human message that says the fix, and
context (a JSON pointer, a field key, a position). The API maps them to HTTP
responses in one place (``runtime.api.errors``) with one JSON shape.
"""
from __future__ import annotations

from typing import Any


class JimuError(Exception):
    """Base of all domain errors. ``status`` is the HTTP status the API uses."""

    code: str = "jimu.error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, **context: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        out.update({k: v for k, v in self.context.items() if v is not None})
        return out

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ValidationErrors(JimuError):
    """Many errors reported at once (a package, a submission, a flow check)."""

    code = "validation.failed"
    status = 422

    def __init__(self, errors: list[JimuError] | list[dict], message: str | None = None):
        self.errors = [e.to_dict() if isinstance(e, JimuError) else dict(e) for e in errors]
        super().__init__(message or f"{len(self.errors)} error(s)")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "errors": self.errors}


class NotFound(JimuError):
    code = "not_found"
    status = 404


class PermissionDenied(JimuError):
    code = "permission.denied"
    status = 403


class Conflict(JimuError):
    code = "conflict"
    status = 409
