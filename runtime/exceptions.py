"""Runtime errors; all are ``JimuError`` subclasses so the API maps them in one place."""
from engines.errors import Conflict, JimuError, NotFound, PermissionDenied, ValidationErrors  # noqa: F401


class StaleRecord(Conflict):
    """The row changed since the client read it (optimistic locking)."""

    code = "record.stale"


class PreconditionFailed(JimuError):
    """``If-Match`` named a version the record no longer has (RFC 9110 §13.1.1)."""

    code = "record.precondition_failed"
    status = 412


class NotAuthenticated(JimuError):
    code = "auth.required"
    status = 401


class InstallError(ValidationErrors):
    code = "app.install_failed"
