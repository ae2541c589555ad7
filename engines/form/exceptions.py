"""Errors of the form engine. One ``FieldError`` per problem, with a code."""
from __future__ import annotations

from engines.errors import JimuError, ValidationErrors


class FormError(JimuError):
    code = "form.error"


class FormDefinitionError(ValidationErrors):
    """A form definition that cannot compile (unknown widget, formula cycle...)."""

    code = "form.invalid_definition"


class FieldError(JimuError):
    """A submitted value that fails coercion or validation.

    Raised by widgets with a code such as ``form.invalid_number``; the form
    collects them, adds the field key, and returns all of them at once.
    """

    code = "form.invalid"
    status = 422


class SubmissionErrors(ValidationErrors):
    code = "form.invalid_submission"
    status = 422
