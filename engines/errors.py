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
    #: the message as a catalog entry of ``runtime/translations`` with ``%(name)s`` taken from the
    #: context, which a page or designer can say in the person's language; None: said as it is
    template: str | None = None

    def __init__(self, message: str, *, code: str | None = None, **context: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.context = context

    @classmethod
    def said(cls, template: str, *, code: str | None = None, **context: Any) -> "JimuError":
        """The error whose message is ``template`` (English) filled from ``context``; a person reads it
        in their language."""
        err = cls(template % words(context), code=code, **context)
        err.template = template
        return err

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        out.update({k: v for k, v in self.context.items() if v is not None})
        return out

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


def words(context: dict) -> dict:
    """The context as the words a message shows: a list is its items, comma separated."""
    return {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in context.items()}


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
