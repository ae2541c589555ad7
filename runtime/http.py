"""HTTP conventions of the whole app, set once in the factory before any blueprint is registered.

- ``<int:…>`` in a route matches only 1 … 2^63-1: every id column is a 64-bit signed integer, so a
  bigger number names nothing (404) instead of overflowing the database driver (500).
- JSON bodies nested deeper than the parser can follow are malformed input (400), not a crash:
  ``json.loads`` raises ``RecursionError`` there, which Werkzeug does not treat as bad JSON.
- JSON responses are written by orjson where it writes what Flask's encoder writes (``JSONProvider.response``).
"""
from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from .jsonread import read_json

MAX_ID = 2**63 - 1


def _at_most(limit: int) -> str:
    """A regex of the whole numbers 1 … ``limit`` without leading zeros: shorter numbers, then those of
    ``limit``'s length that share a prefix with it and have a smaller next digit."""
    text = str(limit)
    parts = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(text) - i - 1
            parts.append(f"{text[:i]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``int`` with the 64-bit bounds of a database id. The bound is in the regex, not only in
    ``to_python``: Werkzeug checks a rule's methods before its converters, so a number the converter
    refuses would make a PATCH to a GET-only neighbour a 405 instead of a 404."""

    regex = _at_most(MAX_ID)

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """A request's JSON body, read as ``json.loads`` reads it (``read_json``, faster)."""
        try:
            return read_json(s) if not kwargs else json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    def response(self, *args: Any, **kwargs: Any):
        """``jsonify``'s response, its body written by orjson (a created record's answer cost Flask's
        encoder about a twentieth of the create's CPU): keys sorted, compact, UTF-8, a newline after,
        as Flask writes it here. What orjson does not write as Flask does goes to Flask's own encoder:
        times and dates, dataclasses and subclasses of the JSON types (a ``Markup``, an ``IntEnum``, a
        ``dict`` subclass) are handed to Flask's ``default``, and whatever that refuses, keys that are
        not plain text, integers beyond 64 bits, text that is not valid Unicode and nesting deeper than
        orjson follows, to Flask itself. The one difference: a float NaN or infinity, which Flask wrote
        as a token no JSON reader accepts, is null. Pretty output (debug, ``compact = False``) and
        ASCII-only output are Flask's."""
        pretty = (self.compact is None and self._app.debug) or self.compact is False
        if not pretty and self.sort_keys and not self.ensure_ascii:
            try:
                body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=self.default,
                                    option=_RESPONSE_OPTIONS)
            except orjson.JSONEncodeError:
                pass
            else:
                return self._app.response_class(body, mimetype=self.mimetype)
        return super().response(*args, **kwargs)


_RESPONSE_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME
                     | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)


def init_http(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
