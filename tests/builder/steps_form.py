"""Reusable UI steps for the builder's home page and the form designer: what a business user does with
the mouse and the keyboard (drags, clicks, typing; never JSON). Controls are found by id and data
attributes, not by their text, so the steps work in zh-CN and in en.

``build_form`` is the main entry point: from an app page it creates a form, adds the given fields
(each dragged from the palette onto the end of the canvas, or added with the keyboard), names them,
sets their options, required flags and defaults, picks the title field and publishes. The combined
acceptance test (test_build_app_browser.py) calls it before it builds the flow, rules and dashboard.
"""
from __future__ import annotations

from dataclasses import dataclass, field as _field
from urllib.parse import quote

from playwright.sync_api import Error as PlaywrightError


@dataclass
class Field:
    """One field as a builder sets it up in the designer."""
    widget: str
    key: str
    zh: str
    en: str
    options: list[str] = _field(default_factory=list)   # for choice widgets, in display order
    required: bool = False
    default: str | None = None                            # an expression, e.g. '"新建"'
    how: str = "drag"                                     # "drag" from the palette, or "keyboard" (focus + Enter)


# -- the builder's home and the app page -------------------------------------------------------------

def new_app(page, live_server, label, key=None):
    """Builder home → 新建应用: the name, create; waits for the new app's page. A ``key`` is typed under
    "高级" (advanced); without one the app's key is made from its name."""
    page.goto(f"{live_server}/builder/")
    page.wait_for_selector("#new-app")
    page.fill("#new-app-label", label)
    if key is not None:
        page.locator("#new-app-advanced > summary").click()
        page.fill("#new-app-key", key)
    page.locator("#new-app button[type=submit]").click()
    page.wait_for_url(f"**/builder/apps/{quote(key)}" if key is not None else "**/builder/apps/*")
    page.wait_for_selector("#kinds section")


def new_item(page, live_server, app_key, kind, key=None, label=None):
    """A new form (flow, rule, report, dashboard; ``kind`` as in the URL) and its designer, open; returns its key.

    Without ``key``: one click on the app page's "+ 新建…" (``#new-<kind>``): the item gets a generated key
    and the name 表单1 (流程1, ...). With ``key`` (tests that check a known key): the designer's own start for a
    new item, ``<kind>/<key>?new=1&label=<label>``, which that click leads to as well."""
    if key is None:
        if not page.url.rstrip("/").endswith(f"/builder/apps/{quote(app_key)}"):
            page.goto(f"{live_server}/builder/apps/{quote(app_key)}")
        page.locator(f"#new-{kind}").click()
        page.wait_for_url(f"**/builder/apps/{quote(app_key)}/{kind}/*")
    else:
        named = f"&label={quote(label)}" if label else ""
        page.goto(f"{live_server}/builder/apps/{quote(app_key)}/{kind}/{quote(key)}?new=1{named}")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('new')")   # created and saved
    from urllib.parse import unquote, urlparse
    return unquote(urlparse(page.url).path.rstrip("/").rsplit("/", 1)[1])


def rename_in_place(page, title_id, text):
    """Type the item's name over the designer's title (edited in place) and leave the box."""
    box = page.locator(f"#{title_id}-input")
    box.fill(text)
    box.press("Enter")


def new_form(page, live_server, app_key, label, key=None):
    """A new form named ``label`` (without ``key``: one click, then the name typed in place in the designer's
    title); waits for the palette. Returns its key."""
    made = new_item(page, live_server, app_key, "forms", key, label)
    page.wait_for_selector(".palette-item")
    if key is None:
        rename_in_place(page, "form-title", label)
    return made


# -- the form designer -------------------------------------------------------------------------------

def field_keys(page):
    return page.eval_on_selector_all(".field-card", "els => els.map(e => e.dataset.key)")


def _selected(page, key):
    page.wait_for_function(
        "k => { const c = document.querySelector('.field-card.selected');"
        " const box = document.getElementById('prop-key');"
        " return c && c.dataset.key === k && box && box.value === k; }", arg=key)


def add_widget(page, widget, how="drag"):
    """Add a field of ``widget`` at the end of the form; returns its (generated) key. It is selected."""
    before = field_keys(page)
    item = page.locator(f'.palette-item[data-widget="{widget}"]')
    if how == "keyboard":                        # Enter on a palette button adds after the selected field
        item.focus()
        page.keyboard.press("Enter")
    else:                                        # dropped below the last card: the end of the form
        zone = page.locator(".zone.top")
        for attempt in range(10):                # the canvas is redrawn when the live checks come back
            box = zone.bounding_box()
            try:
                if box is None:
                    raise PlaywrightError("the canvas is being redrawn")
                item.drag_to(zone, target_position={"x": box["width"] / 2, "y": box["height"] - 6})
                break
            except PlaywrightError:
                if attempt == 9 or len(field_keys(page)) > len(before):
                    raise
                page.wait_for_timeout(100)
    page.wait_for_function("n => document.querySelectorAll('.field-card').length > n", arg=len(before))
    (key,) = [k for k in field_keys(page) if k not in before]
    _selected(page, key)
    return key


