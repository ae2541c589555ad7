"""Runtime errors; all are ``JimuError`` subclasses so the API maps them in one place."""
from engines.errors import Conflict, JimuError, NotFound, PermissionDenied, ValidationErrors  # noqa: F401


class StaleRecord(Conflict):
    """The row changed since the client read it (optimistic locking)."""

    code = "record.stale"


class NotAuthenticated(JimuError):
    code = "auth.required"
    status = 401


class InstallError(ValidationErrors):
    code = "app.install_failed"
