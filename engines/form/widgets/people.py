"""User and group pickers: ids of platform users or groups; several with ``multiple``."""
from __future__ import annotations

from ._common import config_schema
from .ids import IdWidget


class UserWidget(IdWidget):
    """A platform user by id (``multiple``: several, in a child table).

    The widget checks the shape (positive whole ids); the runtime owns the
    users table and may check that they exist.
    """

    type = "user"
    label = {"zh-CN": "成员", "en": "User"}
    icon = "user"
    group = "relation"
    value_kind = "user"
    macro = "user"
    noun = ("user", "成员")
    config_schema = config_schema({
        "multiple": {"type": "boolean", "default": False, "description": "Several users."},
        "default_current_user": {"type": "boolean", "default": False,
                                 "description": "The builder offers current_user_id as the default."},
        "roles": {"type": "array", "items": {"type": "string"},
                  "description": "Only offer users with one of these roles in the picker."},
    }, examples=[{"multiple": False}, {"multiple": True}], description="A platform user.")


class GroupWidget(UserWidget):
    """A platform group (team) by id."""

    type = "group"
    label = {"zh-CN": "部门/组", "en": "Group"}
    icon = "users"
    value_kind = "group"
    macro = "group"
    noun = ("group", "部门/组")
    config_schema = config_schema({
        "multiple": {"type": "boolean", "default": False, "description": "Several groups."},
    }, examples=[{"multiple": False}, {"multiple": True}], description="A platform group.")
