"""Merging a duplicate record into the one kept, as a form's ``merge`` setting declares it.

The person needs read and update rights, inside their row scope, on both records (a record they
cannot reach is a 404, as if it did not exist). Then, in one transaction: the records of other forms
that link to the duplicate (``merge.move``, by default the form's related lists with a direct link)
move to the kept record; the duplicate gets the declared values (``merge.set``, e.g. a closed status)
and its ``merge.link`` field points at the kept record. With ``quiet`` (the default) that closing
write fires no rules and the duplicate's running flows are cancelled, so no survey or notice goes out
for a duplicate. These writes are the platform acting on the declaration (source ``merge``) once the
person's rights on both records are checked; each is audited as usual, and the merge itself as
``record.merged`` on both records.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engines.errors import Conflict

from . import audit
from .auth import policy


class MergeRefused(Conflict):
    code = "merge.refused"


def _moves(catalog, ft) -> list[tuple[str, str]]:
    spec = ft.spec.definition.get("merge") or {}
    if spec.get("move") is not None:
        return [(m["form"], m["field"]) for m in spec["move"]]
    return [(r["form"], r["field"]) for r in ft.spec.definition.get("related") or [] if "." not in r["field"]]


def merge(jimu, records, form: str, duplicate: int, into: int) -> dict[str, Any]:
    """Merge record ``duplicate`` of ``form`` into record ``into`` as ``records.principal``."""
    ft = records.form(form)
    spec = ft.spec.definition.get("merge")
    if not spec:
        raise MergeRefused(f"form {form!r} does not declare how its records merge; add a merge setting "
                           "(the link to the kept record) to the form", code="merge.not_declared")
    if duplicate == into:
        raise MergeRefused("a record cannot be merged into itself; choose another record to keep",
                           code="merge.same_record")
    for rid in (duplicate, into):
        records.get(form, rid)   # read permission and row scope on both: out of reach is a 404
        if records.check:
            policy.require_record(records.conn, records.principal, "update", ft, rid)
    link = spec["link"]
    dup, kept = records.store.get(ft, duplicate), records.store.get(ft, into)
    if dup.get(link) is not None:
        raise MergeRefused(f"record {duplicate} was already merged into record {dup[link]}",
                           code="merge.already_merged", into=dup[link])
    if kept.get(link) is not None:
        raise MergeRefused(f"record {into} was itself merged into record {kept[link]}; merge into that one",
                           code="merge.target_merged", into=kept[link])
    system = jimu.services.records(jimu, records.conn, records.principal, source="merge", check_permissions=False)
    system.now = records.now
    moved = []
    for other_key, field in _moves(jimu.catalog, ft):
        if other_key not in jimu.catalog:
            continue
        other = jimu.catalog.form(other_key)
        col = other.columns.get(field)
        if col is None:
            continue
        ids = list(records.conn.execute(sa.select(other.table.c.id).where(col == duplicate)
                                        .order_by(other.table.c.id)).scalars())
        for rid in ids:
            system.update(other_key, rid, {field: into})
        moved.append({"form": other_key, "field": field, "ids": ids})
    quiet = spec.get("quiet", True)
    if quiet:
        system.rules_off = True
        flows = jimu.services.flows.runtime(records.conn)
        for inst in flows.instances_of_record(form, duplicate):
            if inst["status"] == "running":
                flows.cancel(records.principal, inst["id"], f"merged into record {into}")
    system.update(form, duplicate, {**(spec.get("set") or {}), link: into})
    data = {"duplicate": duplicate, "into": into, "moved": moved, "source": records.source}
    for rid in (duplicate, into):
        audit.record_event(records.conn, "record.merged", at=records.now, actor_id=records.principal.user_id,
                           form_key=form, record_id=rid, data=data)
    return {"merged": duplicate, "into": into, "moved": moved}
