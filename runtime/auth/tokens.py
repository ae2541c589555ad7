"""API tokens: created, scoped, expired and revoked; only their SHA-256 is stored.

A token belongs to a user and can never do more than that user. Its *scope*
narrows it further (as Baserow's and NocoBase's tokens do):

* ``access``: ``"read"`` (list and read records, reports) or ``"write"``
  (also create, update, delete);
* ``apps`` / ``forms``: the app keys and form keys it reaches; both empty
  means every app the user reaches.

Only a *full* token (write access, no app or form list) carries the user's
administrator and builder rights; any narrower token is a plain data token.
The secret (``jimu_…``) is shown once when the token is made; the database
keeps its hash, its first characters (``hint``) so people can tell tokens
apart, when it expires, when it was last used and when it was revoked. Every
creation and revocation is written to the audit log (``token.created``,
``token.revoked``) by the callers in ``runtime.api.tokens`` and the CLI, which
all go through ``create_token`` and ``revoke_token`` here.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.errors import JimuError, NotFound

from .. import db, driver
from ..audit import record_event
from ..exceptions import NotAuthenticated
from ..store import catalog
from .principal import VERBS, FormAccess, Principal

PREFIX = "jimu_"
ACCESS = ("read", "write")
#: last_used_at is written at most this often per token (a write per request would serialize reads)
LAST_USED_EVERY = timedelta(minutes=1)


class TokenError(JimuError):
    code = "token.invalid"


@dataclass(frozen=True)
class TokenScope:
    access: str = "write"
    apps: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()

    @property
    def is_full(self) -> bool:
        return self.access == "write" and not self.apps and not self.forms

    @property
    def verbs(self) -> frozenset[str]:
        return frozenset(VERBS) if self.access == "write" else frozenset({"read"})

    def as_dict(self) -> dict[str, Any]:
        return {"access": self.access, "apps": list(self.apps), "forms": list(self.forms)}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> "TokenScope":
        data = data or {}
        return cls(access=data.get("access", "write"), apps=tuple(data.get("apps") or ()),
                   forms=tuple(data.get("forms") or ()))


@dataclass(frozen=True)
class TokenUse:
    """The token a request came with (``g.token``)."""
    id: int
    user_id: int
    scope: TokenScope
    last_used_at: datetime | None = None
    #: the catalogue revision, read in the same statement (``runtime.store.catalog.Catalog.seen``)
    catalog_revision: int | None = None

    def needs_touch(self, now: datetime) -> bool:
        """Whether ``touch`` should record this use (read in the same query, so no extra statement)."""
        return self.last_used_at is None or self.last_used_at < now - LAST_USED_EVERY


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scope(conn: sa.Connection, data: Mapping[str, Any]) -> TokenScope:
    """A ``TokenScope`` from request data, checking that the named apps and forms exist."""
    access = data.get("access", "write")
    if access not in ACCESS:
        raise TokenError("access must be \"read\" or \"write\"", code="token.bad_access", field="access")
    keys: dict[str, list[str]] = {}
    for name, table in (("apps", db.apps), ("forms", db.forms)):
        value = data.get(name) or []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
            raise TokenError(f"{name} must be a list of {name[:-1]} keys", code="token.bad_scope", field=name)
        value = list(dict.fromkeys(value))
        if value:
            found = set(conn.execute(sa.select(table.c.key).where(table.c.key.in_(value))).scalars())
            missing = [v for v in value if v not in found]
            if missing:
                raise TokenError(f"no {name[:-1]} {', '.join(map(repr, missing))}; name installed "
                                 f"{name} only", code="token.unknown_" + name[:-1], field=name)
        keys[name] = value
    return TokenScope(access=access, apps=tuple(keys["apps"]), forms=tuple(keys["forms"]))


def parse_expiry(data: Mapping[str, Any], *, now: datetime) -> datetime | None:
    """``expires_in_days`` (a whole number) or ``expires_at`` (ISO 8601, in the future); neither = never."""
    days, at = data.get("expires_in_days"), data.get("expires_at")
    if days not in (None, ""):
        try:
            days = int(days)
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 3650:
            raise TokenError("expires_in_days must be a whole number from 1 to 3650", code="token.bad_expiry",
                             field="expires_in_days")
        return now + timedelta(days=days)
    if at not in (None, ""):
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            raise TokenError("expires_at must be an ISO 8601 time such as 2027-01-31T00:00:00+00:00",
                             code="token.bad_expiry", field="expires_at") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=now.tzinfo)
        if when <= now:
            raise TokenError("expires_at must be in the future", code="token.bad_expiry", field="expires_at")
        return when
    return None


def create_token(conn: sa.Connection, user_id: int, name: str, *, now: datetime,
                 scope: TokenScope = TokenScope(), expires_at: datetime | None = None,
                 created_by: int | None = None, via: str = "api") -> tuple[int, str]:
    """Make a token; returns ``(id, secret)``. The secret is never stored and cannot be shown again."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise TokenError("give the token a name of 1 to 200 characters (what will use it)", code="token.bad_name",
                         field="name")
    user = conn.execute(sa.select(db.users.c.username, db.users.c.is_active)
                        .where(db.users.c.id == user_id)).first()
    if user is None or not user.is_active:
        raise TokenError("tokens are made for active users only", code="token.inactive_user")
    secret = PREFIX + secrets.token_urlsafe(32)
    tid = conn.execute(sa.insert(db.api_tokens).values(
        user_id=user_id, name=name, token_hash=_hash(secret), created_at=now, revoked=False,
        scope=scope.as_dict(), expires_at=expires_at, created_by=created_by,
        hint=secret[:len(PREFIX) + 4])).inserted_primary_key[0]
    record_event(conn, "token.created", at=now, actor_id=created_by, data={
        "token_id": tid, "name": name, "user_id": user_id, "username": user.username, "scope": scope.as_dict(),
        "expires_at": expires_at, "via": via})
    return tid, secret


