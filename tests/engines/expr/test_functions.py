"""Library functions that depend on the evaluation context: the business calendar and the user."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engines.calendar import BusinessCalendar
from engines.expr import EvalContext, ExprError, compile_expr

OFFICE = BusinessCalendar.from_definition({
    "key": "office", "timezone": "Asia/Shanghai",
    "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-10-01", "2026-10-02", "2026-10-05"],
    "workdays": ["2026-10-10"],   # a Saturday made a working day
})


def run(source, variables=None, **context):
    return compile_expr(source).evaluate(variables or {}, EvalContext(**context))


def test_workdays_between_counts_the_same_way_with_and_without_a_calendar():
    # Friday → Monday: the days after Friday up to and including Monday
    assert run('workdays_between("2026-11-20", "2026-11-23")') == 1
    assert run('workdays_between("2026-11-20", "2026-11-23")', calendar=OFFICE) == 1
    assert run('workdays_between("2026-11-20", "2026-11-21")', calendar=OFFICE) == 0
    # the National Day week: 1, 2 and 5 October are holidays, Saturday 10 October is worked
    assert run('workdays_between("2026-09-30", "2026-10-10")') == 7
    assert run('workdays_between("2026-09-30", "2026-10-10")', calendar=OFFICE) == 5
    assert run('workdays_between("2026-10-10", "2026-09-30")', calendar=OFFICE) == -5


def test_date_add_workdays_skips_the_calendars_holidays():
    assert run('date_add("2026-09-30", 1, "workdays")') == date(2026, 10, 1)
    assert run('date_add("2026-09-30", 1, "workdays")', calendar=OFFICE) == date(2026, 10, 6)
    assert run('date_add("2026-10-09", 1, "workdays")', calendar=OFFICE) == date(2026, 10, 10)


@pytest.mark.parametrize("user,source,expected", [
    ({"id": 7, "roles": ["agent"]}, "current_user()", 7),
    ({"id": 7, "roles": ["agent"]}, 'has_role("agent")', True),
    ("li.lei", "current_user()", "li.lei"),          # the flow engine passes the actor's id
    (12, 'has_role("agent")', False),
    (None, "current_user()", None),
])
def test_the_user_may_be_a_principal_or_a_bare_id(user, source, expected):
    assert run(source, user=user) == expected


def test_a_user_of_another_kind_is_a_clean_error():
    with pytest.raises(ExprError) as info:
        run("current_user()", user=object())
    assert info.value.code == "expr.eval"


def test_now_and_today_read_the_injected_clock():
    now = datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc)
    assert run("now()", now=now) == now
    assert run("today()", now=now, tz="Asia/Shanghai") == date(2026, 11, 24)
    assert run("today()", now=now) == date(2026, 11, 23)
    assert run("hours_since(t)", {"t": datetime(2026, 11, 23, 15, 30, tzinfo=timezone.utc)}, now=now) == 2.0


def test_decimal_field_values_are_numbers():
    from decimal import Decimal
    variables = {"金额": Decimal("1234.50"), "订单": {"运费": Decimal("8.00")}, "明细": [Decimal("1.5")]}
    assert run("金额 > 1000 and 金额 * 2 == 2469", variables) is True
    assert run("订单.运费 + 订单['运费'] + 明细[0]", variables) == 17.5
    assert run("round(金额 / 3, 2)", variables) == 411.5