def rename_key(page, new_key):
    box = page.locator("#prop-key")
    if not box.is_visible():                     # the key is under the closed 高级 detail
        page.locator("#prop-advanced > summary").click()
    box.fill(new_key)
    box.press("Tab")                             # the key changes on "change"
    _selected(page, new_key)


def set_labels(page, key, zh, en):
    page.fill("#prop-label-zh", zh)
    page.fill("#prop-label-en", en)
    page.wait_for_function(
        "([k, zh]) => (document.querySelector(`.field-card[data-key=\"${k}\"] .item-label`) || {}).textContent"
        "?.includes(zh)", arg=[key, zh])


def set_options(page, values):
    """The selected choice field's options: as many rows as values, each value typed in."""
    rows = page.locator("#props ol.options > li")
    rows.first.wait_for()
    add = page.locator("#props ol.options + button")
    while rows.count() > len(values):
        rows.last.locator("button").last.click()            # ✕ removes the row
    while rows.count() < len(values):
        n = rows.count()
        add.click()
        page.wait_for_function("n => document.querySelectorAll('#props ol.options > li').length > n", arg=n)
    for i, value in enumerate(values):
        box = rows.nth(i).locator("input.opt-value")
        box.fill(value)
        box.press("Tab")
        for other in rows.nth(i).locator("input:not(.opt-value)").all():   # a plain option: no labels of its own
            if other.input_value():
                other.fill("")
                other.press("Tab")
    page.wait_for_function(
        "vs => JSON.stringify([...document.querySelectorAll('#props ol.options input.opt-value')].map(i => i.value))"
        " === JSON.stringify(vs)", arg=list(values))


def type_expression(page, box_id, text):
    """Type ``text`` in the expression editor ``#box_id`` (replacing what is there) and wait for its live
    check (``#box_id-msg``) to pass."""
    box = page.locator(f"#{box_id}")
    box.click()
    box.fill("")
    box.type(text)
    page.keyboard.press("Escape")                          # close the autocomplete list if it is open
    page.locator(f"#{box_id}-msg .expr-ok").wait_for()


def set_default(page, expression):
    type_expression(page, "prop-default_expr", expression)


def add_field(page, spec: Field):
    """Add one field and set it up in the property panel; returns its key."""
    generated = add_widget(page, spec.widget, spec.how)
    if generated != spec.key:
        rename_key(page, spec.key)
    set_labels(page, spec.key, spec.zh, spec.en)
    if spec.options:
        set_options(page, spec.options)
    if spec.required:
        page.locator("#prop-required").check()
    if spec.default is not None:
        set_default(page, spec.default)
    return spec.key


def save(page):
    """Save the draft with the toolbar button; waits until nothing is unsaved."""
    button = page.locator("#btn-save")
    if button.is_enabled():
        button.click()
    page.wait_for_function("document.getElementById('btn-save').disabled")


def set_title_field(page, key):
    """The form's own properties (shown when no field is selected, e.g. on opening the designer). The form's
    first single-line text is its title already: nothing to do when that is the one."""
    page.wait_for_selector("#form-title-field")
    if page.input_value("#form-title-field") == key:
        return
    page.select_option("#form-title-field", key)
    page.wait_for_function("document.getElementById('btn-save').disabled === false")


def publish(page):
    """Publish: the diff dialog, confirm; waits until the designer says which version it published."""
    page.locator("#btn-publish").click()
    page.locator("dialog.builder-dialog").wait_for()
    page.locator("#confirm-publish").click()
    page.locator("#open-runtime").wait_for()
    return page.locator("#save-state").inner_text()


def build_form(page, live_server, app_key, form_key, form_label, fields, *, title_field=None, screenshot=None):
    """Through the UI alone: a new form ``form_key`` in app ``app_key`` with ``fields`` (``Field``s, in
    order), its title field, published. ``screenshot``: a path for the designer before publishing.
    Returns the status line after publishing (it names the version)."""
    new_form(page, live_server, app_key, form_label, form_key)
    for spec in fields:
        add_field(page, spec)
    assert field_keys(page) == [f.key for f in fields], field_keys(page)
    save(page)
    if title_field:
        page.reload()                            # nothing selected: the form's own properties
        page.wait_for_selector(".field-card")
        set_title_field(page, title_field)
        save(page)
    if screenshot:                               # with a choice field's options in the panel
        shown = next((f for f in fields if f.options), fields[0])
        page.locator(f'.field-card[data-key="{shown.key}"]').click()
        page.locator(f'.field-card.selected[data-key="{shown.key}"]').wait_for()
        if shown.options:
            page.locator("#props ol.options").scroll_into_view_if_needed()
        assert "null" not in page.locator("#props").inner_text()      # nothing raw printed in the panel
        page.screenshot(path=str(screenshot))    # (a full-page picture would scroll the panel back up)
    return publish(page)
