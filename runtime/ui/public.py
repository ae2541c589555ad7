"""Pages for people without an account, declared by a form's ``public`` block.

* ``/p/<form>``: anonymous submission of the listed fields only (anything else
  sent is dropped), rate-limited per address (refused attempts count), then a
  private status link; the uploads of a refused submission are deleted;
* ``/p/<form>/s/<token>``: the read-only status page of one record;
* ``/p/<form>/portal``: a searchable list of the records matching the
  portal's filter (e.g. published articles), and each one's page; the portal
  reads as the anonymous role the block declares (``policy.public_reader``):
  rows by the same ``row_filter``, fields by the same hidden-field rules;
* ``/p/<form>/qr.svg``: a QR code of the submission page.

Writes go through ``Records`` (clean, rules, audit) as the anonymous
principal with permission checks replaced by the public block itself.
"""
from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, redirect, render_template, request, url_for

from engines.errors import JimuError

from ..audit import record_event
from ..auth import policy, signed_form_token
from ..auth.principal import ANONYMOUS
from ..context import current_jimu
from ..public import count_hit, read_token, record_token
from ..records import RecordInvalid, Records
from ..security import allow_framing
from ..store import search
from ..store.records import RecordStore
from . import bp

PER_PAGE = 20


class RefRequired(JimuError):
    code = "public.ref_required"


def _block(ft, page: str) -> dict:
    """The ``public`` block's ``page`` settings (404 if the form has no such page); the page may then be
    framed by the origins the form declares in ``public.embed_origins``."""
    public = ft.spec.definition.get("public") or {}
    block = public.get(page)
    if not block:
        abort(404)
    allow_framing(public.get("embed_origins") or ())
    return block


def _form(conn, form: str):
    return current_jimu().catalog.form(form)


def _ref(ft, block: dict, token: str | None) -> tuple[str | None, int | None]:
    field = block.get("ref_field")
    if not field or not token:
        return None, None
    target = ft.spec.field(field).widget.config.get("form")
    _, rid = read_token(token, target)
    return field, rid


@bp.route("/p/<form>", methods=["GET", "POST"])
@signed_form_token
def public_submit(form):
    jimu = current_jimu()
    with jimu.read() as conn:
        ft = _form(conn, form)
    block = _block(ft, "submit")
    fields = [ft.spec.field(k) for k in block["fields"]]
    token = request.values.get("ref")
    ref_field, ref_id = _ref(ft, block, token)
    if block.get("ref_field") and ref_id is None:
        raise RefRequired("open this page from the link you received")
    values: dict[str, Any] = {}
    errors: list[dict] = []
    if request.method == "POST":
        with jimu.begin() as conn:  # every attempt counts, refused ones too, so retries cannot probe for free
            count_hit(jimu, conn, form, int(block.get("rate_limit", 10)), form_key=form)
        if request.form.get("website"):          # honeypot: people do not see it, bots fill it
            abort(400)
        for f in fields:
            raw = f.widget.value_from_formdata(request.form, request.files, f.key)
            if raw is not None:
                values[f.key] = raw
        if ref_field:
            values[ref_field] = ref_id
        try:
            with jimu.begin() as conn:  # a refused write rolls back, and its uploads are deleted with it
                if ref_field and block.get("once_per_ref"):
                    col = ft.columns[ref_field]
                    if conn.execute(sa.select(ft.table.c.id).where(col == ref_id).limit(1)).first():
                        return render_template("public/done.html", ft=ft, block=block, status_url=None,
                                               already=True), 409
                errs = jimu.services.files.save_uploads(ft.spec, values, conn=conn, now=jimu.now())
                if errs:
                    raise RecordInvalid(errs)
                record = Records(jimu, conn, ANONYMOUS, source="public", check_permissions=False).create(form, values)
        except RecordInvalid as exc:
            errors = exc.errors
        else:
            status_url = (url_for("ui.public_status", form=form, token=record_token(form, record["id"]), _external=True)
                          if (ft.spec.definition.get("public") or {}).get("status") else None)
            return render_template("public/done.html", ft=ft, block=block, record=record, status_url=status_url,
                                   already=False), 201
    else:   # a blank form shows the public fields' defaults, as the signed-in form does
        preview = ft.spec.clean({}, context=jimu.eval_context(now=jimu.now(), user=ANONYMOUS.as_context()))
        values = {f.key: preview.values[f.key] for f in fields if preview.values.get(f.key) is not None}
    by_field: dict[str, list] = {}
    for e in errors:
        by_field.setdefault(e.get("field") or "", []).append(e)
    return render_template("public/submit.html", ft=ft, block=block, fields=fields, values=values, errors=errors,
                           errors_by_field=by_field, ref=token, client_spec=_client_spec(ft, block),
                           context={"now": jimu.now().isoformat(), "user": ANONYMOUS.as_context(),
                                    "tz": jimu.config.get("TIMEZONE", "UTC")}), (422 if errors else 200)


