"""``audit.jsonable`` takes lists before the slower type checks: the same values as the former order of checks."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from types import MappingProxyType

from runtime.audit import jsonable

_PLAIN = frozenset({str, int, float, bool, type(None)})


def _former(value):
    if type(value) in _PLAIN:
        return value
    if type(value) is dict:
        return {k: v if type(v) in _PLAIN else _former(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _former(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_former(v) for v in value]
    return value


class _List(list):
    pass


def test_jsonable_gives_what_the_former_order_of_checks_gave():
    at = datetime(2026, 12, 7, 1, 2, 3, tzinfo=timezone.utc)
    corpus = [None, 1, 1.5, "x", True, [], [1, "a", None], [at, date(2026, 1, 2), Decimal("1.50")],
              [[1, [at]], {"k": [Decimal("2")]}], (1, at), _List([at, 2]), MappingProxyType({"a": [at]}),
              {"after": {"标题": "t", "参与人": [3, 4], "附件": [{"id": 1, "name": "a.png"}], "提交时间": at,
                         "金额": Decimal("9.90"), "标签": ("a", "b")}, "source": "api"}, {1, 2}, b"raw"]
    for value in corpus:
        got, want = jsonable(value), _former(value)
        assert got == want and type(got) is type(want), value
