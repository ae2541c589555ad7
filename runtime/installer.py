"""Installing and upgrading app packages into a database, all or nothing.

``compile(conn, source)`` runs the one compile pipeline (``apps.compile_package``)
against what this database holds: which app owns which key, which users exist,
the outbound allowlist. ``plan`` compares the compiled app with the installed
version of the same app (the diff), and ``install(conn, source)`` compiles, plans
and applies it in the caller's transaction: roles, groups, form tables (evolved
online, never dropping data), and the definitions the engines read. Every
installed version is kept in ``jimu_app_versions`` so an upgrade can be
inspected afterwards. The CLI, the REST import (and its dry run) and the
builder's check and publish all come through here, so what validates is what
installs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import sqlalchemy as sa

from apps import OWNED_KINDS, CompiledApp, Installed, compile_package, diff_packages, export_package, package_error

from . import audit, db
from .exceptions import JimuError
from .flows import publish_flows
from .store import convert
from .store.evolve import PublishReport, publish_forms


class InstallRefused(JimuError):
    code = "app.install_refused"
    status = 409


@dataclass
class InstallPlan:
    app_key: str
    from_version: str | None
    to_version: str
    diff: Any  # apps.PackageDiff
    action: str  # "install" | "upgrade" | "unchanged" | "downgrade"
    #: fields whose type changes: stored values that convert, and those that would be lost (refused)
    conversions: list = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"app": self.app_key, "from_version": self.from_version, "to_version": self.to_version,
               "action": self.action, "diff": self.diff.to_dict()}
        if self.conversions:
            out["conversions"] = self.conversions
        return out


def _version_tuple(v: str) -> tuple:
    parts = []
    for p in str(v).split("."):
        parts.append((0, int(p)) if p.isdigit() else (1, p))
    return tuple(parts)


def installed_package(conn: sa.Connection, app_key: str) -> dict | None:
    row = conn.execute(sa.select(db.apps.c.package).where(db.apps.c.key == app_key)).first()
    return row.package if row else None


def outbound_allowlist() -> tuple[str, ...]:
    """The outbound URL allowlist rules are compiled against: the current app's
    ``OUTBOUND_ALLOWLIST``, outside a request the ``JIMU_OUTBOUND_ALLOWLIST`` environment variable."""
    import os

    from flask import current_app, has_app_context

    from engines.rule.urls import parse_allowlist
    setting = current_app.config.get("OUTBOUND_ALLOWLIST") if has_app_context() else None
    return parse_allowlist(setting or os.environ.get("JIMU_OUTBOUND_ALLOWLIST"))


def installed_context(conn: sa.Connection) -> Installed:
    """What this database holds that a package may refer to or clash with: the owner of every
    key of every installed app (and of the form tables, roles and groups), and the users.
    A database without the platform tables (never initialised) holds nothing."""
    if not sa.inspect(conn).has_table(db.apps.name):
        return Installed(allow=outbound_allowlist())
    owners: dict[str, dict[str, str | None]] = {kind: {} for kind in OWNED_KINDS}
    for app_key, package in conn.execute(sa.select(db.apps.c.key, db.apps.c.package).order_by(db.apps.c.id)):
        for kind in OWNED_KINDS:
            for item in (package or {}).get(kind) or []:
                if isinstance(item, Mapping) and isinstance(item.get("key"), str):
                    owners[kind].setdefault(item["key"], app_key)
    for kind, table in (("roles", db.roles), ("groups", db.groups)):
        for key, app_key in conn.execute(sa.select(table.c.key, table.c.app_key)):
            owners[kind].setdefault(key, app_key)
    for key, app_key in conn.execute(sa.select(db.forms.c.key, db.forms.c.app_key)):
        owners["forms"].setdefault(key, app_key)  # a retired app's record tables still hold its keys
    users = frozenset(conn.execute(sa.select(db.users.c.username)).scalars())
    return Installed(owners=owners, users=users, allow=outbound_allowlist())


def compile(conn: sa.Connection, source: Any) -> CompiledApp:
    """The compiled app, or ``PackageError`` with every error (``apps.compile_package`` against
    this database). ``source``: JSON bytes/text, a path, a stream, a package dict or a ``Package``."""
    result = compile_package(source, installed=installed_context(conn))
    if isinstance(result, list):
        raise package_error(result)
    return result


def plan(conn: sa.Connection, app: CompiledApp) -> InstallPlan:
    """What installing the compiled ``app`` would do (from ``compile`` on the same connection)."""
    package = app.package
    old = installed_package(conn, package.key)
    diff = diff_packages(old or {}, package.data)
    if old is None:
        action = "install"
    else:
        old_v, new_v = _version_tuple(old["app"]["version"]), _version_tuple(package.version)
        action = "upgrade" if new_v > old_v else "unchanged" if diff.is_empty else \
            "downgrade" if new_v < old_v else "upgrade"
    conversions = convert.preview(conn, package.data.get("forms", [])) if old is not None else []
    return InstallPlan(package.key, old["app"]["version"] if old else None, package.version, diff, action,
                       conversions)


def indexed_fields(data: Mapping[str, Any]) -> dict[str, set[str]]:
    """Fields a report groups by (time buckets included, on ``created_at`` too), filters by, or that
    its dashboards filter it by get an index (PERFORMANCE.md: 5× faster GROUP BY), created by the
    one store evolve path when the package is published."""
    out: dict[str, set[str]] = {}
    reports = {r.get("key"): r for r in data.get("reports", []) if isinstance(r, Mapping)}

    def add(report: Mapping, field: Any) -> None:
        if isinstance(field, str) and "." not in field:
            out.setdefault(report.get("form"), set()).add(field)
    for report in reports.values():
        out.setdefault(report.get("form"), set())
        for d in report.get("dimensions", []):
            add(report, d.get("field"))
        for f in report.get("filters", []):
            if isinstance(f, Mapping):
                add(report, f.get("field"))
    for dashboard in data.get("dashboards", []):
        for tile in dashboard.get("charts", []):
            report = reports.get(tile.get("report"))
            for f in dashboard.get("filters", []) if report is not None else ():
                add(report, f.get("field"))
    return out


def install(conn: sa.Connection, source: Any, *, now, actor_id: int | None = None,
            allow_downgrade: bool = False) -> tuple[InstallPlan, PublishReport | None]:
    """Compile ``source`` against this database and apply it; ``PackageError`` lists every error."""
    app = compile(conn, source.data if isinstance(source, CompiledApp) else source)
    package = app.package
    p = plan(conn, app)
    if p.action == "unchanged":
        return p, None
    if p.action == "downgrade" and not allow_downgrade:
        raise InstallRefused(f"version {package.version} is older than the installed {p.from_version}; "
                             "pass --allow-downgrade to install it anyway",
                             installed=p.from_version, package=package.version)
    data = export_package(package.data)
    _sync_roles(conn, package.key, data)
    _sync_groups(conn, package.key, data)
    report = publish_forms(conn, package.key, list(data.get("forms", [])), indexed=indexed_fields(data))
    publish_flows(conn, package.key, data.get("flows", []), now=now)  # new flow versions; instances keep theirs
    values = dict(version=package.version, label=data["app"].get("label"), package=data, updated_at=now)
    if p.from_version is None:
        conn.execute(sa.insert(db.apps).values(key=package.key, installed_at=now, **values))
    else:
        conn.execute(sa.update(db.apps).where(db.apps.c.key == package.key).values(**values))
    conn.execute(sa.insert(db.app_versions).values(app_key=package.key, version=package.version, package=data,
                                                   diff=p.diff.to_dict(), installed_at=now, installed_by=actor_id))
    audit.record_event(conn, f"app.{p.action}ed" if p.action != "upgrade" else "app.upgraded", at=now,
                       actor_id=actor_id, data={"app": package.key, "from": p.from_version,
                                                "to": package.version, "diff": p.diff.to_dict()})
    return p, report


def _sync_roles(conn: sa.Connection, app_key: str, data: Mapping[str, Any]) -> None:
    for role in data.get("roles", []):
        values = dict(app_key=app_key, label=role.get("label"), permissions=role.get("permissions") or {},
                      builder=bool(role.get("builder")),
                      access={"rows": role.get("rows") or {}, "fields": role.get("fields") or {}})
        existing = conn.execute(sa.select(db.roles.c.id, db.roles.c.app_key).where(db.roles.c.key == role["key"])).first()
        if existing is None:
            conn.execute(sa.insert(db.roles).values(key=role["key"], **values))
        elif existing.app_key in (None, app_key):
            conn.execute(sa.update(db.roles).where(db.roles.c.id == existing.id).values(**values))
        else:
            raise InstallRefused(f"role {role['key']!r} belongs to app {existing.app_key!r}; rename it",
                                 code="app.role_key_taken")


def _sync_groups(conn: sa.Connection, app_key: str, data: Mapping[str, Any]) -> None:
    users = dict(conn.execute(sa.select(db.users.c.username, db.users.c.id)).all())
    for group in data.get("groups", []):
        lead = users.get(group.get("lead")) if group.get("lead") else None
        existing = conn.execute(sa.select(db.groups.c.id, db.groups.c.app_key).where(db.groups.c.key == group["key"])).first()
        values = dict(app_key=app_key, label=group.get("label"), lead_id=lead)
        if existing is None:
            gid = conn.execute(sa.insert(db.groups).values(key=group["key"], **values)).inserted_primary_key[0]
        elif existing.app_key in (None, app_key):
            gid = existing.id
            conn.execute(sa.update(db.groups).where(db.groups.c.id == gid).values(**values))
        else:
            raise InstallRefused(f"group {group['key']!r} belongs to app {existing.app_key!r}; rename it",
                                 code="app.group_key_taken")
        for username in group.get("members", []):
            uid = users.get(username)
            if uid and not conn.execute(sa.select(db.group_members).where(
                    db.group_members.c.group_id == gid, db.group_members.c.user_id == uid)).first():
                conn.execute(sa.insert(db.group_members).values(group_id=gid, user_id=uid))


def export(conn: sa.Connection, app_key: str) -> dict:
    pkg = installed_package(conn, app_key)
    if pkg is None:
        from .exceptions import NotFound
        raise NotFound(f"no app {app_key!r} is installed", code="app.not_found", app=app_key)
    return export_package(pkg)
