"""Importing a spreadsheet into a form: preview, start, and the step the worker (or the CLI) repeats.

An import is a row of ``jimu_imports``; its file is an upload in the file store. ``step`` reads the
next rows of the file (streamed, from the position the previous step stopped at), turns cells into
raw values (``mapping.Converter``) and hands them to ``Records.write_batch`` — the one write path, so
validation, unique checks, serial numbers, audit, rules and flows are those of any create. Counters,
position and rejected rows are written in the step's transaction: progress is durable, a crashed
step is simply run again.

Modes:
* ``valid`` — import the valid rows, keep the rejected ones (with every error) for download; the
  file is written in steps of ``STEP_ROWS`` rows, each committed with its progress;
* ``all`` — all or nothing: a first pass checks every row (in steps, writing nothing); only if
  none is rejected, a second pass writes the whole file in one transaction (a row refused then —
  a unique value taken meanwhile — rolls all of it back).

``skip_rules`` writes without telling the rules and flows; only builders of the form's app may ask
for it, and the choice is in the audit log (``records.import``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Mapping

import sqlalchemy as sa

from engines.errors import JimuError

from .. import audit, db
from ..auth import policy, tokens
from ..auth.principal import load_principal
from ..exceptions import NotFound, PermissionDenied
from ..records import Records, fewer_collections
from .mapping import BadMapping, Converter, auto_map, check_mapping, importable_fields
from .readers import cell_text, kind_of, open_table

MODES = ("valid", "all")
#: rows per ``Records.write_batch`` call (one INSERT, one audit statement)
BATCH_ROWS = 1000
#: rows per step (one job, one transaction) of the ``valid`` mode and of the ``all`` mode's check
STEP_ROWS = 20_000
PREVIEW_ROWS = 20
#: errors kept per rejected row in the import's summary
QUEUED, CHECKING, WRITING, DONE, FAILED = "queued", "checking", "writing", "done", "failed"
FINISHED = (DONE, FAILED)


class ImportNotFound(NotFound):
    code = "import.not_found"


def file_kind(name: str) -> str:
    return kind_of(name)


def _table(jimu, file_id: str, kind: str):
    return open_table(jimu.services.files.store.local_path(file_id), kind)


# -- preview ------------------------------------------------------------------------------------------
def preview(jimu, conn, principal, form_key: str, file_id: str, file_name: str, *,
            mapping: Mapping[str, str] | None = None, link_keys: Mapping[str, str] | None = None,
            rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The file's headings, the mapping (given, or matched by label), the fields that can be filled,
    and the first ``rows`` rows with every error of every cell — nothing is written."""
    records = Records(jimu, conn, principal, source="import")
    ft = records.form(form_key)
    policy.require(principal, "create", form_key)
    table = _table(jimu, file_id, file_kind(file_name))
    fields = importable_fields(ft, principal)
    mapping = check_mapping(fields, table.header, mapping) if mapping else auto_map(fields, table.header)
    out_rows = []
    if mapping:
        converter = Converter(conn, jimu.catalog, principal, ft, table.header, dict(mapping), dict(link_keys or {}))
        lines = []
        for _, line, cells in table.rows():
            lines.append((line, cells))
            if len(lines) >= rows:
                break
        errors, _ = _check(records, converter, form_key, [c for _, c in lines], write=False)
        for (line, cells), row_errors in zip(lines, errors):
            out_rows.append({"line": line, "cells": [cell_text(c) for c in cells], "errors": row_errors})
    return {"header": table.header, "mapping": mapping, "rows": out_rows,
            "fields": [{"key": f.key, "label": f.label, "required": f.required,
                        "link": f.widget.config.get("form") if f.widget.value_kind == "link" else None}
                       for f in fields]}


def _check(records: Records, converter: Converter, form_key: str, rows: list[list], *, write: bool,
           keep_valid: bool = True, listeners: bool = True) -> tuple[list[list[dict]], int]:
    """Errors per row (conversion and validation) and how many rows were written (with ``write``,
    the rows without errors; with ``keep_valid`` false, none when one row has errors)."""
    converted = converter.convert(rows)
    ok = [i for i, (_, errs) in enumerate(converted) if not errs]
    bad = [i for i, (_, errs) in enumerate(converted) if errs]
    errors: list[list[dict]] = [list(errs) for _, errs in converted]
    result = records.write_batch(form_key, [converted[i][0] for i in ok], write=write, keep_valid=keep_valid,
                                 listeners=listeners)
    for j, errs in result.rejected.items():
        errors[ok[j]].extend(errs)
    if bad:
        checked = records.write_batch(form_key, [converted[i][0] for i in bad], write=False)
        for j, errs in checked.rejected.items():
            told = {e["field"] for e in errors[bad[j]]}
            errors[bad[j]].extend(e for e in errs if e.get("field") not in told)
    for row_errors in errors:
        for e in row_errors:
            e.pop("row", None)
    return errors, len(result.ids)


