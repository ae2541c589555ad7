"""The one operator registry: Python tests and SQL clauses mean the same, on one value corpus."""
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from engines.errors import JimuError
from engines.operators import OPERATORS

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
TEXTS = [None, "", "Pump A", "pump b", "Big valve", "valve"]
MONEY = [None, Decimal("50000.00"), Decimal("50000.01"), Decimal("120.5")]
DATES = [None, dt.date(2026, 10, 30), dt.date(2026, 11, 2), dt.date(2026, 11, 20), dt.date(2026, 9, 1)]
CASES = [("text", TEXTS, op, v) for op, v in [
    ("eq", "valve"), ("ne", "valve"), ("in", ["valve", ""]), ("not_in", ["valve"]), ("contains", "valve"),
    ("not_contains", "valve"), ("contains_any", ["Pump", "b"]), ("contains_all", ["valve", "Big"]),
    ("contains_all", []), ("startswith", "Pump"), ("is_empty", None),
    ("is_not_empty", None)]] + [("money", MONEY, op, v) for op, v in [
        ("gt", 50000), ("gte", 50000), ("lt", 50000.01), ("lte", 120.5), ("between", [100, 50000]),
        ("eq", 50000), ("ne", 120.5)]] + [("date", DATES, op, v) for op, v in [
            ("within_days", 10), ("gte", dt.date(2026, 10, 30)), ("between", [dt.date(2026, 10, 1), dt.date(2026, 11, 2)])]]


@pytest.mark.parametrize("kind,values,op,value", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_python_and_sql_select_the_same_values(kind, values, op, value):
    column_type = {"text": sa.Text, "money": sa.Numeric(18, 2), "date": sa.Date}[kind]
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", column_type))
    engine = sa.create_engine("sqlite://")
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "v": v} for i, v in enumerate(values)])
        operator = OPERATORS.get(op)
        in_sql = set(conn.execute(sa.select(table.c.id).where(operator.clause(table.c.v, value, NOW))).scalars())
    in_python = {i for i, v in enumerate(values) if operator.test(v, value, NOW)}
    assert in_python == in_sql


def test_money_compares_as_a_number_and_mismatched_kinds_are_typed_errors():
    gt = OPERATORS.get("gt")
    assert gt.test(Decimal("60000.50"), 50000) is True
    assert gt.test(Decimal("50000.00"), 50000) is False
    with pytest.raises(JimuError) as exc:
        gt.test("Pump", 5)
    assert exc.value.code == "expr.type"


def test_within_days_has_an_upper_bound_and_needs_the_clock():
    within = OPERATORS.get("within_days")
    assert within.test(dt.date(2026, 10, 30), 10, NOW) and not within.test(dt.date(2026, 11, 20), 10, NOW)
    assert not within.test(NOW + dt.timedelta(minutes=1), 10, NOW)
    with pytest.raises(JimuError) as exc:
        within.test(dt.date(2026, 10, 30), 10, None)
    assert exc.value.code == "operator.needs_now"


def test_case_sensitive_like_the_expression_functions():
    from engines.expr import compile_expr
    for text, needle in [("Big Valve", "valve"), ("Big valve", "valve"), ("PUMP", "Pump")]:
        assert OPERATORS.get("contains").test(text, needle) == compile_expr("contains(a, b)").evaluate(
            {"a": text, "b": needle})
        assert OPERATORS.get("startswith").test(text, needle) == compile_expr("startswith(a, b)").evaluate(
            {"a": text, "b": needle})


def test_the_report_schema_lists_exactly_the_registered_operators():
    schema = json.loads((ROOT / "schemas" / "report.json").read_text(encoding="utf-8"))
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "op" in node.get("properties", {}) and "enum" in node["properties"]["op"]:
                found.append(node["properties"]["op"]["enum"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(schema)
    assert found and all(sorted(e) == OPERATORS.types() for e in found)
