"""``audit.changes``: what a record update's audit event lists as changed is a change of the value's
JSON, also for the values it compares without writing them as JSON (text, integers, booleans, null)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from runtime.audit import changes


def test_equal_plain_values_are_unchanged_and_any_other_difference_is_a_change():
    before = {"a": "x", "n": 1, "b": True, "z": None, "f": 0.0, "i": 1, "d": {"k": 1, "j": 2}, "l": [1]}
    after = {"a": "x", "n": 1, "b": True, "z": None, "f": -0.0, "i": 1.0, "d": {"j": 2, "k": 1}, "l": [1.0]}
    assert changes(before, after) == {"f": [0.0, -0.0], "i": [1, 1.0], "l": [[1], [1.0]]}


def test_a_type_change_between_equal_values_is_a_change():
    assert changes({"b": 1, "c": "1"}, {"b": True, "c": 1}) == {"b": [1, True], "c": ["1", 1]}
    assert changes({"s": "x"}, {"s": "y", "new": None}) == {"s": ["x", "y"]}


def test_the_same_instant_in_another_offset_is_a_change_as_its_text_is():
    at = datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
    there = at.astimezone(timezone(timedelta(hours=8)))
    assert changes({"t": at}, {"t": at}) == {}
    assert changes({"t": at}, {"t": there}) == {"t": [at.isoformat(), there.isoformat()]}


def test_a_value_set_or_emptied_is_a_change_whatever_its_json():
    """Null is no other value's JSON: a field going from empty to any value (an empty list, an empty text,
    0, false, an empty object, NaN) or back is a change, as writing both as JSON shows."""
    values = [[], "", 0, False, {}, float("nan"), 1.5, {"k": None}, [None]]
    for v in values:
        assert list(changes({"f": None}, {"f": v})) == ["f"], v
        assert list(changes({"f": v}, {"f": None})) == ["f"], v
    assert changes({"f": None}, {"f": None}) == {} and changes({}, {"f": None}) == {}
