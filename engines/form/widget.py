"""The widget contract: one class per field type (STYLE.md point 3).

A widget class is registered in ``engines.form.WIDGETS`` through the
``jimu.widgets`` entry-point group. An *instance* is bound to one field's
configuration and holds no record state, so a compiled form shares it across
every request.

Storage kinds tell the record store what to create:
- ``column``: one column of ``sa_type()`` in the form's table;
- ``multi``: a child table of values (checkboxes, multi-link, several users);
- ``children``: a child table of rows with their own fields (sub-table);
- ``none``: nothing stored (layout-only widgets).
"""
from __future__ import annotations

import json
import random
from typing import Any, ClassVar, Mapping

import sqlalchemy as sa

from .exceptions import FieldError


class Widget:
    #: unique type name, e.g. ``"text"``
    type: ClassVar[str]
    #: palette entry for the builder
    label: ClassVar[dict] = {}
    icon: ClassVar[str] = "field"
    group: ClassVar[str] = "basic"
    #: JSON Schema of ``config`` (draft 2020-12)
    config_schema: ClassVar[dict] = {"type": "object"}
    #: where values live: column | multi | children | none
    storage: ClassVar[str] = "column"
    #: what reports and filters see: text, number, money, date, datetime, time, duration,
    #: choice, bool, link, user, group, file, json
    value_kind: ClassVar[str] = "text"
    #: name of the Jinja macro in runtime/templates/widgets.html that renders the input
    macro: ClassVar[str] = "text"
    #: the value is computed by the platform, never taken from a submission
    computed: ClassVar[bool] = False
    #: text values that sort meaningfully, so ``validation.min/max`` apply to them
    orderable_text: ClassVar[bool] = False
    #: the field must carry a ``formula`` expression (checked when the form compiles)
    requires_formula: ClassVar[bool] = False
    #: the value references uploaded files; the runtime saves uploads before ``clean``
    accepts_files: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.config = dict(config or {})

    # -- storage -------------------------------------------------------------
    def sa_type(self) -> sa.types.TypeEngine:
        """SQL column type for ``column`` storage (and the value type for ``multi``)."""
        return sa.Text()

    # -- values --------------------------------------------------------------
    def to_python(self, raw: Any) -> Any:
        """Coerce a raw (JSON or form) value; raise ``FieldError`` with a code."""
        return raw

    def validate(self, value: Any) -> None:
        """Check a coerced, non-empty value against this widget's config."""

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == [] or value == {}

    def clean(self, raw: Any) -> Any:
        value = self.to_python(raw)
        if not self.is_empty(value):
            self.validate(value)
        return value

    def compile_clean(self):
        """``clean`` as one callable, built once per compiled form.

        A widget may return a closure with a fast path for the common raw
        values; it must return exactly what ``clean`` returns and hand
        anything else to ``clean`` (so errors stay the same).
        """
        return self.clean

    def compile_coerce(self):
        """``clean`` as one callable that *returns* its ``FieldError`` instead of raising it.

        Built once per compiled form; ``FormSpec.clean`` calls it for every
        submitted value, so an invalid value costs no exception. The result is
        either exactly what ``clean`` returns, or a ``FieldError`` (never a
        subclass) with the code, message and context ``clean`` would raise.
        Returned errors may be shared constants: read them, never raise them.
        The default wraps ``compile_clean``; built-ins reject common bad input
        without raising.
        """
        return coerce_from(self.compile_clean())

    def inline_accept(self) -> tuple[str, str, dict[str, Any]] | None:
        """An optional fast path the form writes into its generated clean function: ``(test, value, constants)``.

        ``test`` and ``value`` are Python expressions over ``{raw}`` (the submitted value), ``{tmp}`` (a
        scratch name ``test`` may assign with ``:=``) and ``{name}`` for each key of ``constants``. When
        ``test`` is true, ``value`` must be exactly what ``compile_coerce()(raw)`` returns; otherwise the
        form calls ``compile_coerce``. ``test`` must not raise. Both are written by the widget's author,
        never taken from a definition: every object derived from the config goes in ``constants``.
        None (the default) means no inline path.
        """
        return None

    def _stock(self, owner: type, *also: str) -> bool:
        """True when no subclass changed ``owner``'s value methods (nor ``also``), so its fast paths hold."""
        t = type(self)
        return all(getattr(t, name) is getattr(owner, name) for name in (*_VALUE_METHODS, *also))

    def value_from_formdata(self, formdata: Any, files: Any, key: str) -> Any:
        """Read this field's raw value from an HTML form post (a MultiDict)."""
        return formdata.get(key)

    def export_value(self, value: Any) -> Any:
        """A JSON-friendly value (JSON export; ``export_cell`` builds CSV cells from it)."""
        return value

    def import_value(self, value: Any) -> Any:
        """The inverse of ``export_value``: raw input for ``clean``."""
        return value

    def export_cell(self, value: Any) -> str:
        """One CSV cell: scalars as text, lists and objects as JSON, empty as ``""``."""
        value = self.export_value(value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)

    def import_cell(self, text: str) -> Any:
        """The inverse of ``export_cell``: raw input for ``clean`` (``""`` is empty)."""
        if text is None or text == "":
            return None
        if text[:1] in "[{":
            try:
                return self.import_value(json.loads(text))
            except ValueError:
                pass
        return self.import_value(text)

    def input_value(self, value: Any) -> str:
        """The value as the text of an HTML input (a stored value or a re-shown raw one)."""
        if value is None:
            return ""
        exported = self.export_value(value) if not isinstance(value, str) else value
        return exported if isinstance(exported, str) else json.dumps(exported, ensure_ascii=False) \
            if isinstance(exported, (list, dict)) else str(exported)

    def random_value(self, rng: random.Random) -> Any:
        """A valid random value, for contract tests and demo data."""
        raise NotImplementedError(f"widget {self.type} has no random_value")

    def json_schema(self) -> dict:
        """The JSON Schema fragment of one submitted value (``FormSpec.json_schema``)."""
        return {"type": ["string", "null"]}

    def error(self, code: str, message: str, **context: Any) -> FieldError:
        """A coded error; write ``message`` as "English / 中文" so either reader understands it."""
        return FieldError(message, code=code, **context)

    def shared_error(self, code: str, message: str, **context: Any) -> FieldError:
        """A prebuilt ``error`` that ``compile_coerce`` returns for every value failing the same way."""
        return shared(self.error(code, message, **context))

    @classmethod
    def example_field(cls) -> dict:
        """A field definition using this widget, for contract tests and the builder's preview.

        Defaults to the first of ``config_schema["examples"]`` as the config.
        """
        examples = cls.config_schema.get("examples") or [{}]
        return {"config": dict(examples[0])}

    @classmethod
    def palette(cls) -> dict:
        return {"type": cls.type, "label": cls.label or cls.type, "icon": cls.icon, "group": cls.group,
                "config_schema": cls.config_schema, "storage": cls.storage, "value_kind": cls.value_kind}


