"""A task card's signed link (``/t/<token>``, issue 20) probed from the outside: the link of a person
who may no longer act on the task nor read its record, of a deactivated person, with an action the
task does not offer, and without the page's form token."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from runtime import db, task_links
from tests.conftest import make_user
from tests.runtime.test_workmsg import _task, approval_flow, setup
from tests.runtime.rules_helpers import create

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def task(jimu):
    ids = setup(jimu, flows=[approval_flow([])])
    create(jimu, "采购申请", {"物品": "保密显示器", "单价": 100, "数量": 2})
    ids["stranger"] = make_user(jimu, "stranger")      # no role: may not read 采购申请
    (t,) = _task(jimu, ids)
    return ids, t


def _form_token(page) -> str | None:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return found.group(1) if found else None


def test_a_link_shows_nothing_of_the_record_to_whom_may_not_act_or_read(client, jimu, task):
    ids, t = task
    approve = t["outcomes"][0]["key"]
    # a link signed for someone who never had the task and may not read the record (the task was
    # handed on, the role was taken away): no title, no form, and confirming does nothing
    token = task_links.sign(jimu, t["id"], ids["stranger"], approve)
    page = client.get(f"/t/{token}")
    assert page.status_code == 403, page.status_code
    assert "保密显示器" not in page.get_data(as_text=True) and _form_token(page) is None
    # the assignee's own link still shows it
    own = client.get(f"/t/{task_links.sign(jimu, t['id'], ids['mgr'], approve)}")
    assert own.status_code == 200 and "保密显示器" in own.get_data(as_text=True)
    posted = client.post(f"/t/{token}", data={"csrf_token": _form_token(own), "comment": "x"})
    assert posted.status_code == 403 and "保密显示器" not in posted.get_data(as_text=True)
    assert _task(jimu, ids)[0]["status"] == "open"


def test_a_deactivated_persons_link_shows_and_does_nothing(client, jimu, task):
    ids, t = task
    token = task_links.sign(jimu, t["id"], ids["mgr"], t["outcomes"][0]["key"])
    csrf = _form_token(client.get(f"/t/{token}"))
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == ids["mgr"]).values(is_active=False))
    page = client.get(f"/t/{token}")
    assert page.status_code == 403 and "保密显示器" not in page.get_data(as_text=True)
    posted = client.post(f"/t/{token}", data={"csrf_token": csrf, "comment": "x"})
    assert posted.status_code == 403 and _task(jimu, ids)[0]["status"] == "open"


def test_an_action_the_task_does_not_offer_and_a_missing_form_token_change_nothing(client, jimu, task):
    ids, t = task
    for action in ("bogus", task_links.COMPLETE):
        token = task_links.sign(jimu, t["id"], ids["mgr"], action)
        csrf = _form_token(client.get(f"/t/{token}"))
        posted = client.post(f"/t/{token}", data={"csrf_token": csrf})
        assert posted.status_code in (400, 403, 409, 422), (action, posted.status_code)
        assert _task(jimu, ids)[0]["status"] == "open"
    token = task_links.sign(jimu, t["id"], ids["mgr"], t["outcomes"][0]["key"])
    assert client.post(f"/t/{token}", data={"comment": "x"}).status_code == 403
    assert client.post(f"/t/{token}", data={"csrf_token": "令牌", "comment": "x"}).status_code == 403
    assert _task(jimu, ids)[0]["status"] == "open"
    assert client.get("/t/" + "x" * 3000).status_code == 404
