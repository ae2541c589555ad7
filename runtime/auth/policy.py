"""The one place that decides who may do what with records: the permission policy.

Every reader and writer asks this module and never looks at roles itself
(Frappe's ``has_permission`` + ``get_permission_query_conditions`` habit: one
place answers both "may this user see this record?" and "which SQL condition
limits a list to what they may see?"):

* ``can`` / ``require`` — the form verb (create, read, update, delete);
* ``row_filter(principal, ft, verb)`` — the SQL WHERE clause (SQLAlchemy Core,
  bound parameters) of the rows a verb may reach; lists, counts, searches,
  exports, charts and drill-downs add it, so they all agree; ``None`` = all;
* ``require_row`` / ``require_record`` — one record in reach, else
  ``record.not_found`` (404, not 403, so a record's existence does not leak);
  ``runtime.records`` also refuses a write that would leave the record outside
  the writer's scope (``OutsideScope``, ``permission.row_scope``);
* ``field_access`` / ``hidden_fields`` / ``redact`` / ``task_hidden`` — fields
  hidden from the principal never leave (records, exports, charts, timelines,
  task views); ``require_visible_fields`` refuses filtering, sorting or charting
  by them (``permission.field_hidden``);
* ``check_writable`` — hidden and read-only fields cannot be written
  (``permission.field_read_only``, 403);
* ``notice_view`` / ``outsider_hidden`` — whether a message about a record may reach a user, and
  which fields its rendering leaves out for them, or for people outside Jimu.

The answers come from the user's roles (``Principal.access``, built by
``runtime.auth.principal.combine_access`` from each role's ``permissions``,
``rows`` and ``fields``). Administrators may do everything.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from ..exceptions import NotAuthenticated, PermissionDenied
from ..memo import once
from .principal import VERBS, FormAccess, Principal


class FieldNotWritable(PermissionDenied):
    code = "permission.field_read_only"


class OutsideScope(PermissionDenied):
    code = "permission.row_scope"


# -- form verbs ----------------------------------------------------------------------------------
def can(principal: Principal, verb: str, form_key: str, record: Mapping[str, Any] | None = None) -> bool:
    """The verb on the form (rows aside: a record's reach is ``row_filter`` / ``require_row``)."""
    if principal.is_admin:
        return True
    return verb in principal.grants.get(form_key, ()) or verb in principal.grants.get("*", ())


def require(principal: Principal, verb: str, form_key: str, record: Mapping[str, Any] | None = None) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated.said("log in first")
    if not can(principal, verb, form_key, record):
        raise PermissionDenied(f"you may not {verb} records of {form_key!r}; ask an administrator for a role that may",
                               form=form_key, verb=verb)


# -- rows ----------------------------------------------------------------------------------------
def _scopes(principal: Principal, form_key: str, verb: str) -> tuple[dict, ...] | None:
    """The row scopes of the roles granting ``verb`` on the form; None = every row, () = none.

    The verb comes from ``principal.grants`` (what a token or session may do at all); the scopes
    from ``principal.access``. A grant without access information is not narrowed.
    """
    if principal.is_admin:
        return None
    found: list[dict] = []
    for key in (form_key, "*"):
        if verb not in principal.grants.get(key, ()):
            continue
        access: FormAccess | None = principal.access.get(key)
        scopes = access.rows.get(verb) if access is not None and verb in access.rows else None
        if scopes is None:
            return None
        found.extend(scopes)
    return tuple(found)


def row_filter(principal: Principal, ft, verb: str = "read") -> sa.ColumnElement | None:
    """The SQL condition on ``ft.table`` of the rows ``verb`` may reach; None means every row.

    A principal without the verb reaches no row (``false``), so a caller that
    forgot ``require`` still leaks nothing.
    """
    if principal.is_admin:
        return None
    if not principal.is_authenticated and not principal.grants:  # the public's grants: ``public_reader``
        return sa.false()
    scopes = _scopes(principal, ft.key, verb)
    if scopes is None:
        return None
    if not scopes:
        return sa.false()
    return sa.or_(*(_scope_clause(principal, ft, s) for s in scopes))


def _scope_clause(principal: Principal, ft, scope: Mapping[str, Any]) -> sa.ColumnElement:
    kind = scope.get("scope")
    t = ft.table
    if kind == "own":
        key = scope.get("field")
        if not key:
            return t.c.created_by == principal.user_id
        return _holds(ft, key, [principal.user_id])
    if kind == "groups":
        return _holds(ft, scope.get("field"), sorted(principal.group_ids))
    if kind == "condition":
        from engines.report.expr_sql import translate
        from engines.report.fields import FieldResolver
        return translate(scope.get("condition"), FieldResolver(_NoJoins(), ft), user=principal.as_context())
    if kind == "filter":  # a public page's declared filter (``public_reader``)
        from ..store.query import filter_clause
        return filter_clause(ft, {"all": scope.get("filter") or []}, now=scope.get("now"))
    return sa.false()  # an unknown scope admits nothing (validation refuses it before install)


def _holds(ft, key: str | None, values: list) -> sa.ColumnElement:
    """The record's user/group field ``key`` holds one of ``values`` (a column, or a multi-value table)."""
    if not values:
        return sa.false()
    if key in ft.columns:
        return ft.columns[key].in_(values)
    if key in ft.multi:
        mt = ft.multi[key].table
        return sa.exists().where(mt.c.record_id == ft.table.c.id, mt.c.value.in_(values))
    return sa.false()  # the field was retired: nobody reaches rows through it


class _NoJoins:
    """A row scope's condition addresses the form's own fields only."""

    def form(self, form_key: str):
        from engines.report import ReportError
        raise ReportError("a row scope condition may use only the form's own fields", code="report.unknown_form")


def row_visible(conn: sa.Connection, principal: Principal, ft, rid: int, verb: str = "read") -> bool:
    """Whether record ``rid`` is in reach of ``verb`` (evaluated by the same SQL clause as lists)."""
    clause = row_filter(principal, ft, verb)
    if clause is None:
        return True
    return conn.execute(sa.select(ft.table.c.id).where(ft.table.c.id == rid, clause)).first() is not None


def record_in_reach(principal: Principal, ft, record: Mapping[str, Any], verb: str = "read") -> bool:
    """``row_filter`` answered in Python, for a record that has no row to query: one kept in the
    recycle bin (``runtime.recycle``). Same scopes, same meaning: own (creator or a user field holds
    the principal), groups (a group field holds one of theirs), condition (the expression, evaluated
    on the record as the SQL translation would)."""
    if principal.is_admin:
        return True
    if not principal.is_authenticated:
        return False
    scopes = _scopes(principal, ft.key, verb)
    if scopes is None:
        return True
    return any(_scope_holds(principal, ft, s, record) for s in scopes)


def _scope_holds(principal: Principal, ft, scope: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    kind = scope.get("scope")

    def holds(key: str | None, values) -> bool:
        value = record.get(key)
        items = value if isinstance(value, list) else [value]
        return any(v in values for v in items if v is not None)

    if kind == "own":
        key = scope.get("field")
        return holds(key or "created_by", {principal.user_id})
    if kind == "groups":
        return holds(scope.get("field"), set(principal.group_ids))
    if kind == "condition":
        from engines.expr import EvalContext, ExprError, compile_expr
        try:
            return bool(compile_expr(scope.get("condition")).evaluate(dict(record),
                                                                       EvalContext(user=principal.as_context())))
        except ExprError:
            return False
    return False


def require_row(conn: sa.Connection, principal: Principal, ft, rid: int, verb: str = "read") -> None:
    """``record.not_found`` (404) for a record outside the principal's reach, exactly as for a missing one."""
    if not row_visible(conn, principal, ft, rid, verb):
        from ..store.records import RecordNotFound
        raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)


def visible_ids(conn: sa.Connection, principal: Principal, ft, ids: Iterable[int], verb: str = "read") -> set[int]:
    """The ids among ``ids`` in reach of ``verb`` (one query)."""
    ids = [i for i in ids if i is not None]
    clause = row_filter(principal, ft, verb)
    if clause is None or not ids:
        return set(ids)
    return set(conn.execute(sa.select(ft.table.c.id).where(ft.table.c.id.in_(ids), clause)).scalars())


# -- fields --------------------------------------------------------------------------------------
def field_access(principal: Principal, form_key: str) -> Mapping[str, str]:
    """Field key → ``"hidden"`` or ``"read_only"`` for the principal; absent fields are writable."""
    if principal.is_admin:
        return {}
    access = principal.access.get(form_key)
    wildcard = principal.access.get("*")
    if access is None and wildcard is None:
        return {}
    if access is None or wildcard is None:
        return dict((access or wildcard).fields)
    # both grant the form: a field is restricted only as far as both restrict it
    order = ("hidden", "read_only", "write")
    return {k: v for k in access.fields.keys() & wildcard.fields.keys()
            for v in [max(access.fields[k], wildcard.fields[k], key=order.index)] if v != "write"}


def hidden_fields(principal: Principal, form_key: str) -> frozenset[str]:
    return frozenset(k for k, v in field_access(principal, form_key).items() if v == "hidden")


def task_hidden(principal: Principal, form_key: str, task_fields: Mapping[str, str] | None) -> set[str]:
    """Fields a flow task leaves out for ``principal``: those the step hides, and those the user's
    roles hide unless the step names them (a step's explicit field grant is the designer's choice)."""
    task_fields = task_fields or {}
    named = {k for k, v in task_fields.items() if v != "hidden"}
    return {k for k, v in task_fields.items() if v == "hidden"} | (hidden_fields(principal, form_key) - named)


def require_record(conn: sa.Connection, principal: Principal, verb: str, ft, rid: int | None) -> None:
    """The form verb and the row scope together: 403 without the verb, 404 outside the scope."""
    require(principal, verb, ft.key)
    if rid is not None:
        require_row(conn, principal, ft, rid, verb)


def notice_view(conn: sa.Connection, principal: Principal, ft, record_id: int | None) -> frozenset[str] | None:
    """What a message about record ``record_id`` may show ``principal``: ``None`` when it may not reach
    them at all (no read verb on the form, or the record outside their row scope — a record that is
    gone reaches only those who read every row), else the fields to leave out of it (hidden from them).
    The outbox renders each recipient's message from the record without these (``runtime.rules.messages``)."""
    if principal.user_id is None or not can(principal, "read", ft.key):
        return None
    if record_id is not None:
        exists = conn.execute(once(ft, _exists), {"rid": record_id}).first() is not None
        if not (row_visible(conn, principal, ft, record_id) if exists else row_filter(principal, ft) is None):
            return None
    return hidden_fields(principal, ft.key)


def _exists(ft) -> sa.Select:
    """Whether record ``:rid`` of ``ft`` exists, built once per form table (``once``): asked for every
    recipient of every message."""
    return sa.select(ft.table.c.id).where(ft.table.c.id == sa.bindparam("rid"))


@functools.cache
def _role_views() -> sa.Select:
    """Every role's permissions and field access (``outsider_hidden``), built once."""
    from .. import db
    return sa.select(db.roles.c.permissions, db.roles.c.access)


def outsider_hidden(conn: sa.Connection, ft) -> frozenset[str]:
    """The fields a message to people outside Jimu (an address typed in a rule or held in a field, a
    webhook, a group robot, an HTTP call) leaves out: every field that some role granting read on the
    form hides. An outsider is trusted no more than the least trusted reader; the rest is what the
    package's rule sends (its app-level system view). See docs/permissions.md."""
    out: set[str] = set()
    for permissions, access in conn.execute(_role_views()):
        permissions = permissions or {}
        if "read" not in (permissions.get(ft.key) or ()) and "read" not in (permissions.get("*") or ()):
            continue
        fields = ((access or {}).get("fields") or {}).get(ft.key) or {}
        out.update(k for k, level in fields.items() if level == "hidden")
    return frozenset(out)


def public_reader(conn: sa.Connection, ft, block: Mapping[str, Any], now=None) -> Principal:
    """The anonymous role of a form's public portal, so that the portal asks the same policy as every
    other reader: it may read the rows matching the block's ``filter`` (its row scope) and the fields
    the block shows or searches; every other field is hidden, and so is every field that a role
    reading the form hides (``outsider_hidden``) — a package cannot publish an internal field by
    listing it in the portal."""
    from .principal import FormAccess
    open_fields = set(block.get("fields") or ()) | set(block.get("search") or ())
    internal = outsider_hidden(conn, ft)
    keys = set(ft.columns) | set(ft.multi) | {f.key for f in ft.spec.fields}
    hidden = {k: "hidden" for k in keys if k != "id" and (k not in open_fields or k in internal)}
    rows = ({"scope": "filter", "filter": list(block["filter"]), "now": now},) if block.get("filter") else None
    return Principal(user_id=None, username="anonymous", grants={ft.key: frozenset({"read"})},
                     access={ft.key: FormAccess(rows={"read": rows}, fields=hidden)})


def require_visible_fields(principal: Principal, form_key: str, keys: Iterable[str]) -> None:
    """Refuse filtering, sorting or charting by a field hidden from the principal (its values would leak)."""
    hidden = hidden_fields(principal, form_key)
    for key in keys:
        if key in hidden:
            raise PermissionDenied(f"field {key!r} of {form_key!r} is hidden from your role; filter, sort and "
                                   "chart by other fields", code="permission.field_hidden", form=form_key, field=key)


def redact(principal: Principal, form_key: str, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The record without the fields hidden from the principal."""
    if record is None:
        return None
    hidden = hidden_fields(principal, form_key)
    if not hidden:
        return dict(record)
    return {k: v for k, v in record.items() if k not in hidden}


def check_writable(principal: Principal, ft, data: Mapping[str, Any],
                   existing: Mapping[str, Any] | None = None) -> None:
    """Refuse a write that sets a field hidden or read-only for the principal.

    Sending back a read-only field's current value (a client PUTting the
    record it read) is not a write and passes.
    """
    access = field_access(principal, ft.key)
    if not access or not isinstance(data, Mapping):
        return
    for key in data:
        level = access.get(key)
        if level is None:
            continue
        if level == "read_only" and existing is not None and _same(existing.get(key), data[key]):
            continue
        raise FieldNotWritable(f"your role may not change field {key!r} of {ft.key!r}; leave it out of the "
                               "request or ask an administrator for a role that may",
                               form=ft.key, field=key, access=level)


def _same(stored: Any, sent: Any) -> bool:
    from ..audit import jsonable
    return stored == sent or jsonable(stored) == sent


# -- builder and admin ----------------------------------------------------------------------------
def require_builder(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated.said("log in first")
    if not principal.builder:
        raise PermissionDenied.said("only users with the builder role may design apps", code="permission.builder")


def require_admin(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated.said("log in first")
    if not principal.is_admin:
        raise PermissionDenied.said("only administrators may do this", code="permission.admin")


# -- apps are tenants -------------------------------------------------------------------------------
def may_build(principal: Principal, app_key: str | None) -> bool:
    """Builder rights are per app: a role with ``builder: true`` lets its holders design the app the
    role belongs to, and no other (administrators design every app)."""
    if principal.is_admin:
        return True
    return principal.is_authenticated and app_key is not None and app_key in principal.builder_apps


def require_app_builder(principal: Principal, app_key: str | None) -> None:
    if not principal.is_authenticated:
        raise NotAuthenticated.said("log in first")
    if not may_build(principal, app_key):
        raise PermissionDenied.said("you do not design app '%(app)s'; ask an administrator for a builder role "
                                    "of that app", code="permission.app_builder", app=app_key)


def may_see_form(principal: Principal, form_key: str) -> bool:
    """Whether the form exists for the principal at all (any verb on it): what form lists and the
    API description show."""
    return principal.is_authenticated and any(can(principal, verb, form_key) for verb in VERBS)


def visible_forms(principal: Principal, catalog, app_key: str | None = None) -> list:
    """The installed forms (form tables) the principal may use, of one app given ``app_key``."""
    return [ft for ft in catalog if (app_key is None or ft.app_key == app_key) and may_see_form(principal, ft.key)]