def get_token(conn: sa.Connection, token_id: int) -> dict:
    rows = list_tokens(conn, ids=[token_id])
    if not rows:
        raise NotFound(f"no API token with id {token_id}", code="token.not_found", token_id=token_id)
    return rows[0]


def list_tokens(conn: sa.Connection, *, user_id: int | None = None, ids: Iterable[int] | None = None,
                include_revoked: bool = True) -> list[dict]:
    t, u = db.api_tokens, db.users
    q = (sa.select(t.c.id, t.c.user_id, u.c.username, t.c.name, t.c.hint, t.c.scope, t.c.created_at,
                   t.c.expires_at, t.c.last_used_at, t.c.revoked, t.c.revoked_at, t.c.created_by)
         .join(u, u.c.id == t.c.user_id).order_by(t.c.revoked, t.c.created_at.desc(), t.c.id.desc()))
    if user_id is not None:
        q = q.where(t.c.user_id == user_id)
    if ids is not None:
        q = q.where(t.c.id.in_(list(ids)))
    if not include_revoked:
        q = q.where(t.c.revoked.is_(False))
    return [dict(r, scope=TokenScope.from_stored(r.scope).as_dict()) for r in conn.execute(q).mappings()]


def status(token: Mapping[str, Any], now: datetime) -> str:
    if token["revoked"]:
        return "revoked"
    if token["expires_at"] is not None and token["expires_at"] <= now:
        return "expired"
    return "active"


def revoke_token(conn: sa.Connection, token_id: int, *, now: datetime, actor_id: int | None,
                 via: str = "api") -> dict:
    token = get_token(conn, token_id)
    if not token["revoked"]:
        conn.execute(sa.update(db.api_tokens).where(db.api_tokens.c.id == token_id)
                     .values(revoked=True, revoked_at=now))
        record_event(conn, "token.revoked", at=now, actor_id=actor_id, data={
            "token_id": token_id, "name": token["name"], "user_id": token["user_id"],
            "username": token["username"], "via": via})
    return get_token(conn, token_id)


#: the lookup of every Bearer request, built once (its SQL is compiled once per engine as well); it reads
#: the catalogue revision too, so the request's transaction need not (``Catalog.seen``)
_BY_HASH = (sa.select(db.api_tokens.c.id, db.api_tokens.c.user_id, db.api_tokens.c.scope, db.api_tokens.c.revoked,
                      db.api_tokens.c.expires_at, db.api_tokens.c.last_used_at, db.users.c.is_active,
                      catalog.REVISION)
            .join(db.users, db.users.c.id == db.api_tokens.c.user_id)
            .where(db.api_tokens.c.token_hash == sa.bindparam("token_hash")))


