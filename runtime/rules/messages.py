"""Rule messages rendered in the outbox, once per recipient's view of the record.

A rule's message (in-app, e-mail, webhook, robot, HTTP call) is *planned* in the write that fires
the rule: the job holds the template sources and a snapshot of the variables (the record as it was
written, plus the task/flow context), nothing rendered and no recipient looked up. The job renders
it here, after the write committed, under the template step and time limits
(``engines.rule.templates.render_message``). A template that exceeds its limit, or fails, fails
the job at once with the template's code (``Undeliverable``, shown in the outbox list): it would
fail the same way on every retry, and the record it is about was saved long before.

Who reads what goes through the one permission policy (``runtime.auth.policy``):

* **Jimu users** (named, in user fields, groups, leads, participants, and any address that is an
  active user's own) hear about a record only if they may read it (form verb and row scope,
  ``policy.notice_view``), and the message is rendered from the record as they see it: a field
  hidden from their roles is absent, so ``{内部备注}`` renders empty, and linked records' titles
  follow their own read rights. One render per distinct view, so a group of fifty agents with one
  role costs one render.
* **Outsiders** (addresses typed in the rule or held in a field, webhooks, group robots, HTTP
  calls) read what the package declares for people outside it: ``policy.outsider_hidden`` leaves
  out every field that any role reading the form hides (an outsider is trusted no more than the
  least trusted reader), the rest is the rule's system view (docs/permissions.md).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.errors import JimuError
from engines.rule.exceptions import TemplateError
from engines.rule.templates import render_message

from .. import db
from ..auth import policy
from ..auth.principal import load_principal
from ..names import ReferenceNames
from ..recipients import literal_emails, resolve_users


class Undeliverable(JimuError):
    """The message cannot be sent, and retrying would not change that (a template over its limit, no
    recipient left): the job fails at once (``permanent``), its ``last_error`` starting with the code."""

    code = "notify.undeliverable"
    permanent = True

    def __init__(self, message: str, *, code: str, **context: Any):
        super().__init__(f"{code}: {message}", code=code, **context)


def form_of(jimu, p: Mapping[str, Any]):
    form = p.get("form")
    return jimu.catalog.form(form) if form and form in jimu.catalog else None


def variables(ft, p: Mapping[str, Any]) -> dict[str, Any]:
    """The variables the message was planned with, dates and times as such again (the job payload
    is JSON)."""
    out = dict(p.get("variables") or {})
    for key, value in out.items():
        if not isinstance(value, str):
            continue
        kind = ft.spec.field(key).widget.value_kind if ft is not None and ft.spec.has_field(key) else \
            ("datetime" if key in ("created_at", "updated_at") else None)
        try:
            if kind == "date":
                out[key] = date.fromisoformat(value)
            elif kind == "datetime":
                out[key] = datetime.fromisoformat(value)
        except ValueError:
            pass
    return out


def render(jimu, conn: sa.Connection, p: Mapping[str, Any], ft, values: Mapping[str, Any],
           hidden: Iterable[str], principal=None, **extra: Any) -> dict[str, str]:
    """The message of job payload ``p`` as a reader who may not see ``hidden`` reads it."""
    hidden = set(hidden)
    seen = {k: v for k, v in values.items() if k not in hidden}
    names = None
    if ft is not None:
        names = ReferenceNames(conn, jimu.catalog, jimu.config.get("LANGUAGE") or "zh-CN",
                               principal=principal).for_form(ft)
    try:
        return render_message(p.get("templates") or {}, seen, names=names, **extra)
    except TemplateError as exc:
        raise Undeliverable(f"{exc.message} (rule {p.get('rule')!r})", code=exc.code, rule=p.get("rule")) from None


def evaluate(jimu, conn: sa.Connection, p: Mapping[str, Any], source: str, values: Mapping[str, Any]) -> Any:
    """An ``{"expr"}`` value of an outgoing call, on ``values`` (the record as its reader may see it)."""
    from engines.expr import compile_expr

    from .aggregate import Aggregator
    now = jimu.now()
    try:
        return compile_expr(source).evaluate(values, jimu.eval_context(now=now, aggregate=Aggregator(jimu, conn, now)))
    except JimuError as exc:
        raise Undeliverable(f"{exc.message} (rule {p.get('rule')!r})", code=exc.code, rule=p.get("rule")) from None


def user_views(conn: sa.Connection, ft, record_id, user_ids: Iterable[int]) -> dict[tuple, list]:
    """(hidden fields, roles, groups) → the users (their ``Principal``) who may hear about the record
    and see it so (users with the same roles and groups get the same answers from the policy, linked
    records' titles included); users who may not read it are left out."""
    views: dict[tuple, list] = {}
    for uid in user_ids:
        principal = load_principal(conn, uid)
        if principal is None:
            continue
        hidden = policy.notice_view(conn, principal, ft, record_id) if ft is not None else frozenset()
        if hidden is not None:
            key = (hidden, principal.is_admin, principal.roles, principal.group_ids)
            views.setdefault(key, []).append(principal)
    return views


def user_messages(jimu, conn: sa.Connection, p: Mapping[str, Any]) -> list[tuple[list, dict[str, str]]]:
    """``[(principals, rendered message)]`` of a message to people (a channel that addresses Jimu users,
    as in-app messages do): the users its recipients name who may read the record, one render per
    distinct view of it. Raises ``Undeliverable`` when nobody is left."""
    ft = form_of(jimu, p)
    values = variables(ft, p)
    users = resolve_users(conn, p.get("recipients") or {}, values, p.get("form"), tasks=p.get("tasks"))
    out = [(principals, render(jimu, conn, p, ft, values, hidden, principals[0]))
           for (hidden, *_), principals in user_views(conn, ft, p.get("record_id"), users).items()]
    if not out:
        raise Undeliverable("the message has no recipient who may read the record", code="rule.no_recipients",
                            rule=p.get("rule"))
    return out


# ``mail_audiences``'s reads, built once (every mail job asks them)
_USERS_BY_EMAIL = sa.select(db.users.c.id).where(db.users.c.email.in_(sa.bindparam("emails", expanding=True)),
                                                 db.users.c.is_active.is_(True))
_EMAILS = sa.select(db.users.c.id, db.users.c.email).where(db.users.c.id.in_(sa.bindparam("ids", expanding=True)))


def mail_audiences(jimu, conn: sa.Connection, p: Mapping[str, Any], ft, values: Mapping[str, Any]):
    """``[(hidden fields, principal or None, [addresses])]``: the Jimu users among the recipients by their
    own view (one entry per distinct view, ``user_views``), everybody else as outsiders."""
    spec = p.get("recipients") or {}
    ids = resolve_users(conn, spec, values, p.get("form"), tasks=p.get("tasks"))
    literal = literal_emails(spec, values)
    # an address that is an active user's own is that user: told only what they may read
    if literal:
        ids += [uid for (uid,) in conn.execute(_USERS_BY_EMAIL, {"emails": literal}) if uid not in ids]
    email_of = dict(conn.execute(_EMAILS, {"ids": ids}).all()) if ids else {}
    out, taken = [], set(email_of.values())
    for (hidden, *_), principals in user_views(conn, ft, p.get("record_id"), ids).items():
        addresses = [email_of[pr.user_id] for pr in principals if email_of.get(pr.user_id)]
        if addresses:
            out.append((hidden, principals[0], sorted(set(addresses))))
    outsiders = sorted({e for e in literal if e not in taken})
    if outsiders:
        out.append((policy.outsider_hidden(conn, ft) if ft is not None else frozenset(), None, outsiders))
    return out


def cc_addresses(conn: sa.Connection, p: Mapping[str, Any], ft, values: Mapping[str, Any]) -> list[str]:
    """The ``cc`` of an e-mail: typed addresses, addresses held in fields, and the addresses of the users
    it names who may read the record. They read the message as outsiders do (``outsider_hidden``, the
    narrowest view), so a copy never shows more than any reader of the form may see."""
    spec = p.get("cc") or {}
    if not spec:
        return []
    literal = literal_emails(spec, values)
    ids = resolve_users(conn, spec, values, p.get("form"), tasks=p.get("tasks"))
    # an address that is an active user's own is that user: copied only if they may read the record
    owners = dict(conn.execute(sa.select(db.users.c.email, db.users.c.id).where(
        db.users.c.email.in_(literal), db.users.c.is_active.is_(True))).all()) if literal else {}
    readers = {pr.user_id for principals in user_views(conn, ft, p.get("record_id"),
                                                       ids + [u for u in owners.values() if u not in ids]).values()
               for pr in principals}
    out = [e for e in literal if e not in owners or owners[e] in readers]
    if readers:
        out += [e for (e,) in conn.execute(sa.select(db.users.c.email).where(db.users.c.id.in_(readers)))
                if e and e not in out]
    return out


def attachments(jimu, conn: sa.Connection, p: Mapping[str, Any], ft, values: Mapping[str, Any], hidden,
                principal=None) -> list[tuple[str, str, bytes]]:
    """``(name, type, bytes)`` of the files an e-mail attaches (``attach``: file fields of the record, or
    ``link.field`` of the record a link points to), only from fields its reader may see; at most
    ``MAIL_MAX_ATTACHMENT_BYTES`` (default 20 MB) in all: a file that would pass it is left out."""
    paths = p.get("attach") or []
    if not paths or ft is None:
        return []
    store = jimu.services.store(conn)
    refs: list[dict] = []
    for path in paths:
        head, _, rest = path.partition(".")
        if head in hidden or not ft.spec.has_field(head):
            continue
        if not rest:
            refs += [r for r in values.get(head) or [] if isinstance(r, dict)]
            continue
        target, linked_id = ft.spec.field(head).widget.config.get("form"), values.get(head)
        if not target or target not in jimu.catalog or not isinstance(linked_id, int):
            continue
        lft = jimu.catalog.form(target)
        seen = policy.outsider_hidden(conn, lft) if principal is None else \
            policy.notice_view(conn, principal, lft, linked_id)
        if seen is None or rest in seen:
            continue
        try:
            linked = store.get(lft, linked_id)
        except JimuError:
            continue
        refs += [r for r in linked.get(rest) or [] if isinstance(r, dict)]
    budget = int(jimu.config.get("MAIL_MAX_ATTACHMENT_BYTES") or 20 * 1024 * 1024)
    out = []
    for ref in refs:
        size = int(ref.get("size") or 0)
        if size > budget:
            continue
        try:
            with jimu.services.files.store.open(ref["id"]) as f:
                data = f.read(budget + 1)
        except JimuError:
            continue
        if len(data) > budget:
            continue
        budget -= len(data)
        out.append((str(ref.get("name") or "file"), str(ref.get("type") or "application/octet-stream"), data))
    return out


def safe_link(link: str | None) -> str | None:
    """Only site paths and web links: never ``javascript:`` or ``data:`` URLs."""
    if link and (link.startswith(("http://", "https://")) or (link.startswith("/") and not link.startswith("//"))):
        return link
    return None
