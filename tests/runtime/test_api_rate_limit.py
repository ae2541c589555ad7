"""The API's rate limit (issue #14, item 4): ``API_RATE_LIMIT`` requests per window per token,
``API_RATE_LIMIT_ANONYMOUS`` per address without one; 429 with ``Retry-After`` beyond it. Tried on a
small library app; the counters live in the database, so two app processes on one database share them
(the old main answered every request, however many)."""
from __future__ import annotations

import pytest

from tests.conftest import api_token, install_package, make_user

LIBRARY = {"format": "jimu.app", "version": 2, "app": {"key": "library", "version": "1.0.0", "label": "Library"},
           "forms": [{"key": "book", "version": 1, "label": "Book", "title_field": "title",
                      "fields": [{"key": "title", "label": "Title", "widget": "text", "required": True}]}]}
URL = "/api/v1/forms/book/records"


@pytest.fixture
def limited(jimu, monkeypatch):
    install_package(jimu, LIBRARY)
    monkeypatch.setitem(jimu.config, "API_RATE_LIMIT", 3)
    monkeypatch.setitem(jimu.config, "API_RATE_LIMIT_ANONYMOUS", 2)
    monkeypatch.setitem(jimu.config, "API_RATE_WINDOW_SECONDS", 60)
    return jimu


def _bearer(jimu, name):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, name, admin=True))}"}


def test_a_token_over_its_limit_gets_429_with_retry_after_until_the_window_ends(limited, client, clock):
    h = _bearer(limited, "sync-bot")
    answers = [client.get(URL, headers=h) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    clock.advance(seconds=15)
    refused = client.post(URL, headers=h, json={"title": "Dune"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.get_json()["error"]["code"] == "api.rate_limited"
    other = _bearer(limited, "other-bot")           # the limit is per token
    assert client.get(URL, headers=other).status_code == 200
    clock.advance(seconds=45)                        # a new window
    assert client.post(URL, headers=h, json={"title": "Dune"}).status_code == 201
    assert client.get(URL, headers=h).get_json()["total"] == 1  # the refused POST wrote nothing


def test_anonymous_requests_are_counted_per_address(limited, client):
    def anon(addr):
        return client.get(URL, environ_base={"REMOTE_ADDR": addr})
    assert [anon("198.51.100.7").status_code for _ in range(2)] == [401, 401]
    r = anon("198.51.100.7")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 60
    assert anon("203.0.113.9").status_code == 401   # another address has its own count


def test_two_processes_on_one_database_share_the_count(limited, app, client, db_url, tmp_path):
    """A second app (another web process) on the same database sees the first one's requests."""
    from runtime.app import create_app
    h = _bearer(limited, "sync-bot")
    second = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret",
                         "CLOCK": app.config["CLOCK"],
                         "UPLOAD_DIR": str(tmp_path / "files"), "API_RATE_LIMIT": 3})
    try:
        other = second.test_client()
        assert client.get(URL, headers=h).status_code == 200
        assert other.get(URL, headers=h).status_code == 200
        assert client.get(URL, headers=h).status_code == 200
        assert other.get(URL, headers=h).status_code == 429
    finally:
        second.extensions["jimu"].dispose()


def test_the_limit_is_off_by_default_and_a_bad_setting_stops_the_start(jimu, client, db_url, tmp_path):
    install_package(jimu, LIBRARY)
    h = _bearer(jimu, "sync-bot")
    assert all(client.get(URL, headers=h).status_code == 200 for _ in range(30))
    assert "RateLimit-Limit" not in client.get(URL, headers=h).headers
    from runtime.app import create_app
    with pytest.raises(ValueError, match="API_RATE_LIMIT"):
        create_app({"DATABASE_URL": db_url, "SECRET_KEY": "x", "API_RATE_LIMIT": "lots",
                    "UPLOAD_DIR": str(tmp_path / "f")})
