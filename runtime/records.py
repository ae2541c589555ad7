"""The one write path for records: permission → clean → unique → store → audit → listeners.

The API, the runtime UI, bulk import and (later) rules and flows all call
``Records``; nothing else writes form tables. Validation is the form engine's
``FormSpec.clean`` — the server is the authority on every path.
Listeners (``jimu.listeners``) run inside the same transaction after a write,
which is where the rule and flow engines hook in.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import sqlalchemy as sa

from engines.errors import JimuError, ValidationErrors
from engines.expr import EvalContext

from . import audit, deferred, expr_context, files, recycle
from .auth import policy
from .auth.principal import Principal
from .context import Jimu
from .store import FormTable, RecordStore
from .store.records import constrained, copy_record, in_savepoint_block
from .store import search
from .store.query import filter_clause, order_clause
from .memo import once
from .serials import allocate_serials


class RecordInvalid(ValidationErrors):
    code = "record.invalid"
    status = 422


@dataclass(frozen=True)
class BatchResult:
    """What ``Records.write_batch`` did: the new ids (in row order), the rejected rows by index, and
    how many rows were valid (written, unless the batch was a check or refused as a whole)."""
    ids: list[int]
    rejected: dict[int, list[dict]]
    valid: int


class UniqueViolation(JimuError):
    code = "form.unique"
    status = 409


MAX_PAGE = 500
MAX_BULK = 10_000

#: the garbage collector's first threshold while a bulk write runs (Python's default is 700 allocations)
BULK_GC_THRESHOLD = 20_000
_gc_lock = threading.Lock()
_gc_writes = 0
#: (Python's thresholds, whether the bulk writes froze the process's objects) while bulk writes run
_gc_saved: tuple | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while a bulk write (or an import's step around it) runs. It
    allocates a few dozen objects per row that live for its batch (values, parameters, audit rows,
    kept records); with the default threshold the collector runs every few rows, moves them to older
    generations as they are still in use, and those moves then start full collections of the whole
    process's objects — a quarter to a third of the write's CPU time. Nothing is kept from
    collection: it just runs every 20,000 allocations instead of 700. Writes running at the same time
    (threads) share one setting; the last to end puts Python's back.

    The objects the process holds when the first write begins are frozen until the last one ends
    (``gc.freeze``): a full collection during the write walks only the objects made since, not the
    whole application (its compiled forms, metadata, modules). One still came every few writes of
    10,000 rows and cost about 110 ms of CPU (a fifth of such a write). Those objects go back to the
    oldest generation afterwards; garbage among them is collected by the next full collection. A
    process that froze its objects itself (after its boot) is left as it is."""
    global _gc_writes, _gc_saved
    with _gc_lock:
        if _gc_writes == 0:
            _gc_saved = (gc.get_threshold(), gc.get_freeze_count() == 0)
            gc.set_threshold(max(_gc_saved[0][0], BULK_GC_THRESHOLD), *_gc_saved[0][1:])
            if _gc_saved[1]:
                gc.freeze()
        _gc_writes += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_writes -= 1
            if _gc_writes == 0 and _gc_saved is not None:
                if _gc_saved[1]:
                    gc.unfreeze()
                gc.set_threshold(*_gc_saved[0])


