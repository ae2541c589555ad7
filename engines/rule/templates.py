"""Message templates: Jinja2's ``ImmutableSandboxedEnvironment`` plus ``{字段}`` placeholders.

Business users write ``您好 {客户姓名}, 订单 {订单编号} 已受理``. Each ``{key}``
(single braces, no spaces) is rewritten, at compile time, into a reference to a
*variable slot* — ``{{ jimu_ph_0 }}`` — and the field key itself never becomes
template code. At render time the slot holds the record's value, which Jinja
prints as data: a submitted ``{{7*7}}`` arrives literally, because values are
never parsed again. Authors may also use ordinary sandboxed Jinja
(``{{ record["客户姓名"] }}``, ``{% if %}``); the sandbox denies ``_`` attributes
and mutation, and output length is capped.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Callable, Mapping

from jinja2 import TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .exceptions import TemplateError

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 100_000
#: ``{key}`` — not part of ``{{``/``}}``/``{%``; keys are field keys (any letters, digits, _ . -)
_PLACEHOLDER = re.compile(r"(?<![{\\])\{([^\s{}%#\"'<>]{1,100})\}(?!\})")
_JINJA_BLOCK = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.S)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join("" if v is None else str(v) for v in value)
    return value


class _Silent(Undefined):
    """A missing name renders as empty text, never raises at send time."""

    __slots__ = ()


_ENV = ImmutableSandboxedEnvironment(autoescape=False, undefined=_Silent, finalize=_finalize,
                                     keep_trailing_newline=True)
_ENV_HTML = ImmutableSandboxedEnvironment(autoescape=True, undefined=_Silent, finalize=_finalize)


class Template:
    """A compiled message template; ``placeholders`` are the ``{key}`` field keys it uses."""

    __slots__ = ("source", "placeholders", "_tpl")

    def __init__(self, source: str, *, html: bool = False):
        if not isinstance(source, str):
            raise TemplateError("a template is text", code="template.not_text")
        if len(source) > MAX_TEMPLATE:
            raise TemplateError(f"a template is at most {MAX_TEMPLATE} characters", code="template.too_long")
        self.source = source
        keys: list[str] = []

        def slot(m: re.Match) -> str:
            key = m.group(1)
            if key not in keys:
                keys.append(key)
            return "{{ jimu_ph_%d }}" % keys.index(key)

        # placeholders are only rewritten outside Jinja blocks, so {{ x }} and {% %} keep their meaning
        parts = _JINJA_BLOCK.split(source)
        text = "".join(p if i % 2 else _PLACEHOLDER.sub(slot, p) for i, p in enumerate(parts))
        self.placeholders = tuple(keys)
        try:
            self._tpl = (_ENV_HTML if html else _ENV).from_string(text)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}",
                                code="template.syntax", line=exc.lineno) from None

    def render(self, record: Mapping[str, Any], *, names: Callable[[str, Any], Any] | None = None,
               **extra: Any) -> str:
        """``names(key, value)`` may replace a placeholder's value by what people read (the runtime
        turns ids of users, groups and linked records into their names); ``record[...]`` stays raw."""
        values = {f"jimu_ph_{i}": _lookup(record, k) for i, k in enumerate(self.placeholders)}
        if names is not None:
            values = {slot: names(k, v) for (slot, v), k in zip(values.items(), self.placeholders)}
        try:
            out = self._tpl.render(record=dict(record), **extra, **values)
        except SecurityError as exc:
            raise TemplateError(f"the template tried something unsafe: {exc}", code="template.unsafe") from None
        except Exception as exc:  # a user template must never crash the sender
            raise TemplateError(f"the template failed: {type(exc).__name__}: {exc}",
                                code="template.render_failed") from None
        if len(out) > MAX_OUTPUT:
            out = out[:MAX_OUTPUT]
        return out


def _lookup(record: Mapping[str, Any], key: str) -> Any:
    """``{a.b}`` reads key ``b`` of value ``a`` (a linked record or a row) when ``a.b`` itself is no field."""
    if key in record:
        return record[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(record.get(head), Mapping):
        return _lookup(record[head], rest)
    return None


@lru_cache(maxsize=2048)
def compile_template(source: str, html: bool = False) -> Template:
    return Template(source, html=html)


def render(source: str | None, record: Mapping[str, Any], *, names: Callable[[str, Any], Any] | None = None,
           **extra: Any) -> str:
    if not source:
        return ""
    return compile_template(source).render(record, names=names, **extra)
