"""Reusable UI steps for the app page's people settings (roles and groups): what a business user does
with the mouse and the keyboard. Controls are found by id, so the steps work in zh-CN and in en.

Roles and groups are numbered in the order they were added (``role-0-...``, ``group-0-...``); forms in
the permission matrix in the package's order.
"""
from __future__ import annotations

from urllib.parse import quote

VERBS = ("create", "read", "update", "delete")


def directory():
    """The package of the organisation an administrator set up: a builder role ``designer``, no app."""
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "org", "version": "1.0.0", "label": {"zh-CN": "组织", "en": "Organisation"}},
            "roles": [{"key": "designer", "version": 1, "label": {"zh-CN": "应用设计者", "en": "App designer"},
                       "builder": True, "permissions": {}}]}


def open_app(page, live_server, app_key):
    page.goto(f"{live_server}/builder/apps/{quote(app_key)}")
    page.wait_for_selector("#app-people #new-role")


def index_of(page, kind, key):
    """The position of role/group ``key`` on the page."""
    keys = page.eval_on_selector_all(f"#app-people [data-{kind}]", f"els => els.map(e => e.dataset.{kind})")
    return keys.index(key)


def _create(page, kind, key, zh):
    """+ 新建角色/小组: the name, Enter; a ``key`` is typed under "高级" (None: the generated one).
    Returns the new item's key."""
    before = page.eval_on_selector_all(f"#app-people [data-{kind}]", f"els => els.map(e => e.dataset.{kind})")
    page.fill(f"#new-{kind}-label", zh)
    if key is not None:
        page.locator(f"#new-{kind}-advanced > summary").click()
        page.fill(f"#new-{kind}-key", key)
    page.locator(f"#new-{kind}-label").press("Enter")
    page.wait_for_function(f"(n) => document.querySelectorAll('#app-people [data-{kind}]').length > n",
                           arg=len(before))
    after = page.eval_on_selector_all(f"#app-people [data-{kind}]", f"els => els.map(e => e.dataset.{kind})")
    (new,) = [k for k in after if k not in before]
    assert key is None or new == key
    return new


def add_role(page, key, zh, en, permissions, *, builder=False):
    """+ 新建角色 (its name, Enter; ``key`` None: generated), its English name, then the permission matrix:
    ``permissions`` maps a form key to the verbs to tick (each box focused and toggled with the space bar)."""
    key = _create(page, "role", key, zh)
    i = index_of(page, "role", key)
    page.fill(f"#role-{i}-label-en", en)
    for form_key, verbs in permissions.items():
        row = page.locator(f'#role-{i}-perms tr[data-form="{form_key}"]')
        for verb in verbs:
            box = row.locator(f'input[data-verb="{verb}"]')
            box.focus()
            page.keyboard.press("Space")
            page.wait_for_function("(id) => document.getElementById(id)?.checked",
                                   arg=box.get_attribute("id"))
    if builder:
        page.locator(f"#role-{i}-builder").check()
    return i


def add_group(page, key, zh, en, members, *, lead=None):
    """+ 新建分组, its English name, the members typed into the user box (Enter adds one), the lead."""
    key = _create(page, "group", key, zh)
    i = index_of(page, "group", key)
    page.fill(f"#group-{i}-label-en", en)
    for name in members:
        page.fill(f"#group-{i}-member-input", name)
        page.locator(f"#group-{i}-member-input").press("Enter")
        page.wait_for_selector(f'#app-people [data-group="{key}"] [data-member="{name}"]')
    if lead:
        page.select_option(f"#group-{i}-lead", lead)
    return i


def publish(page):
    """Publish from the app page: the diff dialog, confirm; waits for the new version in the history."""
    versions = page.locator("#version-list > li").count()
    page.locator("#btn-publish").click()
    page.locator("dialog.builder-dialog").wait_for()
    page.locator("#confirm-publish").click()
    page.wait_for_function("(n) => document.querySelectorAll('#version-list > li').length > n", arg=versions)
