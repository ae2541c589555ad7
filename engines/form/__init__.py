"""The form engine: widget plugins, compiled form specs, server-side validation."""
from engines.registry import Registry

from .widget import Widget


def _check_widget(cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Widget)):
        raise TypeError(f"{cls!r} is not a Widget subclass")


#: every field widget, built-in or plugin, filled from the ``jimu.widgets`` entry points
WIDGETS: Registry[Widget] = Registry("widget", group="jimu.widgets", check=_check_widget)

from .spec import FieldSpec, FormSpec, compile_form, label_text, SYSTEM_FIELDS  # noqa: E402

__all__ = ["WIDGETS", "Widget", "FieldSpec", "FormSpec", "compile_form", "label_text", "SYSTEM_FIELDS"]
