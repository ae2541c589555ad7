"""Safe retries: ``Idempotency-Key`` on every POST and PATCH of ``/api/v1``.

A client that did not get an answer (a timeout, a dropped connection) sends the same request
again with the same key. The first request's answer is stored under (caller, key) and replayed
for ``IDEMPOTENCY_SECONDS`` (default a day) with ``Idempotent-Replayed: true``; the same key with
a different request is a 422, and a retry that arrives while the first request still runs a 409
with ``Retry-After``. Server errors are not stored, so a retry after a 5xx runs again.

The key is claimed (a row with no answer yet) in a short transaction of its own before the
request runs, so two concurrent requests with one key never both write: the unique index lets
exactly one of them in. A claim older than ``IDEMPOTENCY_PENDING_SECONDS`` whose request died
without an answer is given up, and the next retry runs.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import Response, g, request

from engines.errors import Conflict, JimuError

from .. import db
from ..auth import current_principal
from ..context import current_jimu

HEADER = "Idempotency-Key"
METHODS = frozenset({"POST", "PATCH"})
KEPT_HEADERS = ("Content-Type", "Location", "ETag", "Link")


class KeyReused(JimuError):
    code = "request.idempotency_key_reused"
    status = 422


class KeyInProgress(Conflict):
    code = "request.idempotency_in_progress"


class BadKey(JimuError):
    code = "request.bad_idempotency_key"
    status = 400


def _fingerprint() -> str:
    h = hashlib.sha256()
    for part in (request.method, request.full_path, request.mimetype or ""):
        h.update(part.encode() + b"\0")
    h.update(request.get_data(cache=True))
    return h.hexdigest()


def before() -> Response | None:
    """Replay a stored answer, or claim the key for this request (``g.idempotency_id``)."""
    key = request.headers.get(HEADER)
    if key is None or request.method not in METHODS or (request.content_length and not request.is_json):
        return None  # uploads are not replayed: an orphan upload is harmless and never read twice
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise BadKey("Idempotency-Key must be 1 to 200 printable characters, such as a UUID")
    principal = current_principal()
    return claim(f"u:{principal.user_id}" if principal.user_id else f"a:{request.remote_addr}", key)


def claim(who: str, key: str) -> Response | None:
    """The stored answer of ``who``'s request ``key`` (a replay), or None after claiming the key for
    this request. Also used by webhook intake with the sender's delivery id as the key."""
    jimu = current_jimu()
    fingerprint, now = _fingerprint(), jimu.now()
    ttl = timedelta(seconds=float(jimu.config.get("IDEMPOTENCY_SECONDS", 86400)))
    pending = timedelta(seconds=float(jimu.config.get("IDEMPOTENCY_PENDING_SECONDS", 60)))
    t = db.idempotency
    with jimu.engine.begin() as conn:
        row = conn.execute(sa.select(t).where(t.c.principal == who, t.c.key == key)).mappings().first()
        if row is not None and (row["created_at"] < now - ttl
                                or (row["status"] is None and row["created_at"] < now - pending)):
            conn.execute(sa.delete(t).where(t.c.id == row["id"]))
            row = None
        if row is not None:
            if row["fingerprint"] != fingerprint:
                raise KeyReused("this Idempotency-Key was used for a different request; use a new key "
                                "for a new request")
            if row["status"] is None:
                raise KeyInProgress("a request with this Idempotency-Key is still running; retry shortly",
                                    retry_after=1)
            response = Response(row["body"], status=row["status"])
            for name, value in (row["headers"] or {}).items():
                response.headers[name] = value
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            with conn.begin_nested():
                g.idempotency_id = conn.execute(sa.insert(t).values(
                    principal=who, key=key, fingerprint=fingerprint, created_at=now)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise KeyInProgress("a request with this Idempotency-Key is still running; retry shortly",
                                retry_after=1) from None
    return None


def after(response: Response) -> Response:
    """Store the answer under the claimed key (a server error frees the key instead)."""
    claim = g.pop("idempotency_id", None)
    if claim is None:
        return response
    t = db.idempotency
    with current_jimu().engine.begin() as conn:
        if response.status_code >= 500:
            conn.execute(sa.delete(t).where(t.c.id == claim))
        else:
            kept = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
            conn.execute(sa.update(t).where(t.c.id == claim).values(
                status=response.status_code, body=response.get_data(), headers=kept))
    return response
