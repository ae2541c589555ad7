"""Break-out attempts with real payloads: each is a clean coded error or a bound value, on both databases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engines.errors import ValidationErrors
from engines.report import compile_chart

from .store import TableSource, run


@pytest.fixture
def store(sa_engine):
    source = TableSource()
    source.add("item", {"status": ("choice", None), "score": ("number", None), "created_at": ("datetime", None)})
    source.metadata.create_all(sa_engine)
    payloads = ["a", "b", "'{1}'", "@>", "x' OR '1'='1", 'O"Brien\'; DROP TABLE f_1; --']
    source.insert(sa_engine, "item", [{"status": p, "score": i} for i, p in enumerate(payloads, start=1)])
    return source


def definition(**over):
    return {"key": "k", "version": 1, "type": "table", "form": "item",
            "dimensions": [{"field": "status"}], "measures": [{"key": "n", "agg": "count"}], **over}


def codes(exc: ValidationErrors) -> list[tuple[str, str]]:
    return [(e["code"], e.get("pointer", "")) for e in exc.errors]


def test_filter_field_payload_is_an_unknown_field(store):
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(filters=[{"field": "beta and 1=1", "op": "eq", "value": 1}]), store)
    assert codes(err.value) == [("report.unknown_field", "/filters/0")]


def test_aggregate_payload_is_an_unknown_aggregate(store):
    bad = {"key": "n", "agg": "if(1=2,sleep(1),sleep(3)) and sum", "field": "score"}
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(measures=[bad]), store)
    assert ("report.unknown_aggregate", "/measures/0/agg") in codes(err.value)


@pytest.mark.parametrize("payload", ["'{1}'", "@>", "x' OR '1'='1", 'O"Brien\'; DROP TABLE f_1; --'])
def test_quotes_and_array_operators_are_bound_values(sa_engine, store, payload):
    c = compile_chart(definition(filters=[{"field": "status", "op": "eq", "value": payload}]), store)
    stmt = c.query(now=None)
    assert payload not in str(stmt.compile(sa_engine))
    assert run(sa_engine, c) == [{"status": payload, "n": 1}]
    contains = compile_chart(definition(filters=[{"field": "status", "op": "contains", "value": payload[:3]}]), store)
    assert payload in [r["status"] for r in run(sa_engine, contains)]
    with sa_engine.connect() as conn:  # the table is still there
        assert conn.execute(sa.select(sa.func.count()).select_from(store.forms["item"].table)).scalar() == 6


@pytest.mark.parametrize("value", ["'{1}'", "1; DROP TABLE f_1", "@>", [1], {"a": 1}, True])
def test_wrong_typed_values_are_bad_value(store, value):
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(filters=[{"field": "score", "op": "gt", "value": value}]), store)
    assert codes(err.value) == [("report.bad_value", "/filters/0")]


@pytest.mark.parametrize("expr, code", [
    ("status == 'a' or 1 == 1; select 1", "report.bad_expr"),
    ("__import__('os').system('id')", "report.unsupported_expr"),
    ("status.__class__ == 1", "report.unsupported_expr"),
    ("(lambda: 1)() == 1", "report.unsupported_expr"),
    ("sleep(3) == 0", "report.unsupported_expr"),
    ("[x for x in status] == 1", "report.unsupported_expr"),
    ("beta and 1 == 1", "report.unknown_field"),
    ("score > '{1}'", "report.bad_value"),
])
def test_filter_expr_break_outs_are_coded_errors(store, expr, code):
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(filter_expr=expr), store)
    assert codes(err.value) == [(code, "/filter_expr")]


def test_filter_expr_literals_are_bound(sa_engine, store):
    c = compile_chart(definition(filter_expr="status == \"x' OR '1'='1\" or score >= 6"), store)
    assert "OR '1'='1" not in str(c.query().compile(sa_engine))
    assert sorted(r["status"] for r in run(sa_engine, c)) == sorted(["x' OR '1'='1", 'O"Brien\'; DROP TABLE f_1; --'])


@pytest.mark.parametrize("over, code, pointer", [
    ({"type": "pie; DROP TABLE f_1"}, "chart.unknown_type", "/type"),
    ({"form": "item; DROP TABLE f_1"}, "report.unknown_form", "/form"),
    ({"sort": [{"by": "n", "dir": "desc; DROP TABLE f_1"}]}, "report.schema", "/sort/0/dir"),
    ({"limit": "1; DROP TABLE f_1"}, "report.schema", "/limit"),
    ({"joins": [{"field": "status", "as": "c; DROP"}]}, "report.schema", "/joins/0/as"),
    ({"dimensions": [{"field": "status", "bucket": "day') --"}]}, "report.unknown_bucket", "/dimensions/0/bucket"),
    ({"filters": [{"field": "status", "op": "= 1 OR 1=1 --", "value": 1}]}, "report.unknown_operator",
     "/filters/0/op"),
    ({"measures": [{"key": "n", "agg": "count", "raw_sql": "SELECT 1"}]}, "report.schema", "/measures/0"),
    ({"filters": [{"field": "status", "op": "eq", "value": "a", "sql": "1=1"}]}, "report.schema", "/filters/0"),
])
def test_definition_payloads_are_rejected(store, over, code, pointer):
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(**over), store)
    assert (code, pointer) in codes(err.value)


def test_all_errors_are_reported_at_once(store):
    with pytest.raises(ValidationErrors) as err:
        compile_chart(definition(
            filters=[{"field": "nope", "op": "eq", "value": 1}, {"field": "score", "op": "contains", "value": "1"}],
            dimensions=[{"field": "score", "bucket": "day"}],
            measures=[{"key": "n", "agg": "sum", "field": "status"}, {"key": "r", "ratio": ["n", "zz"]}],
            sort=[{"by": "ghost"}]), store)
    assert codes(err.value) == [
        ("report.unknown_field", "/filters/0"), ("report.bad_operator", "/filters/1"),
        ("report.bad_bucket", "/dimensions/0"), ("report.bad_aggregate_field", "/measures/0"),
        ("report.unknown_measure", "/measures/1"), ("report.unknown_sort", "/sort/0/by")]


def test_shared_filters_are_checked_like_definition_filters(store):
    c = compile_chart(definition(), store)
    with pytest.raises(ValidationErrors) as err:
        c.query(shared_filters=[{"field": "beta and 1=1", "op": "eq", "value": 1}])
    assert codes(err.value) == [("report.unknown_field", "/shared_filters/0")]


def test_runtime_where_clause_is_applied(sa_engine, store):
    c = compile_chart(definition(), store)
    table = store.forms["item"].table
    rows = run(sa_engine, c, where=table.c[store.forms["item"].physical("score")] <= 2)
    assert rows == [{"status": "a", "n": 1}, {"status": "b", "n": 1}]
