"""Bulk actions on a selection of records: set field values (assign, change a status), run a manual
rule, or run a macro, on each selected record.

Unlike the API's all-or-nothing batch update, a bulk action is what a person does from a list: each
record is tried on its own (in a savepoint, through the one write path, as that person: form verb,
row scope, field rights, the form's validation, rules and flows), the others go on, and the answer
says how many were done and which were refused, with the reason of each. A record outside the
person's reach is refused as not found, exactly as if it did not exist. The run is audited
(``record.bulk``: the action, the records done and refused).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from engines.errors import JimuError, ValidationErrors

from . import audit, macros
from .exceptions import NotFound
from .rules import manual

#: records one bulk action may name (each runs the whole write path)
MAX_SELECTION = 500


class BulkInvalid(ValidationErrors):
    code = "bulk.invalid"
    status = 400


def action_of(body: Mapping[str, Any]) -> tuple[str, Any]:
    """(kind, argument) of a bulk request: exactly one of ``set`` (field → value), ``rule`` (a manual
    rule's key), ``macro`` (a macro's key)."""
    given = [k for k in ("set", "rule", "macro") if k in body]
    if len(given) != 1:
        raise BulkInvalid([{"code": "bulk.action", "message": "send exactly one of set (field values), rule "
                                                              "(a manual rule's key) or macro (a macro's key)"}])
    kind = given[0]
    arg = body[kind]
    if kind == "set" and (not isinstance(arg, dict) or not arg):
        raise BulkInvalid([{"code": "bulk.action", "message": "set takes an object of field → value"}])
    if kind != "set" and not isinstance(arg, str):
        raise BulkInvalid([{"code": "bulk.action", "message": f"{kind} takes the key of a {kind}"}])
    return kind, arg


def run(jimu, records, form: str, ids: Sequence[int], kind: str, arg: Any) -> dict[str, Any]:
    """Apply the action to every record of ``ids`` as ``records.principal``; ``{"done", "refused",
    "results": [{"id", "ok", "error"?}]}`` in the order of ``ids``."""
    ft = records.form(form)
    records._require("update", form)   # without the verb on the form: one 403 for the whole request
    if kind == "rule" and not any(r.key == arg for r in manual.manual_rules(jimu, records, form)):
        raise NotFound(f"form {form!r} has no manual rule {arg!r}", code="rule.not_found", rule=arg)
    if kind == "macro" and not any(m.get("key") == arg for m in macros.macros(ft)):
        raise NotFound(f"form {form!r} has no macro {arg!r}", code="macro.not_found", macro=arg)
    results: list[dict] = []
    for rid in ids:
        try:
            with records.conn.begin_nested():
                if kind == "set":
                    records.update(form, rid, dict(arg))
                elif kind == "rule":
                    manual.run(jimu, records, form, rid, arg)
                else:
                    macros.run(records, form, rid, arg)
            results.append({"id": rid, "ok": True})
        except JimuError as exc:
            results.append({"id": rid, "ok": False, "error": exc.to_dict()})
    done = [r["id"] for r in results if r["ok"]]
    refused = [{"id": r["id"], "code": r["error"]["code"]} for r in results if not r["ok"]]
    audit.record_event(records.conn, "record.bulk", at=records.now, actor_id=records.principal.user_id,
                       form_key=form, data={"action": {kind: arg}, "done": done, "refused": refused,
                                            "source": records.source})
    return {"done": len(done), "refused": len(refused), "results": results}