# -- start --------------------------------------------------------------------------------------------
def start(jimu, conn, principal, form_key: str, file_id: str, file_name: str, *,
          mapping: Mapping[str, str] | None = None, mode: str = "valid", skip_rules: bool = False,
          link_keys: Mapping[str, str] | None = None, queue: bool = True, token_id: int | None = None) -> int:
    """Record an import (checked: the verb, the mapping, the mode, who may skip rules) and, with
    ``queue``, hand its first step to the worker; returns its id. An import started with an API
    token (``token_id``; ``principal`` is then already narrowed to it) runs every step with the
    token's rights, and fails when the token is revoked or expires before it ends."""
    ft = jimu.catalog.form(form_key)
    policy.require(principal, "create", form_key)
    if mode not in MODES:
        raise BadMapping(f"mode must be one of {', '.join(MODES)}", code="import.bad_mode", mode=mode)
    if skip_rules and not policy.may_build(principal, ft.app_key):
        raise PermissionDenied("only builders of this app may import without running its rules and flows; "
                               "import with rules on", code="permission.skip_rules", form=form_key)
    kind = file_kind(file_name)
    table = _table(jimu, file_id, kind)
    fields = importable_fields(ft, principal)
    mapping = check_mapping(fields, table.header, mapping or auto_map(fields, table.header))
    Converter(conn, jimu.catalog, principal, ft, table.header, dict(mapping), dict(link_keys or {}))
    now = jimu.now()
    options = {"mapping": mapping, "link_keys": dict(link_keys or {}), "skip_rules": bool(skip_rules),
               "kind": kind, "phase": "check" if mode == "all" else "write", "position": None, "steps": 0,
               "extent": table.extent, "start": table.start, "header": table.header, "token": token_id}
    iid = conn.execute(sa.insert(db.imports).values(
        form_key=form_key, status=QUEUED, mode=mode, options=options, file_id=file_id, file_name=file_name,
        done_rows=0, imported=0, rejected=0, created_by=principal.user_id, created_at=now)).inserted_primary_key[0]
    audit.record_event(conn, "records.import", at=now, actor_id=principal.user_id, form_key=form_key,
                       data={"import": iid, "file": file_name, "mode": mode, "skip_rules": bool(skip_rules),
                             "mapping": mapping})
    if queue:
        _enqueue(jimu, conn, iid, 0)
    return iid


JOB_KIND = "records.import"


def _enqueue(jimu, conn, iid: int, n: int) -> None:
    from .. import jobs
    jobs.enqueue(conn, JOB_KIND, {"import": iid}, run_at=jimu.now(), key=f"import:{iid}:{n}", now=jimu.now(),
                 max_attempts=3)


def run_job(jimu, conn, job) -> None:
    """The worker's handler of ``records.import``: one step, then the next step queued."""
    iid = int(job.payload["import"])
    if step(jimu, conn, iid):
        steps = conn.execute(sa.select(db.imports.c.options).where(db.imports.c.id == iid)).scalar()["steps"]
        _enqueue(jimu, conn, iid, steps)


JOB_HANDLERS = {JOB_KIND: run_job}


# -- one step -----------------------------------------------------------------------------------------
def step(jimu, conn, iid: int, *, step_rows: int | None = None) -> bool:
    """Import the next rows of import ``iid`` in the caller's transaction; True while there is more.

    A problem the user must fix (the file unreadable, a field gone, their role changed) finishes
    the import as failed with the reason; anything else raises (the job is retried)."""
    imp = conn.execute(sa.select(db.imports).where(db.imports.c.id == iid)).mappings().first()
    if imp is None or imp["status"] in FINISHED:
        return False
    try:
        with fewer_collections():
            return _step(jimu, conn, imp, step_rows or STEP_ROWS)
    except JimuError as exc:
        if exc.status >= 500:
            raise
        _finish(jimu, conn, imp, FAILED, error=f"{exc.code}: {exc.message}")
        return False


