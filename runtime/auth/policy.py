"""The one place that decides who may do what.

Callers ask three questions and never look at roles themselves:
``require(principal, verb, form, record=None)``, ``row_filter(principal, ft)``
(a SQL clause limiting the rows a principal may read; None = all) and
``field_access(principal, form)``. Today the answers come from per-form verbs
granted by roles (admins may do everything); row- and field-level rules plug
in here without touching any caller.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from ..exceptions import NotAuthenticated, PermissionDenied
from .principal import Principal


def can(principal: Principal, verb: str, form_key: str, record: Mapping[str, Any] | None = None) -> bool:
    if principal.is_admin:
        return True
    return verb in principal.grants.get(form_key, ()) or verb in principal.grants.get("*", ())


def require(principal: Principal, verb: str, form_key: str, record: Mapping[str, Any] | None = None) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    if not can(principal, verb, form_key, record):
        raise PermissionDenied(f"you may not {verb} records of {form_key!r}; ask an administrator for a role that may",
                               form=form_key, verb=verb)


def row_filter(principal: Principal, ft) -> sa.ColumnElement | None:
    """Rows of ``ft`` the principal may read; None means no restriction."""
    return None


def field_access(principal: Principal, form_key: str) -> Mapping[str, str]:
    """Per-field access ("hidden" | "read" | "write"); absent fields are writable."""
    return {}


def require_builder(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    if not principal.builder:
        raise PermissionDenied("only users with the builder role may design apps", code="permission.builder")


def require_admin(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    if not principal.is_admin:
        raise PermissionDenied("only administrators may do this", code="permission.admin")
