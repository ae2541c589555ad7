"""A tiny record store for the report tests: real tables with generated names behind ``Source``.

It mimics what the runtime's store does (one table per form, physical names
``f_<n>_c_<m>``, link columns holding the target row id, indexes on the fields)
so the engine is tested against the contract, not against the runtime.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa

from engines.report import ReportError, register_sqlite_functions

_TYPES = {"text": sa.String(200), "choice": sa.String(50), "number": sa.Integer(), "money": sa.Numeric(12, 2),
          "datetime": sa.DateTime(), "date": sa.Date(), "bool": sa.Boolean(), "link": sa.Integer(),
          "user": sa.Integer(), "duration": sa.Integer()}


class TableForm:
    def __init__(self, key: str, number: int, fields: dict[str, tuple[str, str | None]], metadata: sa.MetaData):
        self.key = key
        self._fields = {k: (f"f_{number}_c_{i}", kind, target) for i, (k, (kind, target)) in enumerate(fields.items())}
        columns = [sa.Column("id", sa.Integer, primary_key=True)]
        columns += [sa.Column(name, _TYPES[kind], index=True) for name, kind, _ in self._fields.values()]
        self.table = sa.Table(f"f_{number}", metadata, *columns)
        self.id_column = self.table.c.id

    def physical(self, field_key: str) -> str:
        return self._fields[field_key][0]

    def _spec(self, field_key: str):
        try:
            return self._fields[field_key]
        except (KeyError, TypeError):
            raise ReportError(f"form {self.key!r} has no field {field_key!r}", code="report.unknown_field",
                              field=str(field_key)) from None

    def column(self, field_key: str) -> sa.ColumnElement:
        return self.table.c[self._spec(field_key)[0]]

    def field_kind(self, field_key: str) -> str:
        return self._spec(field_key)[1]

    def link_target(self, field_key: str) -> str | None:
        return self._spec(field_key)[2]


class ProcessTable:
    """One table of per-record process data for all forms, like the runtime keeps (``scope`` picks a form)."""

    KINDS = {"first_response_minutes": "duration", "handling_minutes": "duration", "reopen_count": "number",
             "resolved_at": "datetime"}

    def __init__(self, metadata: sa.MetaData):
        self.table = sa.Table("proc", metadata, sa.Column("id", sa.Integer, primary_key=True),
                              sa.Column("form_key", sa.String(100)), sa.Column("record_id", sa.Integer, index=True),
                              sa.Column("c_frt", sa.Integer), sa.Column("c_handling", sa.Integer),
                              sa.Column("c_reopen", sa.Integer), sa.Column("c_resolved", sa.DateTime()))
        self._physical = dict(zip(self.KINDS, ["c_frt", "c_handling", "c_reopen", "c_resolved"]))
        self.record_column = self.table.c.record_id

    def for_form(self, form_key: str) -> "ProcessTable":
        view = object.__new__(ProcessTable)
        view.__dict__.update(self.__dict__)
        view.scope = self.table.c.form_key == form_key
        return view

    def column(self, field_key: str) -> sa.ColumnElement:
        if field_key not in self._physical:
            raise ReportError(f"no process field {field_key!r}", code="report.unknown_field", field=str(field_key))
        return self.table.c[self._physical[field_key]]

    def field_kind(self, field_key: str) -> str:
        self.column(field_key)
        return self.KINDS[field_key]

    def link_target(self, field_key: str) -> None:
        return None


class TableSource:
    def __init__(self):
        self.metadata = sa.MetaData()
        self.forms: dict[str, TableForm] = {}
        self.processes = ProcessTable(self.metadata)
        self.process_forms: set[str] = set()

    def process(self, form_key: str) -> ProcessTable | None:
        return self.processes.for_form(form_key) if form_key in self.process_forms else None

    def add(self, key: str, fields: dict[str, tuple[str, str | None]]) -> TableForm:
        form = TableForm(key, len(self.forms) + 1, fields, self.metadata)
        self.forms[key] = form
        return form

    def form(self, form_key: str) -> TableForm:
        try:
            return self.forms[form_key]
        except (KeyError, TypeError):
            raise ReportError(f"no form {form_key!r}", code="report.unknown_form", form=str(form_key)) from None

    def insert(self, engine: sa.Engine, form_key: str, records: list[dict]) -> None:
        form = self.forms[form_key]
        rows = [{("id" if k == "id" else form.physical(k)): v for k, v in r.items()} for r in records]
        with engine.begin() as conn:
            conn.execute(form.table.insert(), rows)


CHANNELS = ["官网", "微信", "电话", "邮件", "API"]
CHANNEL_WEIGHTS = [30, 25, 20, 15, 10]
STATUSES = ["新建", "处理中", "已解决", "已关闭"]
CATEGORIES = ["账单", "故障", "咨询", None]
URGENCIES = ["高", "中", "低"]
NOW = dt.datetime(2026, 11, 22, 15, 30)


@dataclass
class Dataset:
    source: TableSource
    records: list[dict]
    customers: list[dict]
    process: dict[int, dict]
    now: dt.datetime = NOW


def build(engine: sa.Engine, n: int = 10_000, seed: int = 20261122) -> Dataset:
    """``n`` records with known distributions (seeded), and 200 linked customers."""
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", register_sqlite_functions)
    rnd = random.Random(seed)
    source = TableSource()
    source.add("customer", {"name": ("text", None), "vip_level": ("number", None), "region": ("choice", None)})
    source.add("case", {
        "subject": ("text", None), "channel": ("choice", None), "status": ("choice", None),
        "category": ("choice", None), "urgency": ("choice", None), "created_at": ("datetime", None),
        "due_on": ("date", None), "first_response_minutes": ("number", None), "amount": ("money", None),
        "assignee": ("user", None), "customer": ("link", "customer"), "满意度": ("number", None)})
    source.metadata.create_all(engine)
    customers = [{"id": i, "name": f"客户{i}", "vip_level": rnd.randint(0, 3), "region": rnd.choice(["华东", "华南", "华北"])}
                 for i in range(1, 201)]
    records = []
    for i in range(1, n + 1):
        created = NOW - dt.timedelta(seconds=rnd.randint(0, 120 * 86400))
        records.append({
            "id": i,
            "subject": rnd.choice(["发票问题", "无法登录", "退款 100%", "=cmd|' /C calc'!A0", "O'Brien"]),
            "channel": rnd.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
            "status": rnd.choice(STATUSES),
            "category": rnd.choice(CATEGORIES),
            "urgency": rnd.choice(URGENCIES),
            "created_at": created,
            "due_on": (created + dt.timedelta(days=rnd.randint(0, 10))).date(),
            "first_response_minutes": rnd.choice([None, rnd.randint(1, 600)]),
            "amount": rnd.choice([None, rnd.randint(0, 100_000) / 100]),
            "assignee": rnd.choice([None, *range(1, 13)]),
            "customer": rnd.choice([None, *range(1, 201)]),
            "满意度": rnd.choice([None, 1, 2, 3, 4, 5]),
        })
    source.insert(engine, "customer", customers)
    source.insert(engine, "case", records)
    # process data for about 80 % of the records (the rest never reached a flow), plus a decoy row of
    # another form with the same record id that a correct join must not pick up
    source.process_forms.add("case")
    process = {}
    for r in records:
        if rnd.random() < 0.8:
            process[r["id"]] = {"first_response_minutes": rnd.randint(1, 480), "handling_minutes": rnd.randint(10, 5000),
                                "reopen_count": rnd.choices([0, 1, 2, 3], [70, 20, 7, 3])[0]}
    rows = [{"form_key": "case", "record_id": rid, "c_frt": p["first_response_minutes"],
             "c_handling": p["handling_minutes"], "c_reopen": p["reopen_count"]} for rid, p in process.items()]
    rows += [{"form_key": "customer", "record_id": rid, "c_frt": 99999, "c_handling": 99999, "c_reopen": 99}
             for rid in range(1, 201)]
    with engine.begin() as conn:
        conn.execute(source.processes.table.insert(), rows)
    return Dataset(source, records, customers, process)


def run(engine: sa.Engine, chart, **kwargs) -> list[dict]:
    """query -> execute -> rows, the way the runtime does it."""
    kwargs.setdefault("now", NOW)
    with engine.connect() as conn:
        return chart.rows(conn.execute(chart.query(**kwargs)).all())