def _client_spec(ft, block: dict) -> dict:
    """The live-form spec (visible_if, required_if) of the public fields only: nothing about the others."""
    from ..i18n import current_language
    spec = ft.spec.client_spec(current_language())
    public = set(block["fields"])
    return {"key": spec["key"], "fields": [f for f in spec["fields"] if f["key"] in public],
            "formula_order": [k for k in spec["formula_order"] if k in public], "layout": []}


@bp.get("/p/<form>/qr.svg")
def public_qr(form):
    import segno
    with current_jimu().read() as conn:
        ft = _form(conn, form)
    _block(ft, "submit")
    out = io.BytesIO()
    segno.make(url_for("ui.public_submit", form=form, _external=True), error="m").save(
        out, kind="svg", scale=6, border=2, title="QR")
    return Response(out.getvalue(), mimetype="image/svg+xml")


def _public_tasks(jimu, conn, form: str, rid: int) -> list[dict]:
    return jimu.services.flows.runtime(conn).public_tasks(form, rid)


@bp.get("/p/<form>/s/<token>")
@signed_form_token
def public_status(form, token):
    _, rid = read_token(token, form)
    jimu = current_jimu()
    with jimu.read() as conn:
        ft = _form(conn, form)
        block = _block(ft, "status")
        record = Records(jimu, conn, ANONYMOUS, source="public", check_permissions=False).get(form, rid)
        tasks = _public_tasks(jimu, conn, form, rid)
    return render_template("public/status.html", ft=ft, fields=[ft.spec.field(k) for k in block["fields"]],
                           record=record, tasks=tasks, token=token, answered=request.args.get("answered"))


@bp.post("/p/<form>/s/<token>/tasks/<int:task_id>")
@signed_form_token
def public_status_answer(form, token, task_id):
    """A person without an account answers a step of the record's flow from its private status link
    (one of the step's ``public_outcomes``); written as the anonymous principal, audited."""
    _, rid = read_token(token, form)
    jimu = current_jimu()
    outcome = request.form.get("outcome", "")
    with jimu.begin() as conn:
        ft = _form(conn, form)
        _block(ft, "status")
        jimu.services.flows.runtime(conn).complete_public(form, rid, task_id, outcome,
                                                comment=(request.form.get("comment") or "").strip()[:2000] or None)
        record_event(conn, "public.answered", at=jimu.now(), form_key=form, record_id=rid,
                     data={"task": task_id, "outcome": outcome})
    return redirect(url_for("ui.public_status", form=form, token=token, answered=outcome))


def _portal(conn, ft, block: dict, jimu):
    """The portal's reader (``policy.public_reader``), its row condition and the fields it may see."""
    reader = policy.public_reader(conn, ft, block, jimu.now())
    hidden = policy.hidden_fields(reader, ft.key)
    scope = policy.row_filter(reader, ft)
    return reader, ([] if scope is None else [scope]), [ft.spec.field(k) for k in block["fields"] if k not in hidden]


@bp.get("/p/<form>/portal")
def public_portal(form):
    jimu = current_jimu()
    q = request.args.get("q", "").strip()[:200]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with jimu.read() as conn:
        ft = _form(conn, form)
        block = _block(ft, "portal")
        reader, clauses, fields = _portal(conn, ft, block, jimu)
        where = sa.and_(*clauses) if clauses else None
        # the one search; fields the block does not search, or the portal's reader may not see, do not match
        searched = set(block.get("search") or block["fields"]) - set(policy.hidden_fields(reader, ft.key))
        rows, total, capped = search.search(
            conn, ft, q, where=where, order_by=[] if q else [ft.table.c.id.desc()],
            hidden={f.key for f in search.fields(ft) if f.key not in searched}, limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE)
    rows = [policy.redact(reader, ft.key, r) for r in rows]
    return render_template("public/portal.html", ft=ft, block=block, rows=rows, total=total, capped=capped, q=q,
                           page=page, pages=max(1, -(-total // PER_PAGE)), fields=fields)


@bp.get("/p/<form>/portal/<int:rid>")
def public_portal_item(form, rid):
    jimu = current_jimu()
    with jimu.read() as conn:
        ft = _form(conn, form)
        block = _block(ft, "portal")
        reader, clauses, fields = _portal(conn, ft, block, jimu)
        rows, _ = RecordStore(conn).select(ft, where=sa.and_(ft.table.c.id == rid, *clauses), limit=1)
    if not rows:
        abort(404)
    return render_template("public/status.html", ft=ft, fields=fields, record=policy.redact(reader, ft.key, rows[0]),
                           portal=True)

