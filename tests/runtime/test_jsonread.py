"""``runtime.jsonread.read_json`` reads JSON as ``json.loads`` does — the same value, or the same error —
for the database's JSON columns and for request bodies, whichever reader does the work."""
from __future__ import annotations

import json
import math
import random

import pytest

from runtime.jsonread import read_json

EDGES = ['{"a": 1, "b": [true, false, null], "c": "中文\\n\\u00e9"}', "-0", "1E2", "1.0", "2.5e-324", "1e400",
         "-1e400", "[1.7976931348623157e308]", "9223372036854775807", "9223372036854775808",
         "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890",
         '"12345678901234567890"', "0.1234567890123456789", '"\\ud800"', '{"a": 1, "a": 2}', "NaN",
         "[Infinity, -Infinity]", "  [1] \n", "[1] x", "", "[1,]", '{"a" 1}', '"raw\ncontrol"', "[" * 2000 + "]" * 2000,
         "[" * 500 + "]" * 500, "\ufeff[1]", "tru", "01", '"\\x"']


def _outcome(read, text):
    try:
        value = read(text)
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError as exc:   # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return ("error", type(exc).__name__, str(exc))
    return ("value", repr(value), type(value).__name__)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_every_text_reads_as_json_loads_reads_it(as_bytes):
    rng = random.Random(7)
    texts = list(EDGES)
    pieces = ['1', '-2', '3.5', '"x"', 'true', 'null', '"长"', '1e5', '[]', '{}', '12345678901234567', '0.5e-3']
    for _ in range(500):
        texts.append("[" + ",".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) + "]")
        texts.append("{" + ",".join(f'"k{rng.randint(0, 3)}":{rng.choice(pieces)}' for _ in range(rng.randint(0, 4)))
                     + "}")
    for text in texts:
        given = text.encode("utf-8", "surrogatepass") if as_bytes else text
        assert _outcome(read_json, given) == _outcome(json.loads, given), text[:60]
    assert _outcome(read_json, b"\xff[1]") == _outcome(json.loads, b"\xff[1]")


def test_a_float_beyond_range_and_a_huge_integer_keep_their_standard_reading():
    assert math.isinf(read_json("1e400")) and read_json("[123456789012345678901234567890]") == [
        123456789012345678901234567890]
