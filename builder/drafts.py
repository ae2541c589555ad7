"""Drafts, publishing, versions and rollback — the one mechanism every designer shares.

Each app has at most one *draft*: a whole app package the designers (form, flow,
rule, report) edit and save. Nothing in the draft reaches end users until it is
*published*: ``runtime.installer.install`` runs the one compile pipeline
(``apps.compile_package``, the same one the designer's check runs) and installs
the draft in the caller's transaction, which writes a new row in
``jimu_app_versions``. A *rollback* installs an older version's
package again as a new, higher version: tables only ever gain or retire columns
(``runtime.store.evolve``), so record data is never lost.

Saving is optimistic: every save names the draft ``revision`` it started from;
a save over someone else's newer save is refused (``builder.draft_conflict``).
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

import sqlalchemy as sa

from apps import PackageError, diff_packages, export_package
from engines.errors import JimuError, ValidationErrors
from runtime import db, installer
from runtime.db import JSON, TS

drafts = sa.Table(
    "jimu_builder_drafts", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("app_key", sa.String(100), nullable=False, unique=True),
    sa.Column("package", JSON, nullable=False),
    sa.Column("base_version", sa.String(50)),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.Integer),
    sa.Column("holders", JSON),
)

#: a draft is an app package: the same size bound as an imported one
MAX_DRAFT_BYTES = 20 * 2**20
#: names an expression check may be given (a form's fields and system columns)
MAX_NAMES = 5000
KEY_RE = re.compile(r"^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$")
#: most usernames one role's pending holders may name (added and removed together)
MAX_HOLDERS = 1000
KINDS = ("roles", "groups", "forms", "flows", "rules", "reports", "dashboards", "templates", "calendars")


class BuilderError(JimuError):
    code = "builder.error"


class DraftConflict(BuilderError):
    code = "builder.draft_conflict"
    status = 409


class NotFound(BuilderError):
    code = "builder.not_found"
    status = 404


class ImportUnconfirmed(BuilderError):
    code = "builder.import_unconfirmed"
    status = 428


class DraftInvalid(ValidationErrors):
    code = "builder.draft_invalid"
    status = 422

    def __init__(self, errors: list[dict]):
        super().__init__(errors, f"the draft has {len(errors)} problem(s); fix them before publishing")


# -- versions ------------------------------------------------------------------------------

def bump(version: str) -> str:
    """The next patch version: 1.2.3 → 1.2.4 (a pre-release suffix is dropped)."""
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version or "")
    if not m:
        return "1.0.0"
    major, minor, patch = (int(x) for x in m.groups())
    return f"{major}.{minor}.{patch + 1}"


def next_version(installed: str | None, wanted: str | None) -> str:
    """The version a publish installs: ``wanted`` if it is newer than ``installed``, else a bump."""
    if installed is None:
        return wanted or "1.0.0"
    if wanted and installer._version_tuple(wanted) > installer._version_tuple(installed):
        return wanted
    return bump(installed)


# -- drafts --------------------------------------------------------------------------------

def new_package(key: str, label: Any) -> dict:
    if not isinstance(key, str) or not KEY_RE.match(key) or len(key) > 63:
        raise BuilderError.said("an app key is a letter, underscore or Chinese character, then letters, digits, "
                                "underscores or Chinese characters (at most 63)", code="builder.bad_key", key=key)
    return {"format": "jimu.app", "version": 2,
            "app": {"key": key, "version": "1.0.0", "label": label or key},
            **{kind: [] for kind in KINDS}}


def _row(conn, app_key: str):
    return conn.execute(sa.select(drafts).where(drafts.c.app_key == app_key)).first()


def get_draft(conn, app_key: str) -> dict:
    """The saved draft, or a fresh one opened from the installed version (revision 0, not saved)."""
    row = _row(conn, app_key)
    installed = installer.installed_package(conn, app_key)
    if row is not None:
        return {"app": app_key, "package": row.package, "revision": row.revision,
                "base_version": row.base_version, "saved": True,
                "installed_version": installed["app"]["version"] if installed else None,
                "updated_at": row.updated_at.isoformat() if row.updated_at else None,
                "holders": row.holders or {}, "current_holders": current_holders(conn, app_key)}
    if installed is None:
        raise NotFound.said("no app '%(app)s': create it first", app=app_key)
    package = export_package(installed)
    return {"app": app_key, "package": package, "revision": 0, "base_version": package["app"]["version"],
            "saved": False, "installed_version": package["app"]["version"], "updated_at": None,
            "holders": {}, "current_holders": current_holders(conn, app_key)}


def create_app_draft(conn, key: str, label: Any, *, now, actor_id, creator: int | None = None) -> dict:
    """A new app's first draft. ``creator`` (a user who is not an administrator) is given a builder
    role of the new app, so the person who made an app can design it, and only it."""
    package = new_package(key, label)
    if app_exists(conn, key):
        raise BuilderError.said("an app '%(key)s' already exists; open it instead", code="builder.app_exists", key=key)
    if creator is not None:
        grant_creator(conn, key, label, creator)
    conn.execute(sa.insert(drafts).values(app_key=key, package=package, base_version=None, revision=1,
                                          updated_at=now, updated_by=actor_id))
    return get_draft(conn, key)


def app_exists(conn, app_key: str) -> bool:
    """Installed, or created in the builder and not yet published."""
    return installer.installed_package(conn, app_key) is not None or _row(conn, app_key) is not None


def grant_creator(conn, app_key: str, label: Any, user_id: int) -> str:
    """Give ``user_id`` a builder role of the new app ``app_key``; returns the role's key.

    Builder rights are per app: this is how the person who creates (or imports) an app gets them.
    The role, ``<app>_builders``, grants no form verbs and is not part of the package: like who holds
    which role, who designs an app is this server's business, so exports stay as built; an
    administrator gives it to more people on the people page. Its row is written now, so the rights
    hold before the first publish.
    """
    from runtime.auth.users import set_roles
    owners = dict(conn.execute(sa.select(db.roles.c.key, db.roles.c.app_key)).all())
    base = app_key[:54] + "_builders"
    key = next(k for k in [base] + [f"{base}_{n}" for n in range(2, 1000)] if owners.get(k, app_key) == app_key)
    if key not in owners:
        conn.execute(sa.insert(db.roles).values(key=key, app_key=app_key, label=_builders_label(label, app_key),
                                                permissions={}, builder=True))
    set_roles(conn, user_id, [key])
    return key


def _builders_label(label: Any, app_key: str) -> dict:
    if isinstance(label, dict):
        zh, en = label.get("zh-CN") or label.get("en") or app_key, label.get("en") or label.get("zh-CN") or app_key
    else:
        zh = en = label if isinstance(label, str) and label else app_key
    return {"zh-CN": f"{zh} 设计者", "en": f"{en} designers"}


def save_draft(conn, app_key: str, package: Any, revision: int, *, now, actor_id, holders: Any = None) -> dict:
    """Store ``package`` as the draft if ``revision`` is still the current one; returns the new state.

    ``holders`` (``{role key: {"add": [username], "remove": [username]}}``, see ``clean_holders``) replaces
    the draft's pending role holders; None keeps them."""
    if not isinstance(package, dict):
        raise BuilderError.said("the draft is a JSON object (an app package)", code="builder.bad_draft")
    app = package.get("app") if isinstance(package.get("app"), dict) else {}
    if app.get("key") != app_key:
        raise BuilderError.said("the draft's app.key must stay '%(key)s'", code="builder.key_changed",
                                pointer="/app/key", key=app_key)
    if len(json.dumps(package, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise BuilderError.said("the draft is larger than %(mib)s MiB; split the app", code="builder.draft_too_large",
                                mib=MAX_DRAFT_BYTES // 2**20)
    pending = clean_holders(package, holders) if holders is not None else None
    row = _row(conn, app_key)
    current = row.revision if row is not None else 0
    if revision != current:
        raise DraftConflict.said("someone saved this draft after you opened it; reload to see their changes",
                            revision=current)
    if row is None:
        installed = installer.installed_package(conn, app_key)
        if installed is None:
            raise NotFound.said("no app '%(app)s': create it first", app=app_key)
        conn.execute(sa.insert(drafts).values(app_key=app_key, package=package,
                                              base_version=installed["app"]["version"], revision=1,
                                              updated_at=now, updated_by=actor_id, holders=pending or None))
    else:
        values = {} if pending is None else {"holders": pending or None}
        # the WHERE on revision makes two concurrent saves of the same revision collide
        done = conn.execute(sa.update(drafts).where(drafts.c.id == row.id, drafts.c.revision == current)
                            .values(package=package, revision=current + 1, updated_at=now, updated_by=actor_id,
                                    **values))
        if done.rowcount != 1:
            raise DraftConflict.said("someone saved this draft at the same time; reload to see their changes")
    return get_draft(conn, app_key)


# -- role holders ---------------------------------------------------------------------------

def clean_holders(package: dict, holders: Any) -> dict:
    """The draft's pending role holders, checked: ``{role key: {"add": [...], "remove": [...]}}``, each
    role one of the draft's roles, each entry a username, none both added and removed. Empty entries go.

    Who holds a role is not part of the package (exports stay as built); the draft keeps the change so
    the people settings can give roles before the first publish, which applies them (``apply_holders``)."""
    def bad(template, **context):
        return BuilderError.said(template, code="builder.bad_holders", **context)
    if not isinstance(holders, dict):
        raise bad('holders is an object {role key: {"add": [username], "remove": [username]}}')
    roles = {r.get("key") for r in package.get("roles") or [] if isinstance(r, dict)}
    out: dict[str, dict] = {}
    for role, change in holders.items():
        if role not in roles:
            raise bad("the draft has no role '%(role)s'; add the role first, or drop its holders",
                      role=role, pointer="/roles")
        if not isinstance(change, dict) or set(change) - {"add", "remove"}:
            raise bad("the holders of role '%(role)s' are {\"add\": [username], \"remove\": [username]}", role=role)
        entry = {}
        for part in ("add", "remove"):
            names = change.get(part) or []
            if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n.strip()) <= 150
                                                       for n in names):
                raise bad("the %(part)s list of role '%(role)s' holds usernames (1 to 150 characters)", role=role,
                          part=part)
            names = list(dict.fromkeys(n.strip() for n in names))
            if names:
                entry[part] = names
        both = set(entry.get("add", ())) & set(entry.get("remove", ()))
        if both:
            raise bad("role '%(role)s' both gives and takes %(users)s", role=role, users=sorted(both))
        if sum(len(v) for v in entry.values()) > MAX_HOLDERS:
            raise bad("role '%(role)s' changes more than %(most)s holders at once; use the users page",
                      role=role, most=MAX_HOLDERS)
        if entry:
            out[role] = entry
    return out


def current_holders(conn, app_key: str) -> dict[str, list[str]]:
    """The usernames that hold each installed role of the app: ``{role key: [username]}``."""
    rows = conn.execute(sa.select(db.roles.c.key, db.users.c.username)
                        .join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
                        .join(db.users, db.users.c.id == db.user_roles.c.user_id)
                        .where(db.roles.c.app_key == app_key)
                        .order_by(db.roles.c.key, db.users.c.username)).all()
    out: dict[str, list[str]] = {}
    for key, username in rows:
        out.setdefault(key, []).append(username)
    return out


def apply_holders(conn, app_key: str, holders: dict | None, *, now, actor_id) -> dict:
    """Give and take the app's roles as the published draft says (audited as ``user.updated``, as the
    users page does). A username no user has any more is skipped and reported in ``unknown``.
    Returns ``{"added": [[role, user]], "removed": [[role, user]], "unknown": [user], "users": [id]}``."""
    from runtime.audit import record_event
    done = {"added": [], "removed": [], "unknown": [], "users": []}
    if not holders:
        return done
    role_ids = dict(conn.execute(sa.select(db.roles.c.key, db.roles.c.id)
                                 .where(db.roles.c.app_key == app_key, db.roles.c.key.in_(list(holders)))).all())
    names = sorted({n for change in holders.values() for part in change.values() for n in part})
    users = dict(conn.execute(sa.select(db.users.c.username, db.users.c.id)
                              .where(db.users.c.username.in_(names))).all()) if names else {}
    done["unknown"] = [n for n in names if n not in users]
    changed: dict[int, list] = {}

    def roles_of(uid):
        return sorted(conn.execute(sa.select(db.roles.c.key).join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
                                   .where(db.user_roles.c.user_id == uid)).scalars().all())
    for role, change in sorted(holders.items()):
        rid = role_ids.get(role)
        if rid is None:          # a role the draft dropped after giving it (saved without holders)
            continue
        for part in ("add", "remove"):
            for name in change.get(part, ()):
                uid = users.get(name)
                if uid is None:
                    continue
                held = conn.execute(sa.select(db.user_roles.c.user_id).where(
                    db.user_roles.c.user_id == uid, db.user_roles.c.role_id == rid)).first() is not None
                if held == (part == "add"):
                    continue
                changed.setdefault(uid, [name, roles_of(uid)])
                if part == "add":
                    conn.execute(sa.insert(db.user_roles).values(user_id=uid, role_id=rid))
                    done["added"].append([role, name])
                else:
                    conn.execute(sa.delete(db.user_roles).where(db.user_roles.c.user_id == uid,
                                                                db.user_roles.c.role_id == rid))
                    done["removed"].append([role, name])
    for uid, (name, before) in changed.items():
        record_event(conn, "user.updated", at=now, actor_id=actor_id, data={
            "user_id": uid, "username": name, "changes": {"roles": [before, roles_of(uid)]}, "app": app_key})
    done["users"] = sorted(changed)
    return done


#: the stem of a generated key, per kind ("form" gives form_1, form_2, ...)
KEY_STEMS = {"forms": "form", "flows": "flow", "rules": "rule", "reports": "report", "dashboards": "dashboard",
             "roles": "role", "groups": "group", "templates": "template", "calendars": "calendar"}


def free_key(conn, app_key: str, kind: str) -> str:
    """A key for a new definition of ``kind`` in ``app_key``'s draft, generated (``form_1``, ``form_2``
    ...): the first no app holds, installed or in a draft, nor this app's own draft. The builder creates
    a definition in one click with it; the user only ever sees and edits its label."""
    from apps.compile import OWNED_KINDS
    if kind not in OWNED_KINDS:
        raise BuilderError.said("kind must be one of %(kinds)s", code="request.bad_param", kind=kind,
                                kinds=list(OWNED_KINDS))
    taken = set(installer.installed_context(conn).owners.get(kind, {}))
    for (package,) in conn.execute(sa.select(drafts.c.package)):
        taken.update(i.get("key") for i in (package or {}).get(kind) or [] if isinstance(i, dict))
    stem = KEY_STEMS[kind]
    n = 1
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def discard_draft(conn, app_key: str) -> None:
    conn.execute(sa.delete(drafts).where(drafts.c.app_key == app_key))
    if installer.installed_package(conn, app_key) is None:
        # an app that was never published goes entirely, with the builder role its creator got, so
        # nobody keeps rights to the next app created under the same key
        conn.execute(sa.delete(db.roles).where(db.roles.c.app_key == app_key))


# -- checks --------------------------------------------------------------------------------

def check(conn, package: Any) -> dict:
    """The designer's check of a draft: the one compile pipeline (``installer.compile``, what
    publish will run) — every error with its pointer, or the warnings of a draft that compiles."""
    try:
        app = installer.compile(conn, package)
    except PackageError as exc:
        return {"ok": False, "errors": exc.errors, "warnings": [dict(w) for w in exc.warnings]}
    return {"ok": True, "errors": [], "warnings": [dict(w) for w in app.warnings]}


def check_expression(source: str, names: list[str], fields: list | None = None) -> dict:
    """Compile one expression against the given field names; the error (with position) if any.

    ``fields`` (``[{key, label}]``, a label text or ``{"zh-CN", "en"}`` map) lets the expression name
    fields by their labels: the answer's ``source`` is the text to store, with every label replaced by
    its field's key (``engines.expr.to_keys``), and ``names`` the keys it reads. A field's ``options``
    (``[{value, label}]``) let text compared with it name an option by its label, stored as its value
    (``流程节点 == "处理中"`` → ``process.node == "fix"``, ``engines.expr.labels.option_values``)."""
    from engines.expr import ExprError, compile_expr, to_keys
    from engines.expr.labels import option_values, source_position
    from engines.form import SYSTEM_FIELDS
    if not isinstance(source, str) or not source.strip():
        return {"ok": True, "names": [], "source": source}
    given = [f for f in (fields or [])[:MAX_NAMES] if isinstance(f, dict) and isinstance(f.get("key"), str)]
    pairs = [(f["key"], f.get("label")) for f in given]
    options = {f["key"]: [(o.get("value"), o.get("label")) for o in f["options"][:MAX_NAMES] if isinstance(o, dict)]
               for f in given if isinstance(f.get("options"), list)}
    allowed = ({n for n in names[:MAX_NAMES] if isinstance(n, str)} | {k for k, _ in pairs}
               | set(SYSTEM_FIELDS) | {"current_user_id"})
    allowed |= {n.partition(".")[0] for n in allowed if "." in n}  # process.node: the name is "process"
    try:
        stored = option_values(to_keys(source, pairs), options)
        expr = compile_expr(stored, allowed_names=allowed)
    except ExprError as exc:
        error = exc.to_dict()
        if error.get("expression") != source:
            error["position"] = source_position(source, pairs, error.get("position"))
        error["expression"] = source
        return {"ok": False, "error": error}
    return {"ok": True, "names": sorted(getattr(expr, "names", ()) or ()), "source": stored}


# -- publishing ----------------------------------------------------------------------------

def _install(conn, package: dict, *, now, actor_id):
    """Install through the one compile pipeline; its errors refuse the draft (``builder.draft_invalid``)."""
    try:
        return installer.install(conn, package, now=now, actor_id=actor_id)
    except PackageError as exc:
        if exc.code != "package.invalid":
            raise
        raise DraftInvalid(exc.errors) from None


def publish(conn, app_key: str, revision: int, *, now, actor_id) -> dict:
    """Validate the saved draft and install it as a new version, all in the caller's transaction."""
    row = _row(conn, app_key)
    if row is None:
        raise NotFound.said("there is no saved draft to publish; make a change first", app=app_key)
    if row.revision != revision:
        raise DraftConflict.said("the draft changed since you last saw it; reload before publishing",
                            revision=row.revision)
    installed = installer.installed_package(conn, app_key)
    installed_version = installed["app"]["version"] if installed else None
    if installed_version != row.base_version:
        raise DraftConflict.said("version %(installed)s was published after this draft was opened from "
                                 "%(base)s; discard the draft and redo the change on the new version",
                                 code="builder.stale_draft", installed=installed_version, base=row.base_version)
    package = copy.deepcopy(row.package)
    package["app"]["version"] = next_version(installed_version, package["app"].get("version"))
    plan, _report = _install(conn, package, now=now, actor_id=actor_id)
    # the roles the draft gave (or took) now exist: apply them, so nobody is edited again after publishing
    holders = apply_holders(conn, app_key, row.holders, now=now, actor_id=actor_id)
    discard_draft(conn, app_key)
    return {**plan.to_dict(), "version_id": _latest_version_id(conn, app_key), "holders": holders}


def _latest_version_id(conn, app_key: str) -> int | None:
    return conn.execute(sa.select(sa.func.max(db.app_versions.c.id))
                        .where(db.app_versions.c.app_key == app_key)).scalar()


def versions(conn, app_key: str) -> list[dict]:
    t = db.app_versions
    rows = conn.execute(sa.select(t.c.id, t.c.version, t.c.diff, t.c.installed_at, t.c.installed_by,
                                  db.users.c.username)
                        .select_from(t.outerjoin(db.users, db.users.c.id == t.c.installed_by))
                        .where(t.c.app_key == app_key).order_by(t.c.id.desc())).all()
    current = installer.installed_package(conn, app_key)
    current_version = current["app"]["version"] if current else None
    out = []
    for i, r in enumerate(rows):
        out.append({"id": r.id, "version": r.version, "installed_at": r.installed_at.isoformat(),
                    "installed_by": r.username, "current": i == 0 and r.version == current_version,
                    "diff": r.diff or {}})
    return out


def version_package(conn, app_key: str, version_id: int) -> dict:
    t = db.app_versions
    row = conn.execute(sa.select(t.c.package).where(t.c.app_key == app_key, t.c.id == version_id)).first()
    if row is None:
        raise NotFound.said("app '%(app)s' has no version #%(version_id)s", app=app_key, version_id=version_id)
    return row.package


def rollback(conn, app_key: str, version_id: int, *, now, actor_id) -> dict:
    """Install version ``version_id``'s package again, as the next version (record data stays)."""
    package = copy.deepcopy(version_package(conn, app_key, version_id))
    installed = installer.installed_package(conn, app_key)
    if installed is None:
        raise NotFound.said("app '%(app)s' is not installed", app=app_key)
    restored = package["app"]["version"]
    package["app"]["version"] = bump(installed["app"]["version"])
    plan, _report = _install(conn, package, now=now, actor_id=actor_id)
    # an open draft was made from the version just replaced; it now starts from the new one
    conn.execute(sa.update(drafts).where(drafts.c.app_key == app_key)
                 .values(base_version=package["app"]["version"]))
    return {**plan.to_dict(), "restored": restored, "version_id": _latest_version_id(conn, app_key)}


def diff(old: dict, new: dict, lang: str) -> dict:
    d = diff_packages(old or {}, new)
    return {"diff": d.to_dict(), "lines": d.summary_lines(lang), "key_lines": d.summary_lines(lang, keys=True),
            "empty": d.is_empty}


def list_apps(conn) -> list[dict]:
    rows = conn.execute(sa.select(db.apps.c.key, db.apps.c.version, db.apps.c.label, db.apps.c.package,
                                  db.apps.c.updated_at).order_by(db.apps.c.key)).all()
    draft_rows = {r.app_key: r for r in conn.execute(sa.select(drafts)).all()}
    out = []
    for r in rows:
        d = draft_rows.pop(r.key, None)
        out.append({"key": r.key, "label": r.label, "version": r.version, "installed": True,
                    "has_draft": d is not None, "updated_at": r.updated_at.isoformat(),
                    "counts": {k: len(r.package.get(k) or []) for k in KINDS}})
    for key, d in sorted(draft_rows.items()):
        out.append({"key": key, "label": d.package.get("app", {}).get("label"), "version": None,
                    "installed": False, "has_draft": True, "updated_at": d.updated_at.isoformat(),
                    "counts": {k: len(d.package.get(k) or []) for k in KINDS}})
    return out
