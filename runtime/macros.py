"""Macros: several changes to one record applied in one click (a reply from a template, a status, an
assignee), declared on the form (``macros`` in ``schemas/form.json``).

A macro is a list of rule actions (``engines.rule.ACTIONS``) run through the one effects executor
(``EffectsExecutor.run_actions``) — but with the rights of the person who runs it: every write goes
through their ``Records`` (form verbs, row scope, read-only and hidden fields, the form's validation)
and rules fire on those writes as on their own. One transaction: a refused write undoes the whole
macro. Each run is audited (``record.macro``: the macro, who, the records it wrote).
"""
from __future__ import annotations

from typing import Any

from engines.errors import JimuError
from engines.expr import compile_expr

from . import audit
from .auth import policy
from .exceptions import NotFound



class MacroNotApplicable(JimuError):
    code = "macro.not_applicable"
    status = 409


def macros(ft) -> list[dict]:
    return list(ft.spec.definition.get("macros") or [])


def _applies(records, macro: dict, record: dict) -> bool:
    cond = macro.get("visible_if")
    if not cond:
        return True
    try:
        return bool(compile_expr(cond).evaluate(dict(record), records.eval_context()))
    except JimuError:
        return False


def offered(records, ft, record: dict) -> list[dict]:
    """The macros ``records.principal`` could run on ``record`` now (``{"key", "label", "description"}``): none unless
    they may update it; those whose ``visible_if`` holds."""
    if records.check and (not policy.can(records.principal, "update", ft.key) or not policy.row_visible(
            records.conn, records.principal, ft, record["id"], "update")):
        return []
    return [{"key": m["key"], "label": m.get("label") or m["key"], "description": m.get("description")}
            for m in macros(ft) if _applies(records, m, record)]


def run(records, form: str, rid: int, key: str) -> dict[str, Any]:
    """Run macro ``key`` of ``form`` on record ``rid`` as ``records.principal``; answers the records it
    wrote (``{"macro", "records": [{"form", "id"}]}``)."""
    ft = records.form(form)
    macro = next((m for m in macros(ft) if m.get("key") == key), None)
    if macro is None:
        raise NotFound(f"form {form!r} has no macro {key!r}; its macros are "
                       f"{', '.join(m['key'] for m in macros(ft)) or 'none'}", code="macro.not_found", macro=key)
    records.get(form, rid)  # read permission and row scope: a record out of reach is 404
    if records.check:
        policy.require_record(records.conn, records.principal, "update", ft, rid)
    record = records.store.get(ft, rid)
    if not _applies(records, macro, record):
        raise MacroNotApplicable(f"macro {key!r} does not apply to this record now (its condition does not hold)",
                                 macro=key)
    touched = records.jimu.services.effects.run_actions(
        records.conn, macro.get("actions") or [], form=form, record_id=rid, origin=f"macro:{key}",
        as_person=records)
    written = sorted(({"form": f, "id": i} for f, i in touched), key=lambda r: (r["form"], r["id"]))
    audit.record_event(records.conn, "record.macro", at=records.now, actor_id=records.principal.user_id,
                       form_key=form, record_id=rid,
                       data={"macro": key, "records": written, "source": records.source})
    return {"macro": key, "records": written}
