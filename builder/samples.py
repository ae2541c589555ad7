"""Sample records for previews before publishing: a draft report over a form that has no records
of this app yet (never published, or named like another app's form) is drawn on records made up
from the draft form's own fields, never on another app's data.

The draft's forms are compiled by the form engine and shaped as tables by the compile pipeline's
package source (``apps.compile.PackageSource``, the tables a report is checked against); the
tables are created in a private in-memory SQLite database, filled with ``SAMPLE_RECORDS`` records
per form (each field's widget ``random_value``; creation times over the last ``SAMPLE_DAYS``
days, so daily trends mean something), and the report engine's one query runs there. The
generator is seeded by the form's key: the same draft previews the same figures.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import sqlalchemy as sa

from apps.compile import PackageSource
from engines.errors import JimuError

SAMPLE_RECORDS = 40
SAMPLE_DAYS = 14


class SampleError(JimuError):
    code = "builder.sample_form_invalid"
    status = 422


def draft_forms(package: Mapping[str, Any]) -> dict[str, Any]:
    """The draft's forms that compile, by key (a form with problems is left out: its designer lists them)."""
    from engines.form import compile_form
    definitions = {f["key"]: f for f in package.get("forms") or [] if isinstance(f, dict) and isinstance(f.get("key"), str)}
    out = {}
    for key, definition in definitions.items():
        try:
            out[key] = compile_form(definition, definitions)
        except Exception:  # noqa: BLE001 — a form still being built; its own designer shows why
            continue
    return out


def compile_sample(package: Mapping[str, Any], definition: dict, *, tz: str) -> Any:
    """The draft report compiled against the draft's forms (its definition problems raise)."""
    return _compile(package, definition, tz)[0]


def _compile(package: Mapping[str, Any], definition: dict, tz: str) -> tuple[Any, PackageSource]:
    from engines.report import compile_chart
    forms = draft_forms(package)
    form_key = definition.get("form")
    if isinstance(form_key, str) and form_key not in forms and any(
            isinstance(f, dict) and f.get("key") == form_key for f in package.get("forms") or []):
        raise SampleError(f"form {form_key!r} has problems; fix them in the form designer to preview this report",
                          form=form_key)
    source = PackageSource(forms)
    return compile_chart(definition, source, tz=tz), source


def sample_rows(package: Mapping[str, Any], definition: dict, *, tz: str, now: datetime,
                shared_filters: list[dict] | None = None) -> tuple[Any, list[dict]]:
    """(the compiled chart, its rows) of a draft report over sample records of the draft's forms.
    Definition problems raise the report engine's ``ValidationErrors``, as a real preview does."""
    from engines.report.dialects import register_sqlite_functions
    chart, source = _compile(package, definition, tz)
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            register_sqlite_functions(conn.connection.dbapi_connection)
            source.metadata.create_all(conn)
            for key, table in source.tables().items():
                _fill(conn, table, random.Random(f"jimu-sample:{key}"), now)
            stmt = chart.query(now=now, shared_filters=shared_filters or None)
            return chart, chart.rows(conn.execute(stmt).all())
    finally:
        engine.dispose()


def _fill(conn: sa.Connection, form: Any, rng: random.Random, now: datetime) -> None:
    naive = now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now
    rows = []
    for n in range(1, SAMPLE_RECORDS + 1):
        created = naive - timedelta(days=rng.uniform(0, SAMPLE_DAYS))
        row: dict[str, Any] = {"id": n, "created_at": created, "updated_at": created, "created_by": None,
                               "updated_by": None, "row_version": 1}
        for field_key, column in form.columns.items():
            row[column.name] = _value(form.spec.field(field_key), rng)
        rows.append(row)
    conn.execute(form.table.insert(), rows)


def _value(field: Any, rng: random.Random) -> Any:
    kind = field.widget.value_kind
    if kind in ("link", "user", "group", "file"):
        return None  # nothing to point at in a sample
    try:
        return field.widget.random_value(rng)
    except Exception:  # noqa: BLE001 — a widget without sample values stays empty
        return None
