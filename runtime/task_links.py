"""Signed task links: the buttons of a task card in a work message (WeCom, DingTalk).

A link names one task, one user and one action (an outcome key, or ``complete``), and when it
expires; it is signed with the deployment's ``SECRET_KEY`` (HMAC, ``itsdangerous``), so it cannot
be made up or altered, and a link sent to one person does nothing for another. It is the person's
authority only as far as the task page's own checks go: the flow runtime still refuses a user who
is not (or no longer) the assignee, and a task already completed (``runtime.ui.task_links``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from engines.errors import NotFound, PermissionDenied

SALT = "jimu.task-action"
#: how long a card's buttons work unless ``TASK_LINK_SECONDS`` says otherwise
DEFAULT_SECONDS = 7 * 24 * 3600
#: the action of a task without outcomes
COMPLETE = "complete"


class BadTaskLink(NotFound):
    code = "task_link.invalid"


class ExpiredTaskLink(PermissionDenied):
    code = "task_link.expired"


@dataclass(frozen=True)
class TaskAction:
    task_id: int
    user_id: int
    action: str
    expires: datetime

    @property
    def outcome(self) -> str | None:
        return None if self.action == COMPLETE else self.action


def _serializer(jimu) -> URLSafeSerializer:
    return URLSafeSerializer(jimu.config["SECRET_KEY"], salt=SALT)


def sign(jimu, task_id: int, user_id: int, action: str, *, now: datetime | None = None) -> str:
    expires = (now or jimu.now()) + timedelta(seconds=int(jimu.config.get("TASK_LINK_SECONDS") or DEFAULT_SECONDS))
    return _serializer(jimu).dumps({"t": int(task_id), "u": int(user_id), "a": str(action),
                                    "e": int(expires.timestamp())})


def link(jimu, task_id: int, user_id: int, action: str) -> str:
    """The absolute URL of the action's page (``BASE_URL`` + ``/t/<token>``)."""
    base = (jimu.config.get("BASE_URL") or "").rstrip("/")
    return f"{base}/t/{quote(sign(jimu, task_id, user_id, action))}"


def read(jimu, token: str) -> TaskAction:
    """The action a token grants; ``BadTaskLink`` if it was forged or altered, ``ExpiredTaskLink`` after
    its time."""
    try:
        data = _serializer(jimu).loads(token)
        action = TaskAction(int(data["t"]), int(data["u"]), str(data["a"]),
                            datetime.fromtimestamp(int(data["e"]), tz=timezone.utc))
    except (BadSignature, KeyError, TypeError, ValueError):
        raise BadTaskLink("this link is not valid; open the task in Jimu instead") from None
    if action.expires <= jimu.now():
        raise ExpiredTaskLink("this link has expired; open the task in Jimu instead", id=action.task_id)
    return action
