"""Errors of the report engine.

Every error a chart or dashboard definition can cause is a ``ReportError``
with a stable dotted code (``report.unknown_field``, ``report.unknown_aggregate``
...), a message that says the fix, and context (a JSON ``pointer`` into the
definition, the offending ``field`` or ``value``). Compilation gathers them all
into one ``ValidationErrors`` so the designer can mark every mistake at once.
"""
from __future__ import annotations

from ..errors import JimuError, ValidationErrors

__all__ = ["ReportError", "ValidationErrors"]


class ReportError(JimuError):
    """A definition or a query parameter the report engine refuses."""

    code = "report.error"
