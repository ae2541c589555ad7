"""API tokens over HTTP: ``GET/POST /api/v1/tokens``, ``GET/DELETE /api/v1/tokens/<id>``.

Everyone signed in manages their own tokens; administrators also see and
revoke everyone's (``?all=1`` lists them, ``user_id`` picks one user, also
when creating a token for someone). A token may manage tokens only if it is a
*full* token: a read-only or app-scoped token must not be able to mint a
broader one. The secret is in the creation response only. Creation and
revocation go through ``runtime.auth.tokens`` (hashed storage, audit events),
the same functions the ``/account/tokens`` page and ``jimu create-token`` use.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import g, jsonify, request

from engines.errors import NotFound, PermissionDenied

from ..audit import jsonable
from ..auth import current_principal
from ..auth.principal import Principal
from ..auth.tokens import create_token, get_token, list_tokens, parse_expiry, parse_scope, revoke_token, status
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from . import bp
from .util import FLAG, BadRequest, json_body, query_args


def token_manager() -> Principal:
    """The signed-in principal, if it may manage tokens (not through a narrowed token)."""
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first, or send a full API token")
    use = g.get("token")
    if use is not None and not use.scope.is_full:
        raise PermissionDenied("a read-only or app-scoped token cannot manage tokens; use the account page or a "
                               "full token", code="token.scope")
    return principal


def owner_for(principal: Principal, user_id: Any) -> int:
    """Whose token: one's own, or (administrators) anyone's."""
    if user_id in (None, "", principal.user_id, str(principal.user_id)):
        return principal.user_id
    if not principal.is_admin:
        raise PermissionDenied("only an administrator may manage another user's tokens", code="token.not_yours")
    try:
        return int(user_id)
    except (TypeError, ValueError):
        raise BadRequest("user_id must be a user's id number", code="request.bad_param", param="user_id") from None


def visible_token(conn, principal: Principal, token_id: int) -> dict:
    token = get_token(conn, token_id)
    if token["user_id"] != principal.user_id and not principal.is_admin:
        raise NotFound(f"no API token with id {token_id}", code="token.not_found", token_id=token_id)
    return token


def as_json(token: Mapping[str, Any], now) -> dict:
    keys = ("id", "name", "hint", "user_id", "username", "scope", "created_at", "expires_at", "last_used_at",
            "revoked", "revoked_at")
    return jsonable(dict({k: token[k] for k in keys}, status=status(token, now)))


def new_token(conn, principal: Principal, data: Mapping[str, Any], *, now, via: str) -> tuple[dict, str]:
    """Create a token from request data (name, access, apps, forms, expires_in_days | expires_at, user_id)."""
    owner = owner_for(principal, data.get("user_id"))
    scope = parse_scope(conn, data)
    expires_at = parse_expiry(data, now=now)
    tid, secret = create_token(conn, owner, data.get("name"), now=now, scope=scope, expires_at=expires_at,
                               created_by=principal.user_id, via=via)
    return get_token(conn, tid), secret


@bp.get("/tokens")
@query_args(all=FLAG, user_id={"type": "string", "pattern": "^[0-9]{0,18}$",
                               "description": "a user's id (administrators); empty: your own"})
def tokens_index():
    principal = token_manager()
    jimu = current_jimu()
    everyone = request.args.get("all") in ("1", "true") and principal.is_admin
    with jimu.read() as conn:
        owner = None if everyone else owner_for(principal, request.args.get("user_id"))
        rows = list_tokens(conn, user_id=owner)
    now = jimu.now()
    return jsonify({"tokens": [as_json(t, now) for t in rows]})


@bp.post("/tokens")
def tokens_create():
    principal = token_manager()
    data = json_body()
    jimu = current_jimu()
    now = jimu.now()
    with jimu.begin() as conn:
        token, secret = new_token(conn, principal, data, now=now, via="api")
    return jsonify({"token": as_json(token, now), "secret": secret,
                    "note": "store the secret now: it is not shown again"}), 201


@bp.get("/tokens/<int:token_id>")
def tokens_show(token_id: int):
    principal = token_manager()
    jimu = current_jimu()
    with jimu.read() as conn:
        return jsonify({"token": as_json(visible_token(conn, principal, token_id), jimu.now())})


@bp.delete("/tokens/<int:token_id>")
def tokens_revoke(token_id: int):
    principal = token_manager()
    jimu = current_jimu()
    now = jimu.now()
    with jimu.begin() as conn:
        visible_token(conn, principal, token_id)
        token = revoke_token(conn, token_id, now=now, actor_id=principal.user_id, via="api")
    return jsonify({"token": as_json(token, now)})