def _step(jimu, conn, imp: Mapping[str, Any], step_rows: int) -> bool:
    opts = dict(imp["options"])
    principal = load_principal(conn, imp["created_by"]) if imp["created_by"] is not None else None
    if principal is None:
        raise PermissionDenied("the user who started this import is gone or inactive", code="import.no_user")
    if opts.get("token") is not None:   # started with an API token: its scope, not the user's every right
        principal = tokens.acting_through(conn, principal, opts["token"], now=jimu.now())
    records = Records(jimu, conn, principal, source="import")
    ft = records.form(imp["form_key"])
    table = _table(jimu, imp["file_id"], opts["kind"])
    converter = Converter(conn, jimu.catalog, principal, ft, table.header, dict(opts["mapping"]),
                          dict(opts["link_keys"]))
    write = opts["phase"] == "write"
    whole = write and imp["mode"] == "all"   # all or nothing: the whole file in this transaction
    limit = None if whole else step_rows
    listeners = not opts["skip_rules"]
    done = imported = rejected = 0
    rejects: list[dict] = []
    position, exhausted = opts["position"], True
    savepoint = conn.begin_nested() if whole else None
    rows_iter = table.rows(position)
    for batch in _batches(rows_iter, BATCH_ROWS, limit):
        errors, written = _check(records, converter, imp["form_key"], [cells for _, _, cells in batch],
                                 write=write and not (whole and rejected), keep_valid=not whole, listeners=listeners)
        imported += written
        for (_, line, cells), row_errors in zip(batch, errors):
            if row_errors:
                rejected += 1
                rejects.append({"import_id": imp["id"], "line": line, "cells": [cell_text(c) for c in cells],
                                "errors": row_errors})
        done += len(batch)
        position = batch[-1][0]
        if len(rejects) >= BATCH_ROWS:
            conn.execute(sa.insert(db.import_rejects), rejects)
            rejects = []
        if limit is not None and done >= limit:
            exhausted = False
            break
    rows_iter.close()
    if rejects:
        conn.execute(sa.insert(db.import_rejects), rejects)
    if whole and rejected:
        savepoint.rollback()
        imported = 0
    elif savepoint is not None:
        savepoint.commit()
    opts.update(position=position, steps=opts["steps"] + 1)
    status = (WRITING if write else CHECKING)
    values = dict(options=opts, status=status, done_rows=db.imports.c.done_rows + done,
                  imported=db.imports.c.imported + imported, rejected=db.imports.c.rejected + rejected)
    if not exhausted:
        conn.execute(sa.update(db.imports).where(db.imports.c.id == imp["id"]).values(**values))
        return True
    if imp["mode"] == "all" and not write:
        total_rejected = imp["rejected"] + rejected
        if total_rejected:
            conn.execute(sa.update(db.imports).where(db.imports.c.id == imp["id"]).values(**values))
            _finish(jimu, conn, imp, FAILED, error=f"{total_rejected} rows are invalid; nothing was imported")
            return False
        # every row is valid: write them all (again from the first row), in one transaction
        opts.update(phase="write", position=None)
        values.update(options=opts, status=WRITING, done_rows=0)
        conn.execute(sa.update(db.imports).where(db.imports.c.id == imp["id"]).values(**values))
        return True
    conn.execute(sa.update(db.imports).where(db.imports.c.id == imp["id"]).values(**values))
    if whole and rejected:
        _finish(jimu, conn, imp, FAILED, error=f"{rejected} rows were refused while writing; nothing was imported")
    else:
        _finish(jimu, conn, imp, DONE)
    return False


def _batches(rows: Iterator, size: int, limit: int | None) -> Iterator[list]:
    batch = []
    taken = 0
    for item in rows:
        batch.append(item)
        taken += 1
        if len(batch) >= size or (limit is not None and taken >= limit):
            yield batch
            batch = []
            if limit is not None and taken >= limit:
                return
    if batch:
        yield batch


def _finish(jimu, conn, imp: Mapping[str, Any], status: str, *, error: str | None = None) -> None:
    now = jimu.now()
    conn.execute(sa.update(db.imports).where(db.imports.c.id == imp["id"]).values(
        status=status, error=error, finished_at=now))
    row = conn.execute(sa.select(db.imports).where(db.imports.c.id == imp["id"])).mappings().one()
    audit.record_event(conn, "records.import_finished", at=now, actor_id=imp["created_by"],
                       form_key=imp["form_key"],
                       data={"import": imp["id"], "status": status, "imported": row["imported"],
                             "rejected": row["rejected"], "error": error,
                             "skip_rules": bool(imp["options"].get("skip_rules"))})


