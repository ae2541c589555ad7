"""The end-user UI: app home, record lists, record pages, forms."""
from flask import Blueprint

bp = Blueprint("ui", __name__)

from . import views  # noqa: E402,F401
from . import records  # noqa: E402,F401
from . import public  # noqa: E402,F401
from . import dashboards  # noqa: E402,F401
from . import flows  # noqa: E402,F401  (my tasks, task page, record process)
from . import admin  # noqa: E402,F401  (/admin/users: people administration, admins only)
from . import account  # noqa: E402,F401  (/account/password, /account/tokens: the signed-in user)
from . import audit  # noqa: E402,F401  (/audit: the audit log viewer)
from . import recycle  # noqa: E402,F401  (/apps/<app>/recycle-bin: deleted records)
from . import task_links  # noqa: E402,F401  (/t/<token>: the buttons of task cards in work messages)
from . import dataio  # noqa: E402,F401  (spreadsheet import and export of a form's records)
from . import webhooks  # noqa: E402,F401  (/admin/webhooks: outgoing webhook subscriptions and their delivery log)
from . import chat  # noqa: E402,F401  (/chat/<form>: the live chat console)
