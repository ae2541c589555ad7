"""The home page: each app the user may use, with its navigation — the forms their roles may read (each
with its list views) and the dashboards they may open, nothing more. A library app (loans and books)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import install_package, make_user, sign_in

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

LIBRARY = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "library", "version": "1.0.0", "label": {"zh-CN": "图书馆", "en": "Library"}},
    "roles": [
        {"key": "reader", "version": 1, "label": "Reader", "permissions": {"loan": ["create", "read"]}},
        {"key": "curator", "version": 1, "label": "Curator", "permissions": {"book": ["create", "read", "update"]}},
    ],
    "forms": [
        {"key": "loan", "version": 1, "label": {"zh-CN": "借阅", "en": "Loans"},
         "fields": [{"key": "title", "label": "Title", "widget": "text"},
                    {"key": "returned", "label": "Returned", "widget": "switch"}],
         "views": [{"key": "open", "label": {"zh-CN": "未归还", "en": "Not returned"},
                    "filter": [{"field": "returned", "op": "eq", "value": False}]},
                   {"key": "mine", "label": {"zh-CN": "我的借阅", "en": "My loans"},
                    "filter": [{"field": "created_by", "op": "eq", "value": "$me"}]}]},
        {"key": "book", "version": 1, "label": {"zh-CN": "图书", "en": "Books"},
         "fields": [{"key": "name", "label": "Name", "widget": "text"}]},
    ],
    "reports": [
        {"key": "loans_by_title", "version": 1, "label": "Loans by title", "type": "bar", "form": "loan",
         "dimensions": [{"field": "title"}], "measures": [{"key": "n", "agg": "count"}]},
        {"key": "books_count", "version": 1, "label": "Books", "type": "kpi", "form": "book",
         "measures": [{"key": "n", "agg": "count"}]},
    ],
    "dashboards": [
        {"key": "loan_desk", "version": 1, "label": {"zh-CN": "借阅看板", "en": "Loan desk"},
         "charts": [{"report": "loans_by_title", "x": 0, "y": 0, "w": 6, "h": 4}]},
        {"key": "collection", "version": 1, "label": {"zh-CN": "馆藏看板", "en": "Collection"},
         "charts": [{"report": "books_count", "x": 0, "y": 0, "w": 6, "h": 4}]},
    ],
}


def _nav(html):
    """(section app, form keys, view keys, dashboard keys) the home page links to."""
    return (re.findall(r'<section class="app-home" data-app="([^"]*)"', html),
            re.findall(r'data-form="([^"]+)" href="/forms/[^"?]+"', html),
            re.findall(r'data-view="([^"]+)" href="/forms/[^"]+\?view=[^"]+"', html),
            re.findall(r'data-dashboard="([^"]+)" href="/dashboards/[^"]+\?app=library"', html))


@pytest.mark.parametrize("roles, forms, views, dashboards", [
    (["reader"], ["loan"], ["open", "mine"], ["loan_desk"]),
    (["curator"], ["book"], [], ["collection"]),
    (["reader", "curator"], ["loan", "book"], ["open", "mine"], ["collection", "loan_desk"]),
    ([], [], [], []),
])
def test_home_lists_the_forms_views_and_dashboards_the_roles_may_see(jimu, client, roles, forms, views, dashboards):
    install_package(jimu, LIBRARY)
    uid = make_user(jimu, "lin", roles=roles)
    sign_in(client, jimu, uid)
    html = client.get("/?lang=en").get_data(as_text=True)
    apps, got_forms, got_views, got_dashboards = _nav(html)
    assert (got_forms, got_views, got_dashboards) == (forms, views, dashboards)
    if roles:
        assert apps == ["library"] and "<h1>Library</h1>" in html
        for key in dashboards:     # each listed dashboard opens for this user
            assert client.get(f"/dashboards/{key}?app=library").status_code == 200
    else:
        assert apps == [] and "No forms you can read yet." in html
    if "loan_desk" not in dashboards:
        assert client.get("/dashboards/loan_desk?app=library").status_code == 403
    if views:
        assert ">Not returned</a>" in html and ">My loans</a>" in html