def authenticate_token(conn: sa.Connection, secret: str, *, now: datetime) -> TokenUse:
    """The token a Bearer secret names, if it is live and its user active; otherwise ``NotAuthenticated``."""
    row = driver.first(conn, _BY_HASH, {"token_hash": _hash(secret)})
    if row is None:
        raise NotAuthenticated("the API token is unknown; create one on your account's API tokens page",
                               code="auth.bad_token")
    if row.revoked:
        raise NotAuthenticated("the API token was revoked; create a new one", code="auth.token_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated(f"the API token expired at {row.expires_at.isoformat()}; create a new one",
                               code="auth.token_expired")
    if not row.is_active:
        raise NotAuthenticated("the API token's user is deactivated", code="auth.bad_token")
    return TokenUse(id=row.id, user_id=row.user_id, scope=TokenScope.from_stored(row.scope),
                    last_used_at=row.last_used_at, catalog_revision=row.catalog_revision)


def form_apps(conn: sa.Connection) -> dict[str, str]:
    """Form key → app key of every installed form (what ``narrow`` reads an app scope with)."""
    return dict(conn.execute(sa.select(db.forms.c.key, db.forms.c.app_key)).all())


def acting_through(conn: sa.Connection, principal: Principal, token_id: int, *, now: datetime) -> Principal:
    """What ``principal`` may do through token ``token_id`` now: work started with a token and
    finished later by a worker (a spreadsheet import) keeps the token's scope, and stops when the
    token is revoked or expires (``NotAuthenticated``, as a request with it would be refused)."""
    t = db.api_tokens
    row = conn.execute(sa.select(t.c.user_id, t.c.scope, t.c.revoked, t.c.expires_at)
                       .where(t.c.id == token_id)).first()
    if row is None or row.user_id != principal.user_id or row.revoked:
        raise NotAuthenticated("the API token this work was started with was revoked; start it again with a "
                               "live token", code="auth.token_revoked", token_id=token_id)
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated(f"the API token this work was started with expired at {row.expires_at.isoformat()}; "
                               "start it again with a live token", code="auth.token_expired", token_id=token_id)
    scope = TokenScope.from_stored(row.scope)
    return principal if scope.is_full else narrow(principal, scope, form_apps(conn))


def touch(engine: sa.Engine, token_id: int, *, now: datetime) -> None:
    """Record the token's last use, at most once per ``LAST_USED_EVERY``."""
    t = db.api_tokens
    with engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == token_id, sa.or_(
            t.c.last_used_at.is_(None), t.c.last_used_at < now - LAST_USED_EVERY)).values(last_used_at=now))


def _merge(own: FormAccess | None, wildcard: FormAccess | None) -> FormAccess | None:
    """One form's access from its own entry and the ``"*"`` entry, combined as the policy combines them."""
    if own is None or wildcard is None:
        return own or wildcard
    rows = {}
    for verb in own.rows.keys() | wildcard.rows.keys():
        a, b = own.rows.get(verb, ()), wildcard.rows.get(verb, ())
        rows[verb] = None if a is None or b is None else tuple(a) + tuple(b)
    order = ("hidden", "read_only", "write")
    fields = {k: v for k in own.fields.keys() & wildcard.fields.keys()
              for v in [max(own.fields[k], wildcard.fields[k], key=order.index)] if v != "write"}
    return FormAccess(rows=rows, fields=fields)


def _cut(access: FormAccess, verbs: frozenset[str]) -> FormAccess:
    return FormAccess(rows={v: s for v, s in access.rows.items() if v in verbs}, fields=dict(access.fields))


def narrow(principal: Principal, scope: TokenScope, form_apps: Mapping[str, str]) -> Principal:
    """What a principal may do through a token of ``scope``: never more than the user, and within the scope.

    ``form_apps`` maps form keys to their app keys. A narrower-than-full token
    loses administrator and builder rights; its grants and row/field access
    (``Principal.access``, read by the policy) are the user's on the forms in
    scope, cut to the scope's verbs. An administrator's rights become "every
    row, every field" grants on those forms.
    """
    if scope.is_full:
        return principal
    if principal.is_admin:
        grants = {"*": frozenset(VERBS)}
        access = {"*": FormAccess(rows={v: None for v in VERBS})}
    else:
        grants, access = dict(principal.grants), dict(principal.access)
    if scope.apps or scope.forms:
        in_scope = set(scope.forms) | {f for f, a in form_apps.items() if a in scope.apps}
        grants = {f: grants.get(f, frozenset()) | grants.get("*", frozenset()) for f in in_scope}
        access = {f: merged for f in in_scope
                  for merged in [_merge(access.get(f), access.get("*"))] if merged is not None}
    grants = {f: verbs & scope.verbs for f, verbs in grants.items()}
    return replace(principal, is_admin=False, builder=False, builder_apps=frozenset(),
                   grants={f: v for f, v in grants.items() if v},
                   access={f: _cut(a, scope.verbs) for f, a in access.items()})