class Records:
    def __init__(self, jimu: Jimu, conn: sa.Connection, principal: Principal, *, source: str = "api",
                 check_permissions: bool = True, json_types: bool = False):
        """``json_types``: refuse values of a JSON type the form's submission schema does not allow
        (the JSON API's promise); pages and imports leave coercing text to the widgets."""
        self.jimu = jimu
        self.json_types = json_types
        self.conn = conn
        self.principal = principal
        self.source = source
        self.check = check_permissions
        self.store = RecordStore(conn)
        self.now = jimu.now()

    def form(self, key: str) -> FormTable:
        return self.jimu.catalog.form(key)

    def _require(self, verb: str, form_key: str, record=None) -> None:
        if self.check:
            policy.require(self.principal, verb, form_key, record)

    def eval_context(self) -> EvalContext:
        context = self.jimu.eval_context(now=self.now, user=self.principal.as_context())
        context.calendars = expr_context.InstalledCalendars(self.conn, self.jimu.catalog)
        return context

    # -- validation ------------------------------------------------------------
    def clean(self, ft: FormTable, data: Mapping[str, Any], *, existing: Mapping[str, Any] | None = None,
              partial: bool = False, row: int | None = None, context: EvalContext | None = None) -> dict[str, Any]:
        values, errors = self._cleaned(ft, data, existing=existing, partial=partial, context=context)
        errors.extend(self._unique_errors(ft, values, existing))
        if errors:
            if row is not None:
                errors = [dict(e, row=row) for e in errors]
            raise RecordInvalid(errors)
        return values

    def _cleaned(self, ft: FormTable, data: Mapping[str, Any], *, existing: Mapping[str, Any] | None = None,
                 partial: bool = False, context: EvalContext | None = None) -> tuple[dict[str, Any], list[dict]]:
        """The form engine's clean of ``data``: (values, errors), unique values not yet checked."""
        if not isinstance(data, Mapping):
            return {}, [{"code": "record.not_object", "message": "send the record as a JSON object"}]
        context = context or self.eval_context()
        paths = expr_context.form_paths(ft.spec)
        if paths:  # the linked records the form's expressions read (客户.等级), for the new values
            context.links = expr_context.prefetch(self.jimu.catalog, self.conn, ft, {**(existing or {}), **data},
                                                  paths)
        result = ft.spec.clean(data, context=context, existing=existing, partial=partial, trusted=self.trusted)
        if self.json_types:
            wrong = ft.spec.json_type_errors(data)
            if wrong:
                return dict(result.values), [*wrong, *(e for e in result.errors
                                                       if e.get("field") not in {w["field"] for w in wrong})]
        return dict(result.values), list(result.errors)

    def _cleaned_all(self, ft: FormTable, rows: Sequence[Any]) -> list[tuple[dict[str, Any], list[dict]]]:
        """``_cleaned`` of each of a bulk write's new ``rows``, with one context, and what is the same for
        every row (the form's linked paths, the source's trust, the JSON types check) looked at once:
        those per-row looks were a fifth of cleaning a row of a plain ten-field form, and cleaning comes
        before anything is sent, while the server waits."""
        context = self.eval_context()
        if self.json_types or expr_context.form_paths(ft.spec):
            return [self._cleaned(ft, data, context=context) for data in rows]
        clean, trusted = ft.spec.clean, self.trusted
        out = []
        for data in rows:
            if type(data) is not dict and not isinstance(data, Mapping):
                out.append(self._cleaned(ft, data, context=context))
                continue
            result = clean(data, context=context, trusted=trusted)
            out.append((dict(result.values), list(result.errors)))
        return out

    def _unique_errors(self, ft: FormTable, values: Mapping[str, Any], existing) -> list[dict]:
        errors = []
        for f in once(ft.spec, _unique_fields):
            if f.key not in values or values[f.key] in (None, "") or f.key not in ft.columns:
                continue
            col = ft.columns[f.key]
            q = sa.select(ft.table.c.id).where(col == values[f.key]).limit(1)
            if existing is not None:
                q = q.where(ft.table.c.id != existing["id"])
            if self.conn.execute(q).first() is not None:
                errors.append({"code": "form.unique", "field": f.key,
                               "message": f"{f.label_text()} must be unique; this value is already used"})
        return errors

    # -- writes ----------------------------------------------------------------
    def _writable(self, ft: FormTable, data: Any, existing: Mapping[str, Any] | None = None) -> None:
        if self.check:
            policy.check_writable(self.principal, ft, data, existing)

    def _reach(self, ft: FormTable, rid: int, verb: str) -> None:
        """A record outside the principal's row scope for ``verb`` is reported as not existing (404)."""
        if self.check:
            policy.require_row(self.conn, self.principal, ft, rid, verb)

    def _lands_in_scope(self, ft: FormTable, ids: Sequence[int], verb: str) -> None:
        """A write may not leave a record outside the writer's row scope for ``verb`` (as PostgreSQL's
        row security checks the new row): an employee cannot file a claim in a colleague's name, nor
        hand one over to them. The caller's transaction rolls the write back."""
        if not self.check or not ids:
            return
        if len(policy.visible_ids(self.conn, self.principal, ft, ids, verb)) != len(set(ids)):
            raise policy.OutsideScope(f"the {ft.key} record would be outside the records your role may {verb}; "
                                      "set the fields that make it yours (e.g. yourself as its owner or your group)",
                                      form=ft.key, verb=verb)

    def _out(self, form_key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """What the principal may see of a record (hidden fields removed)."""
        return policy.redact(self.principal, form_key, record) if self.check else dict(record)

    def create(self, form_key: str, data: Mapping[str, Any]) -> dict[str, Any]:
        ft = self.form(form_key)
        self._require("create", form_key)
        self._writable(ft, data)
        values = self.clean(ft, data)
        self._check_files(ft, values, None)
        if deferred.waits(self.conn):   # what the listeners will insert: their ids drawn with the record's
            deferred.expect(self.conn, *self.jimu.inserts_ahead(self, ft))
        allocate_serials(self.conn, ft, [values], self.now)
        rid = self._integrity(ft, [values], lambda: self.store.create(ft, values, now=self.now,
                                                                      actor=self.principal.user_id))
        self._lands_in_scope(ft, [rid], "create")
        files.claim(self.conn, ft.spec, form_key, rid, values)
        record = self.store.get(ft, rid)
        audit.record_event(self.conn, "record.created", at=self.now, actor_id=self.principal.user_id,
                           form_key=form_key, record_id=rid,
                           data={"after": _public(ft, record), "source": self.source})
        self.jimu.notify(self, "record.created", ft, record, None)
        return self._out(form_key, record)

    def bulk_create(self, form_key: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """All rows or none: every invalid row is reported (with its index) before anything is written."""
        if len(rows) > MAX_BULK:
            raise RecordInvalid([{"code": "record.too_many",
                                  "message": f"send at most {MAX_BULK} records per request"}])
        result = self.write_batch(form_key, rows)
        if result.rejected:
            raise RecordInvalid([e for errors in result.rejected.values() for e in errors])
        return result.ids

    def write_batch(self, form_key: str, rows: Sequence[Mapping[str, Any]], *, keep_valid: bool = False,
                    write: bool = True, listeners: bool = True, first_row: int = 0) -> "BatchResult":
        """The bulk path (API bulk create, file imports): each row is cleaned and checked as ``create``
        does (unique values in one query per unique field for the whole batch, and against the rows
        before it in the batch), then the valid rows are written with multi-row INSERTs (COPY), their
        audit events likewise (on PostgreSQL, for a large batch, built by the server while the
        listeners are told: ``audit.record_created``), and the listeners that act on the form's
        creates (``Jimu.listening``: a rule, a flow or a webhook for it) told about each record, read
        back in one query — none read, none told when no listener acts.

        Invalid rows come back in ``rejected`` (index in ``rows`` → errors, each with ``row`` =
        ``first_row`` + index). Nothing is written when a row is rejected unless ``keep_valid``,
        nor when ``write`` is false (a dry run, an import's check pass). ``listeners=False`` skips
        rules and flows (imports that ask for it; the caller audits that choice)."""
        with fewer_collections():
            return self._write_batch(form_key, rows, keep_valid=keep_valid, write=write, listeners=listeners,
                                     first_row=first_row)

    def _write_batch(self, form_key: str, rows: Sequence[Mapping[str, Any]], *, keep_valid: bool, write: bool,
                     listeners: bool, first_row: int) -> "BatchResult":
        ft = self.form(form_key)
        self._require("create", form_key)
        for data in rows:
            self._writable(ft, data)
        cleaned: list[dict[str, Any]] = []
        valid_at: list[int] = []   # the index in ``rows`` of each cleaned row
        rejected: dict[int, list[dict]] = {}
        files_too = _holds_files(ft)
        results = self._cleaned_all(ft, rows)
        taken = self._unique_taken(ft, [values for values, _ in results])
        seen: dict[str, set] = {}
        for i, (values, errors) in enumerate(results):
            for key, used in taken.items():
                value = values.get(key)
                if value in (None, ""):
                    continue
                earlier = seen.setdefault(key, set())
                if value in used or value in earlier:
                    label = ft.spec.field(key).label_text()
                    errors.append({"code": "form.unique", "field": key,
                                   "message": f"{label} must be unique; this value is already used"
                                   if value in used else f"{label} must be unique; an earlier row uses this value"})
                earlier.add(value)
            if files_too and not errors:
                try:
                    self._check_files(ft, values, None)
                except RecordInvalid as exc:
                    errors.extend(exc.errors)
            if errors:
                rejected[i] = [dict(e, row=first_row + i) for e in errors]
            else:
                cleaned.append(values)
                valid_at.append(i)
        if not write or not cleaned or (rejected and not keep_valid):
            return BatchResult([], rejected, len(cleaned))
        if keep_valid and self.check and policy.row_filter(self.principal, ft, "create") is not None:
            cleaned = self._inside_scope(ft, cleaned, valid_at, rejected, first_row)
            if not cleaned:
                return BatchResult([], rejected, 0)
        allocate_serials(self.conn, ft, cleaned, self.now)
        told = self.jimu.listening(self, "record.created", ft) if listeners else ()
        # how the server can build the creation events, worked out while it takes in the rows
        plans = []
        ids = self._integrity(ft, cleaned, lambda: self.store.bulk_create(
            ft, cleaned, now=self.now, actor=self.principal.user_id, read=bool(told),
            meanwhile=lambda: plans.append(audit.created_plan(self.conn, ft.columns, cleaned))))
        self._lands_in_scope(ft, ids, "create")
        if _holds_files(ft):
            for rid, values in zip(ids, cleaned):
                files.claim(self.conn, ft.spec, form_key, rid, values)
        audit.record_created(self.conn, ft.table, ft.columns, ids, cleaned, at=self.now,
                             actor_id=self.principal.user_id, form_key=form_key, source=self.source,
                             plan=plans[-1] if plans else audit.UNPLANNED)
        if told:
            written = self.store.created_records(ft, ids)  # kept: the rules' reads of them stay in memory
            self._tell_created(ft, written, told)
        return BatchResult(ids, rejected, len(cleaned))

    def _tell_created(self, ft: FormTable, written: Sequence[dict[str, Any]], told: tuple) -> None:
        """Tell ``told`` about each record of a bulk write, in order, as ``create`` does for one —
        except where a listener answered for the whole batch (its ``in_batch``: on an import most
        records match no rule) what to call instead of it for each record: nothing, or a quicker
        equivalent of telling it."""
        instead = [listener.in_batch(self, "record.created", ft, written) if hasattr(listener, "in_batch")
                   else None for listener in told]
        columns = [(listener,) * len(written) if per_record is None else per_record
                   for listener, per_record in zip(told, instead)]
        nothing = (None,) * len(told)
        for record, chosen in zip(written, zip(*columns)):
            if chosen == nothing:
                continue
            listeners = chosen if None not in chosen else tuple(c for c in chosen if c is not None)
            # a copy: the records are the ones the store keeps (``created_records``)
            self.jimu.notify(self, "record.created", ft, copy_record(record), None, listeners=listeners)

    def _inside_scope(self, ft: FormTable, cleaned: list[dict], valid_at: list[int],
                      rejected: dict[int, list[dict]], first_row: int) -> list[dict]:
        """The rows that would land inside the writer's create scope (tried in a savepoint, rolled
        back); the others are rejected with ``permission.row_scope`` instead of failing the batch."""
        with self.conn.begin_nested() as trial:
            ids = self.store.bulk_create(ft, cleaned, now=self.now, actor=self.principal.user_id)
            inside = policy.visible_ids(self.conn, self.principal, ft, ids, "create")
            trial.rollback()
        kept = []
        for rid, values, i in zip(ids, cleaned, valid_at):
            if rid in inside:
                kept.append(values)
            else:
                rejected[i] = [{"code": "permission.row_scope", "row": first_row + i,
                                "message": "this record would be outside the records your role may create; "
                                           "set the fields that make it yours"}]
        return kept

    def _unique_taken(self, ft: FormTable, rows: Sequence[Mapping[str, Any]]) -> dict[str, set]:
        """Unique field key → the values among ``rows`` that records already hold (one query per field)."""
        out: dict[str, set] = {}
        for f in ft.spec.fields:
            if not f.unique or f.key not in ft.columns:
                continue
            values = list({v for r in rows if (v := r.get(f.key)) not in (None, "")})
            col = ft.columns[f.key]
            found: set = set()
            for i in range(0, len(values), 500):
                found.update(self.conn.execute(sa.select(col).where(col.in_(values[i:i + 500]))).scalars())
            out[f.key] = found
        return out

    #: write sources that may set read-only fields: the platform acting on published metadata (rules,
    #: flows, and a merge's declared moves once the person's rights on both records are checked)
    SYSTEM_SOURCES = frozenset({"rule", "flow", "merge"})

    @property
    def trusted(self) -> bool:
        """Rules and flows write read-only fields (stamps, counters); a person's submission never does."""
        return self.source in self.SYSTEM_SOURCES

    def update(self, form_key: str, rid: int, data: Mapping[str, Any], *,
               expected_version: int | None = None) -> dict[str, Any]:
        ft = self.form(form_key)
        self._require("update", form_key)
        before = self.store.get(ft, rid)
        self._reach(ft, rid, "update")
        self._writable(ft, data, before)
        values = self.clean(ft, data, existing=before, partial=True)
        self._check_files(ft, values, before)
        self._integrity(ft, [values], lambda: self.store.update(ft, rid, values, expected_version=expected_version,
                                                                now=self.now, actor=self.principal.user_id,
                                                                before=before))
        self._lands_in_scope(ft, [rid], "update")
        files.claim(self.conn, ft.spec, form_key, rid, values)
        after = self.store.get(ft, rid)
        diff = audit.changes(_public(ft, before), _public(ft, after))
        audit.record_event(self.conn, "record.updated", at=self.now, actor_id=self.principal.user_id,
                           form_key=form_key, record_id=rid, data={"changes": diff, "source": self.source})
        self.jimu.notify(self, "record.updated", ft, after, before)
        return self._out(form_key, after)

    def delete(self, form_key: str, rid: int, *, expected_version: int | None = None) -> None:
        """Move the record to the recycle bin (``runtime.recycle``) with its sub-table rows, links,
        files and waiting flows; ``recycle.restore`` gives it back, ``recycle.purge`` ends it."""
        ft = self.form(form_key)
        self._require("delete", form_key)
        before = self.store.get(ft, rid)
        self._reach(ft, rid, "delete")
        entry = recycle.move_to_bin(self, ft, before, expected_version=expected_version)
        audit.record_event(self.conn, "record.deleted", at=self.now, actor_id=self.principal.user_id,
                           form_key=form_key, record_id=rid, data={"before": _public(ft, before),
                                                                   "source": self.source, "bin": entry})
        self.jimu.notify(self, "record.deleted", ft, None, before)

    def _check_files(self, ft: FormTable, values: dict[str, Any], before, *, row: int | None = None) -> None:
        """People attach their own fresh uploads only (see ``files.check_references``); rules and flows
        act on published metadata and may copy a record's files to another."""
        if self.source in self.SYSTEM_SOURCES:
            return
        errors = files.check_references(self.conn, ft.spec, values, before, user_id=self.principal.user_id)
        if errors:
            raise RecordInvalid([dict(e, row=row) for e in errors] if row is not None else errors)

    def _integrity(self, ft: FormTable, rows: Sequence[Mapping[str, Any]], fn):
        """A unique index or a link's foreign key can still catch what the pre-checks missed (a race, a
        linked record deleted meanwhile): report it, don't 500. The savepoint keeps the transaction
        usable after such an error (PostgreSQL aborts it otherwise) and costs two statements, so it is
        taken only when the values written can trip one of those constraints (a link to a record this
        transaction created cannot), and not inside another savepoint (a rule's or an automatic step's,
        ``store.records.savepoint``: the write sends it, unless the block settled), whose rollback
        already ends the failed write."""
        if not constrained(ft, rows, self.conn):
            return fn()
        try:
            if self.conn.in_nested_transaction() or in_savepoint_block(self.conn):
                return fn()
            with self.conn.begin_nested():
                return fn()
        except sa.exc.IntegrityError as exc:
            raise UniqueViolation("a unique value is already used, or a linked record does not exist; "
                                  "check unique fields and links", detail=str(exc.orig)[:200]) from None

    # -- reads -----------------------------------------------------------------
    def get(self, form_key: str, rid: int) -> dict[str, Any]:
        ft = self.form(form_key)
        self._require("read", form_key)
        record = self.store.get(ft, rid)
        self._reach(ft, rid, "read")
        return self._out(form_key, record)

    def list(self, form_key: str, *, filters: Any = None, sort: str | None = None, q: str | None = None,
             page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int, bool]:
        ft, where, hidden = self._list_where(form_key, filters, sort)
        per_page = max(1, min(int(per_page), MAX_PAGE))
        page = max(1, int(page))
        # with a query: ranked by relevance unless a sort is asked for; page and total in one statement
        rows, total, capped = search.search(self.conn, ft, q or "", where=where, hidden=hidden,
                                            order_by=order_clause(ft, sort), limit=per_page,
                                            offset=(page - 1) * per_page)
        if hidden:
            rows = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
        return rows, total, capped

    def iter_list(self, form_key: str, *, filters: Any = None, sort: str | None = None, q: str | None = None,
                  batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every record of the list ``list`` would page through (same filters, search, row scope, hidden
        fields, order), streamed from one query in batches: what exports read."""
        ft, where, hidden = self._list_where(form_key, filters, sort, q)
        for rows in self.store.stream(ft, where=where, order_by=order_clause(ft, sort), batch=batch):
            for r in rows:
                yield {k: v for k, v in r.items() if k not in hidden} if hidden else r

    def _list_where(self, form_key: str, filters: Any, sort: str | None, q: str | None = None):
        """(form table, WHERE clause or None, hidden fields) of a list: the permission checks of reading
        it (verb, hidden fields not filtered or sorted by, row scope), the filters and, given ``q``,
        the records the search finds (``list`` searches itself: ranked, with the total)."""
        ft = self.form(form_key)
        self._require("read", form_key)
        hidden = policy.hidden_fields(self.principal, form_key) if self.check else frozenset()
        if hidden:
            policy.require_visible_fields(self.principal, form_key, [*_filter_fields(filters), *_sort_fields(sort)])
        clauses = []
        if filters:
            clauses.append(filter_clause(ft, filters, now=self.now, forms=_Readable(self) if self.check
                                         else self.jimu.catalog))
        rf = policy.row_filter(self.principal, ft) if self.check else None
        if rf is not None:
            clauses.append(rf)
        found = search.ids_clause(self.conn, ft, q or "", hidden=hidden)
        if found is not None:
            clauses.append(found)
        return ft, (sa.and_(*clauses) if clauses else None), hidden


class _Readable:
    """The forms a reader's filter may follow a link into (``客户.等级``): only forms they may read,
    fields not hidden from them and, through ``row_filter``, rows inside their scope."""

    def __init__(self, records: "Records"):
        self.records = records

    def form(self, key: str) -> FormTable:
        self.records._require("read", key)
        return self.records.jimu.catalog.form(key)

    def row_filter(self, ft: FormTable) -> sa.ColumnElement | None:
        return policy.row_filter(self.records.principal, ft)

    def require_visible(self, key: str, fields: list[str]) -> None:
        policy.require_visible_fields(self.records.principal, key, fields)


def _filter_fields(spec: Any) -> list[str]:
    """Every field key a record-list filter names (``{field, op, value}`` nested in all/any lists)."""
    if isinstance(spec, list):
        return [k for item in spec for k in _filter_fields(item)]
    if isinstance(spec, Mapping):
        if "all" in spec or "any" in spec:
            return _filter_fields(spec.get("all", spec.get("any")))
        return [spec["field"]] if isinstance(spec.get("field"), str) else []
    return []


def _sort_fields(sort: str | None) -> list[str]:
    return [part.strip().lstrip("-+") for part in (sort or "").split(",") if part.strip()]


def _holds_files(ft: FormTable) -> bool:
    """Whether records of the form can reference uploaded files (a file field, or one in a sub-table)."""
    return any(getattr(f.widget, "accepts_files", False) or f.children is not None for f in ft.spec.fields)


def _unique_fields(spec) -> tuple:
    """The form's fields whose values must be unique (worked out once per compiled form)."""
    return tuple(f for f in spec.fields if f.unique)


def _public(ft: FormTable, record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ft.spec.field_keys if k in record}