#: the methods a fast path reproduces; a subclass overriding one of them gets the generic path
_VALUE_METHODS = ("to_python", "validate", "is_empty", "clean")


def inline_template(widget: "Widget") -> tuple[str, str, dict[str, Any]] | None:
    """``widget.inline_accept()`` when ``inline_function`` accepts its kind of template, else None.

    The check depends only on the template's text and constant names, so it runs once per kind.
    """
    template = widget.inline_accept()
    if template is None:
        return None
    test, value, constants = template
    key = (test, value, tuple(constants))
    ok = _CHECKED_TEMPLATES.get(key)
    if ok is None:
        ok = inline_function(widget, template) is not None
        if len(_CHECKED_TEMPLATES) < 1024:
            _CHECKED_TEMPLATES[key] = ok
    return template if ok else None


_CHECKED_TEMPLATES: dict[tuple, bool] = {}


def inline_function(widget: "Widget", template: tuple | None = None):
    """``widget.inline_accept()`` as ``raw -> (accepted, value)``; None without one or when it is unfit.

    The form writes a template in only if this compiles it and finds it self-contained; tests compare
    the function with ``compile_coerce``.
    """
    template = template or widget.inline_accept()
    if template is None:
        return None
    test, value, constants = template
    if not all(isinstance(k, str) and k.isidentifier() and not k.startswith("_") for k in constants):
        return None
    names = {k: k for k in constants}
    try:
        source = (f"def make({', '.join(constants)}):\n"
                  f"    return lambda raw: (True, {value.format(raw='raw', tmp='tmp', **names)}) "
                  f"if ({test.format(raw='raw', tmp='tmp', **names)}) else (False, None)\n")
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<inline {widget.type}>", "exec"), namespace)
    except (KeyError, IndexError, AttributeError, ValueError, SyntaxError):
        return None
    accept = namespace["make"](**constants)
    return accept if _self_contained(accept.__code__) else None


def _self_contained(code) -> bool:
    """The template assigns only ``tmp``, reads only its constants and builtins, and nests no code,
    so it cannot touch the names of the function it is written into."""
    import builtins
    import dis
    import types
    if set(code.co_varnames) - {"raw", "tmp"} or any(isinstance(c, types.CodeType) for c in code.co_consts):
        return False
    for ins in dis.get_instructions(code):
        if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME", "DELETE_NAME", "DELETE_FAST"):
            return False
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and (
                ins.argval.startswith("_") or not hasattr(builtins, ins.argval)):
            return False
    return True


def shared(error: FieldError) -> FieldError:
    """Mark ``error`` as a constant of a ``compile_coerce`` function: returned many times, never raised.

    The form caches the error entry it builds from a shared error, once per field.
    """
    error.shared = True
    return error


def returned_error(exc: FieldError) -> FieldError:
    """``exc`` as a plain ``FieldError`` (code, message, context kept), for ``compile_coerce`` results."""
    if exc.__class__ is FieldError:
        return exc
    return FieldError(exc.message, code=exc.code, **exc.context)


def coerce_from(clean):
    """A ``compile_coerce`` result from a raising ``clean``: the error is returned, not raised."""
    def coerce(raw):
        try:
            return clean(raw)
        except FieldError as exc:
            return exc if exc.__class__ is FieldError else returned_error(exc)
    return coerce
