"""Message templates: Jinja2's ``ImmutableSandboxedEnvironment`` plus ``{字段}`` placeholders.

Business users write ``您好 {客户姓名}, 订单 {订单编号} 已受理``. Each ``{key}``
(single braces, no spaces) is rewritten, at compile time, into a reference to a
*variable slot* — ``{{ jimu_ph_0 }}`` — and the field key itself never becomes
template code. At render time the slot holds the record's value, which Jinja
prints as data: a submitted ``{{7*7}}`` arrives literally, because values are
never parsed again. Authors may also use ordinary sandboxed Jinja
(``{{ record["客户姓名"] }}``, ``{% if %}``); the sandbox denies ``_`` attributes
and mutation, and output length is capped.

A render is bounded: every loop iteration and every call spends a step of
``MAX_STEPS``, and the render stops after ``MAX_SECONDS`` of wall time (one
budget per render, or one for all renders inside ``render_budget()``);
repeating text or lists (``"x" * n``) and powers are capped. Messages (mail,
webhook, robot, in-app, HTTP calls) are not rendered in the write that fires
the rule at all: the action keeps the template source, and the outbox job
renders it with ``render_message`` (a nested loop of 10^9 steps used to run
for 43 s inside the write transaction, locking out every other writer). Exceeding a limit raises ``TemplateError`` with code
``template.too_long_running`` or ``template.too_large``.
"""
from __future__ import annotations

import contextvars
import operator
import re
import time
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Callable, Mapping

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .exceptions import TemplateError

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 100_000
#: loop iterations plus calls one render may take, and its wall-clock budget
MAX_STEPS = 200_000
MAX_SECONDS = 1.0
MAX_EXPONENT = 100
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


class _Budget:
    """Steps and the deadline of the render in progress (one per render, in a context variable)."""

    __slots__ = ("steps", "deadline")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise TemplateError(f"the template takes more than {MAX_STEPS} loop steps and calls; loop over "
                                "fewer items", code="template.too_long_running", limit=MAX_STEPS)
        if time.monotonic() > self.deadline:  # ~50 ns: a step may run a filter over a long list
            raise TemplateError(f"the template ran longer than {MAX_SECONDS} s; simplify its loops",
                                code="template.too_long_running", seconds=MAX_SECONDS)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("jimu_template_budget", default=None)


class render_budget:
    """One step and time budget shared by every render inside (the runtime opens one per record write,
    so the rule firings a write causes cannot together hold its transaction longer than one render may);
    inside an open budget this adds nothing. (A class, not a generator: a bulk write opens one per
    record.)"""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _BUDGET.set(_Budget()) if _BUDGET.get() is None else None

    def __exit__(self, *_exc) -> bool:
        if self._token is not None:
            _BUDGET.reset(self._token)
        return False


def _spend() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend()


def _stepped(iterable: Any):
    """What every ``{% for %}`` iterates: the items of ``iterable``, one step each."""
    for item in iterable:
        _spend()
        yield item


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus a step for every call and caps on ``*`` repetition and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        _spend()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            size, times = (_sized(left), right) if _sized(left) is not None else (_sized(right), left)
            if size is not None and isinstance(times, int) and size * times > MAX_OUTPUT:
                raise TemplateError(f"repeating makes more than {MAX_OUTPUT} characters or items",
                                    code="template.too_large", limit=MAX_OUTPUT)
            return operator.mul(left, right)
        if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise TemplateError(f"powers are limited to exponents up to {MAX_EXPONENT}", code="template.too_large",
                                limit=MAX_EXPONENT)
        return operator.pow(left, right)

    def compile_bounded(self, text: str):
        """Parse ``text`` and make each ``{% for %}`` iterate through ``_stepped`` before compiling."""
        tree = self.parse(text)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name("jimu_stepped", "load"), [loop.iter], [], None, None)
        return self.from_string(tree)


def _environment(**options: Any) -> _BoundedEnvironment:
    env = _BoundedEnvironment(undefined=_Silent, finalize=_finalize, **options)
    env.globals["jimu_stepped"] = _stepped
    return env


_ENV = _environment(autoescape=False, keep_trailing_newline=True)
_ENV_HTML = _environment(autoescape=True)


class Template:
    """A compiled message template; ``placeholders`` are the ``{key}`` field keys it uses."""

    __slots__ = ("source", "placeholders", "_tpl", "_plain")

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
        #: a text with placeholders and no Jinja (most message templates: ``{客户姓名}您好，…``), as its
        #: literal pieces and slot numbers, for ``render`` to join without running Jinja's generated code
        self._plain = _plain_pieces(source, keys) if not html and _PLAIN_TEXT.fullmatch(source) else None
        try:
            self._tpl = (_ENV_HTML if html else _ENV).compile_bounded(text)
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
        if self._plain is not None:   # what Jinja prints for it: each value finalized, as text
            slots = list(values.values())
            return "".join(p if type(p) is str else str(_finalize(slots[p])) for p in self._plain)[:MAX_OUTPUT]
        token = _BUDGET.set(_Budget()) if _BUDGET.get() is None else None
        parts, size = [], 0
        try:
            for part in self._tpl.generate(record=dict(record), **extra, **values):
                parts.append(part)
                size += len(part)
                if size > MAX_OUTPUT:  # stop producing, not only cut afterwards
                    break
        except TemplateError:
            raise
        except SecurityError as exc:
            raise TemplateError(f"the template tried something unsafe: {exc}", code="template.unsafe") from None
        except Exception as exc:  # a user template must never crash the sender
            raise TemplateError(f"the template failed: {type(exc).__name__}: {exc}",
                                code="template.render_failed") from None
        finally:
            if token is not None:
                _BUDGET.reset(token)
        return "".join(parts)[:MAX_OUTPUT]


#: a template Jinja prints as it is but for the placeholders: no Jinja block, comment or expression (nor an
#: unclosed one), no carriage return (Jinja's lexer makes each line end a newline)
_PLAIN_TEXT = re.compile(r"(?:(?!\{\{|\{%|\{#)[^\r])*", re.S)


def _plain_pieces(source: str, keys: list[str]) -> tuple[str | int, ...]:
    """``source``'s literal text and, for each placeholder, its slot's number in ``keys``, in order."""
    pieces: list[str | int] = []
    last = 0
    for m in _PLACEHOLDER.finditer(source):
        if m.start() > last:
            pieces.append(source[last:m.start()])
        pieces.append(keys.index(m.group(1)))
        last = m.end()
    if last < len(source):
        pieces.append(source[last:])
    return tuple(pieces)


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


def render_message(templates: Mapping[str, str | None], variables: Mapping[str, Any], *,
                   names: Callable[[str, Any], Any] | None = None, **extra: Any) -> dict[str, str]:
    """The parts of one message (``{"subject": source, "body": source, ...}``) rendered under one step
    and time budget: what the outbox does for each recipient's view of a record. A missing part is ``""``."""
    with render_budget():
        return {part: compile_template(source).render(variables, names=names, **extra) if source else ""
                for part, source in templates.items()}


def render(source: str | None, record: Mapping[str, Any], *, names: Callable[[str, Any], Any] | None = None,
           **extra: Any) -> str:
    if not source:
        return ""
    return compile_template(source).render(record, names=names, **extra)
