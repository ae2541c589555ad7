"""Errors of the app package layer, and the table of semantic error codes.

A package that cannot be read (too big, too deep, not JSON, too new) raises a
``PackageError`` whose ``code`` names the cause and whose ``errors`` hold that
one problem; a package that reads but does not validate raises a
``PackageError`` with code ``package.invalid`` and *every* problem in
``errors``, each a dict ``{code, message, pointer, ...}``.
"""
from __future__ import annotations

from typing import Any

from engines.errors import JimuError, ValidationErrors

#: semantic codes and the fix each one asks for (documentation and message prefix)
CODES: dict[str, str] = {
    "package.duplicate_key": "keys must be unique; rename one of them",
    "package.unknown_form": "name a form defined in this package, or add that form",
    "package.unknown_field": "name a field of that form (or a system column), or add the field",
    "package.unknown_report": "name a report defined in this package, or add that report",
    "field.reserved_key": "system columns and keys starting with _ are reserved; rename the field",
    "field.unknown_widget": "use a registered widget type",
    "field.invalid_config": "fix the widget configuration",
    "field.fill_target": "fill only input fields of this form (not computed ones, not the link itself)",
    "field.fill_multiple": "a link to several records cannot fill fields: remove fill or make the link single",
    "related.summary_field": "name the number field a sum, avg, min or max figure computes over",
    "related.summary_filter": "give a share figure the filter of the records it counts",
    "related.compose_path": "add records inline only on a related list whose field is a link of the other form",
    "macro.action": "use record actions (set_fields, create_record, update_related, assign, add_participant) "
                    "or messages (notify, send_survey) in a macro",
    "form.unknown_title_field": "set title_field to the key of one of the form's fields",
    "form.unknown_list_field": "list only keys of the form's fields in list_fields",
    "layout.unknown_field": "place only keys of the form's fields",
    "layout.duplicate_field": "place each field once",
    "role.unknown_verb": "use create, read, update or delete",
    "role.scope_field": "own needs a user field (or none: the record's creator); groups needs a group field",
    "role.not_granted": "grant the role a verb on the form first, or remove the rule",
    "flow.duplicate_id": "node and edge ids must be unique within a flow; rename one",
    "flow.dangling_edge": "connect the edge to an existing node id",
    "package.unknown_placeholder": "use {field key} of a field of that form, or add the field",
    "package.unknown_template": "add it to the package's templates, or correct the name",
    "package.unknown_flow": "name a flow defined in this package, or add that flow",
    "package.unknown_node": "name a node id of that flow",
    "chat.wrong_widget": "name a field of the widget the chat needs there (a link for link_field, a user field "
                         "for assignee_field)",
    "chat.wrong_link": "point the link field at the form the chat names (messages link to the conversation form, "
                       "the hand-over link to the hand-over form)",
}


class PackageError(ValidationErrors):
    """A package that cannot be loaded; ``errors`` lists every problem found."""

    code = "package.invalid"
    status = 422
    #: findings that would not refuse the package (``apps.compile.Problems.warnings``)
    warnings: tuple = ()

    def __init__(self, errors: list[JimuError] | list[dict], message: str | None = None,
                 *, code: str | None = None, status: int | None = None):
        super().__init__(errors, message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    @classmethod
    def single(cls, code: str, message: str, *, status: int | None = None, **context: Any) -> "PackageError":
        """One problem that stops loading early (size, depth, syntax, version)."""
        error = {"code": code, "message": message, **{k: v for k, v in context.items() if v is not None}}
        return cls([error], message, code=code, status=status)
