"""Read an app package safely and wrap a valid one in a ``Package``.

A package arrives from users (an upload, a file, a webhook), so reading it is
bounded before any parsing: the size is checked before the whole input is read
(files by ``stat``, streams chunk by chunk), and the bracket nesting depth is
measured before ``json.loads`` can recurse into it. Only then is it parsed.
Migrating, validating and compiling happen in ``apps.compile.compile_package``.
"""
from __future__ import annotations

import json
import os
from itertools import accumulate
from typing import Any, BinaryIO, Iterator, Union

from .exceptions import PackageError
from .migrations import DEFINITION_KINDS

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

DEFAULT_MAX_BYTES = 20 * 2**20
DEFAULT_MAX_DEPTH = 64
_CHUNK = 2**20
_OPENERS = b"[{"
_CLOSERS = b"]}"
#: +1 for an opening bracket, -1 for a closing one (indexed by byte value)
_DEPTH_STEP = tuple(1 if b in _OPENERS else -1 if b in _CLOSERS else 0 for b in range(256))
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPENERS + _CLOSERS)


class Package:
    """A current-format, valid app package (made by ``apps.compile.compile_package``).

    ``forms``, ``flows`` ... map definition key → definition in document order.
    """

    def __init__(self, data: dict):
        self.data = data
        for kind in DEFINITION_KINDS:
            setattr(self, kind, {item["key"]: item for item in data.get(kind) or []})

    forms: dict[str, dict]
    flows: dict[str, dict]
    rules: dict[str, dict]
    reports: dict[str, dict]
    dashboards: dict[str, dict]
    roles: dict[str, dict]
    groups: dict[str, dict]
    templates: dict[str, dict]
    calendars: dict[str, dict]

    @property
    def app(self) -> dict:
        return self.data["app"]

    @property
    def key(self) -> str:
        return self.app["key"]

    @property
    def version(self) -> str:
        """The application's own version (semver string), not the format version."""
        return self.app["version"]

    @property
    def format_version(self) -> int:
        return self.data["version"]

    def __repr__(self) -> str:
        return f"Package({self.key!r}, {self.version!r})"


def _too_large(max_bytes: int, size: int | None = None) -> PackageError:
    seen = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
    return PackageError.single("package.too_large",
                               f"the package is {seen}; the limit is {max_bytes} bytes — remove sample data "
                               "or split the application, or raise the limit", status=413,
                               size=size, limit=max_bytes)


def _chunks(stream: Any) -> Iterator[bytes]:
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def _read_stream(stream: Any, max_bytes: int) -> bytes:
    parts, total = [], 0
    for chunk in _chunks(stream):
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        parts.append(chunk)
    return b"".join(parts)


def read_bounded(source: Source, max_bytes: int) -> bytes:
    """The bytes of ``source``, never reading more than ``max_bytes`` + one chunk."""
    if isinstance(source, str):
        if len(source) > max_bytes:  # every character is at least one byte
            raise _too_large(max_bytes, len(source))
        source = source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > max_bytes:
            raise _too_large(max_bytes, len(source))
        return bytes(source)
    if isinstance(source, os.PathLike):
        try:
            size = os.stat(source).st_size
            if size > max_bytes:
                raise _too_large(max_bytes, size)
            with open(source, "rb") as stream:
                return _read_stream(stream, max_bytes)
        except OSError as exc:
            raise PackageError.single("package.unreadable", f"cannot read {os.fspath(source)!r}: "
                                      f"{exc.strerror or exc}; check the path and its permissions",
                                      path=os.fspath(source)) from None
    if hasattr(source, "read"):
        return _read_stream(source, max_bytes)
    raise TypeError(f"a package source is bytes, str (JSON text), a path or a binary stream, "
                    f"not {type(source).__name__}")


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of JSON text, ignoring brackets inside strings.

    Runs at C speed: escaped backslashes and quotes are removed, the text is split on
    the remaining quotes (odd parts are string contents), everything but brackets is
    deleted, and the running sum of +1/-1 steps gives the depth. On text that is not
    valid JSON the figure is only meaningful up to the first error, which is all
    ``json.loads`` ever reaches.
    """
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def check_depth(raw: bytes, max_depth: int) -> None:
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise PackageError.single("package.too_deep",
                                  f"the package nests {depth} levels deep; the limit is {max_depth} — "
                                  "flatten the nested conditions or layout", depth=depth, limit=max_depth)


def parse_json(raw: bytes) -> Any:
    """JSON text (UTF-8, with or without a byte-order mark) → Python, with coded errors.

    A property repeated within one object is an error rather than last-one-wins.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageError.single("package.encoding", f"the package is not UTF-8 (byte {exc.start}); "
                                  "save it as UTF-8", offset=exc.start) from None
    duplicates: list[str] = []

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))
        return obj

    try:
        data = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise PackageError.single("package.json", f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                                  f"{exc.msg}; fix the syntax (a path must be passed as pathlib.Path)",
                                  line=exc.lineno, column=exc.colno, offset=exc.pos) from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise PackageError.single("package.json", f"invalid JSON value: {exc}; shorten the value") from None
    if duplicates:  # JSON would silently keep the last one; a package must not lose definitions that way
        raise PackageError([{"code": "package.duplicate_json_key", "key": key,
                             "message": f"property {key!r} appears twice in one object; keep one of them"}
                            for key in dict.fromkeys(duplicates)], code="package.duplicate_json_key")
    return data