# -- reading the state ---------------------------------------------------------------------------------
def status(conn, principal, iid: int) -> dict[str, Any]:
    """An import's progress, for its starter (or an administrator); others get a 404."""
    imp = conn.execute(sa.select(db.imports).where(db.imports.c.id == iid)).mappings().first()
    if imp is None or not (principal.is_admin or imp["created_by"] == principal.user_id):
        raise ImportNotFound(f"import {iid} does not exist", id=iid)
    failed_job = None
    if imp["status"] not in FINISHED:
        t = db.jobs
        failed_job = conn.execute(sa.select(t.c.last_error).where(
            t.c.idempotency_key.like(f"import:{iid}:%"), t.c.status == "failed")).scalar()
    opts = imp["options"]
    return {"id": imp["id"], "form": imp["form_key"], "file": imp["file_name"], "mode": imp["mode"],
            "status": FAILED if failed_job else imp["status"], "phase": opts.get("phase"),
            "skip_rules": bool(opts.get("skip_rules")), "done_rows": imp["done_rows"],
            "imported": imp["imported"], "rejected": imp["rejected"], "error": imp["error"] or failed_job,
            "created_at": _iso(imp["created_at"]), "finished_at": _iso(imp["finished_at"]),
            "progress": _progress(imp["status"], opts)}


def _progress(state: str, opts: Mapping[str, Any]) -> float:
    """How far the current pass is through the file, 0..1 (bytes of a CSV, rows of a sheet)."""
    if state == DONE:
        return 1.0
    start, extent, position = _at(opts.get("start")), opts.get("extent") or 0, opts.get("position")
    if position is None or extent <= start:
        return 0.0
    return max(0.0, min(1.0, (_at(position) - start) / (extent - start)))


def _at(position) -> int:
    """A CSV position is ``[offset, line]``; a sheet's is its row."""
    return (position[0] if isinstance(position, (list, tuple)) else position) or 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def rejected_rows(conn, iid: int) -> Iterator[tuple[int, list, list]]:
    """``(line, cells, errors)`` of every refused row, in file order, streamed."""
    t = db.import_rejects
    last = 0
    while True:
        rows = conn.execute(sa.select(t.c.id, t.c.line, t.c.cells, t.c.errors).where(
            t.c.import_id == iid, t.c.id > last).order_by(t.c.id).limit(1000)).all()
        if not rows:
            return
        for r in rows:
            yield r.line, r.cells, r.errors
        last = rows[-1].id


def rejected_table(conn, iid: int, lang: str = "zh-CN") -> tuple[list[str], Iterator[list]]:
    """The rejected rows as a sheet: the file's own headings, the row's line and an error column
    (``field: message`` for each error), ready for ``writers.stream``."""
    imp = conn.execute(sa.select(db.imports).where(db.imports.c.id == iid)).mappings().one()
    header = list(imp["options"].get("header") or [])
    zh = lang.startswith("zh")
    return [*header, "行号" if zh else "Line", "错误" if zh else "Errors"], (
        [*cells, line, "; ".join(_error_text(e) for e in errors)] for line, cells, errors in rejected_rows(conn, iid))


def _error_text(error: Mapping[str, Any]) -> str:
    field = error.get("label") or error.get("field")
    return f"{field}: {error.get('message')}" if field else str(error.get("message"))


# -- the uploaded file ----------------------------------------------------------------------------------
#: the largest file an import takes (``IMPORT_MAX_BYTES``); a 1,000,000-row CSV of ten fields is ~100 MB
MAX_BYTES = 512 * 1024 * 1024


def save_upload(jimu, conn, principal, stream, name: str | None) -> dict[str, Any]:
    """Keep an uploaded spreadsheet in the file store (unclaimed, owned by its uploader); its type
    is checked from the name first, so a wrong file is refused before it is stored."""
    from ..files import safe_name
    name = safe_name(name)
    file_kind(name)
    limit = int(jimu.config.get("IMPORT_MAX_BYTES") or MAX_BYTES)
    return jimu.services.files.save(stream, name, None, conn=conn, user_id=principal.user_id, now=jimu.now(),
                                    max_size=limit)


def uploaded_name(conn, principal, file_id: str) -> str:
    """The name of ``file_id`` if it is the caller's own unclaimed upload; else a 404."""
    f = db.files.c
    name = conn.execute(sa.select(f.name).where(f.id == str(file_id)[:40], f.uploaded_by == principal.user_id,
                                                f.record_id.is_(None))).scalar()
    if name is None or principal.user_id is None:
        raise NotFound("no such upload of yours; upload the file again", code="import.no_file")
    return name
