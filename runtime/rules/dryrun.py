"""Dry run: which existing records would a rule match, and what would it do — with no side effects.

Runs in a read-only transaction; conditions (aggregates included) are evaluated
against the stored records and the actions are *planned*, never executed:
assignments are previewed without moving round-robin positions, recipients are
resolved to names and addresses, nothing is queued or written.

Only records the caller may read are scanned, counted or shown (``policy.row_filter``:
the read verb and its row scope), without the fields hidden from them: a dry run
is a designer's tool, not a way around the permissions (conditions and messages see
the record as the caller does, and aggregates count only rows they may read, so neither a
hidden field nor a record outside the grant can be probed).
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError
from engines.rule import ActionContext, RuleSpec, compile_rule
from engines.rule.conditions import PROCESS
from engines.rule.triggers import CREATED

from .. import db, expr_context
from ..audit import jsonable
from ..auth import policy
from ..names import reference_names
from .aggregate import Aggregator
from .loader import allowlist
from ..recipients import resolve_users
from .messages import cc_addresses, mail_audiences, render, user_views
from .people import pick

MAX_SCAN = 5_000
BATCH = 500


def dry_run(jimu, conn: sa.Connection, rule: RuleSpec | Mapping[str, Any], *, principal, limit: int = 50,
            scan: int = MAX_SCAN) -> dict[str, Any]:
    if not isinstance(rule, RuleSpec):
        rule = compile_rule(rule, allow=allowlist(jimu))
    ft = jimu.catalog.form(rule.form)
    policy.require(principal, "read", rule.form)
    scope = policy.row_filter(principal, ft)
    hidden = policy.hidden_fields(principal, rule.form)
    from ..store import RecordStore
    store = RecordStore(conn)
    now = jimu.now()
    ectx = jimu.eval_context(now=now, user=principal.as_context(), aggregate=Aggregator(jimu, conn, now, principal))
    names = reference_names(jimu, conn, rule.form)
    flows = jimu.services.flows.runtime(conn) if rule.reads_process else None
    scanned, matched, out, errors = 0, 0, [], []
    ids = list(conn.execute(sa.select(ft.table.c.id).where(*_where(scope)).order_by(ft.table.c.id.desc())
                            .limit(max(1, min(scan, MAX_SCAN)))).scalars())
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        rows = conn.execute(sa.select(ft.table).where(ft.table.c.id.in_(chunk))
                            .order_by(ft.table.c.id.desc())).mappings().all()
        for record in store.to_records(ft, rows):
            if hidden:  # the rule sees the record as the caller may: conditions and messages too
                record = {k: v for k, v in record.items() if k not in hidden}
            if rule.reads_process:  # process.node, process.done ...: what the rule runner gives it
                record[PROCESS] = flows.process(rule.form, record["id"])
            scanned += 1
            try:
                if rule.paths:
                    ectx.links = expr_context.prefetch(jimu.catalog, conn, ft, record, rule.paths)
                if not rule.matches(record, ectx):
                    continue
                matched += 1
                if len(out) < limit:
                    ac = ActionContext(rule=rule.key, form=rule.form, event=CREATED, record=record,
                                       variables=record, eval=ectx, names=names)
                    out.append({"id": record["id"], "record": jsonable(record),
                                "effects": [describe(jimu, conn, e.to_json(), record, principal)
                                            for e in rule.plan(ac)]})
            except JimuError as exc:
                if len(errors) < limit:
                    errors.append({"id": record["id"], **exc.to_dict()})
    return {"rule": rule.key, "form": rule.form, "trigger": rule.trigger.config, "scanned": scanned,
            "total": conn.execute(sa.select(sa.func.count()).select_from(ft.table).where(*_where(scope))).scalar_one(),
            "matched": matched, "records": out, "errors": errors}


def _where(scope) -> tuple:
    return () if scope is None else (scope,)


def _names(conn, ids: list[int]) -> list[str]:
    if not ids:
        return []
    names = dict(conn.execute(sa.select(db.users.c.id, db.users.c.username).where(db.users.c.id.in_(ids))).all())
    return [names[i] for i in ids if i in names]


def _payload(effect: dict, record) -> dict:
    """The effect as the outbox job would hold it (what ``runtime.rules.messages`` reads)."""
    return {**effect, "record_id": record.get("id"), "tasks": effect.get("tasks")}


def _form(jimu, effect: dict):
    return jimu.catalog.form(effect["form"]) if effect.get("form") in jimu.catalog else None


def _readers(jimu, conn, effect: dict, record) -> list[int]:
    """The users a message to people would reach: those its recipients name who may read the record, as
    the outbox decides (``messages.user_views``), in the recipients' order."""
    ids = resolve_users(conn, effect["recipients"], record, effect.get("form"), tasks=effect.get("tasks"))
    readers = {pr.user_id for principals in user_views(conn, _form(jimu, effect), record.get("id"), ids).values()
               for pr in principals}
    return [i for i in ids if i in readers]


def _mail_reach(jimu, conn, effect: dict, record) -> list[str]:
    """The addresses a mail would go to (``messages.mail_audiences``: users who may read the record, and
    typed addresses that are no such user's)."""
    out: list[str] = []
    for _hidden, _principal, addresses in mail_audiences(jimu, conn, _payload(effect, record), _form(jimu, effect),
                                                         record):
        out.extend(a for a in addresses if a not in out)
    return out


def describe(jimu, conn, effect: dict, record, principal=None) -> dict:
    """An effect as the builder shows it, with who would be reached or picked (read-only lookups), and
    a message rendered as the caller sees the record (what the outbox would render for them)."""
    e = jsonable({k: v for k, v in effect.items() if k != "variables"})
    e.pop("secret", None)
    try:
        if effect.get("templates"):
            e.update(render(jimu, conn, effect, _form(jimu, effect), effect.get("variables") or record, (), principal))
        if effect["kind"] == "assign":
            e["would_assign"] = pick(jimu, conn, effect, dry=True).username
        elif effect["kind"] == "add_participants":
            e["would_reach"] = _names(conn, resolve_users(conn, effect["recipients"], record, effect.get("form"),
                                                            tasks=effect.get("tasks")))
        elif effect["kind"] == "notify_in_app" or (effect["kind"] == "send_message" and effect.get("recipients")):
            e["would_reach"] = _names(conn, _readers(jimu, conn, effect, record))
        elif effect["kind"] in ("send_email", "send_survey"):
            e["would_reach"] = _mail_reach(jimu, conn, effect, record)
            if effect.get("cc"):
                e["would_copy"] = [a for a in cc_addresses(conn, _payload(effect, record), _form(jimu, effect), record)
                                   if a not in e["would_reach"]]   # as the outbox copies
    except JimuError as exc:
        e["problem"] = exc.to_dict()
    return e
