"""Link to a record of another form (single: a foreign key column; multiple: a child table)."""
from __future__ import annotations

from ._common import config_schema
from .ids import IdWidget


class LinkWidget(IdWidget):
    """A record of the form ``config.form``, by id. ``display_field`` names the target field shown
    for it; ``searchable`` lets the picker search the target's text fields."""

    type = "link"
    label = {"zh-CN": "关联记录", "en": "Link to record"}
    icon = "link"
    group = "relation"
    value_kind = "link"
    macro = "link"
    noun = ("record", "关联记录")
    id_limit = 2 ** 63
    random_top = 100
    config_schema = config_schema({
        "form": {"type": "string", "minLength": 1, "description": "Key of the linked form."},
        "multiple": {"type": "boolean", "default": False, "description": "Several linked records."},
        "display_field": {"type": "string", "minLength": 1,
                          "description": "Field of the linked form shown for a record (default: its title_field)."},
        "searchable": {"type": "boolean", "default": True,
                       "description": "The picker searches the linked form instead of listing every record."},
        "search_fields": {"type": "array", "items": {"type": "string"},
                          "description": "Fields of the linked form the picker searches (default: its text fields)."},
        "filter": {"type": "array", "items": {"type": "object"},
                   "description": "Record-list filters limiting the records offered."},
        "fill": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
                 "description": "Fields of this form filled from the chosen record when the link is set or "
                                "changed: {this form's field: the linked form's field}. Only empty fields are "
                                "filled (neither sent with the link nor stored). Single links only."},
    }, required=["form"], examples=[{"form": "customer", "display_field": "name", "searchable": True}],
        description="A link to records of another form.")

    @property
    def target(self) -> str:
        return self.config["form"]

    @property
    def display_field(self) -> str | None:
        return self.config.get("display_field")

    @property
    def fill(self) -> tuple[tuple[str, str], ...]:
        """``(this form's field, the linked form's field)`` pairs a newly chosen record fills."""
        if self.config.get("multiple"):
            return ()
        return tuple((dst, src) for dst, src in (self.config.get("fill") or {}).items())

    @property
    def searchable(self) -> bool:
        return bool(self.config.get("searchable", True))
