"""Save-time URL checks (every spelling of a private address) and cron parsing."""
from datetime import datetime, timezone

import pytest

from engines.rule.cron import CronError, parse_cron
from engines.rule.urls import UnsafeURL, check_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://127.1/hook", "http://2130706433/hook", "http://0x7f.0.0.1/",
    "http://0177.0.0.1/", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://192.168.0.1:8080/",
    "http://172.16.0.1/", "http://0.0.0.0/", "http://[::]/", "http://[fc00::1]/", "http://100.64.0.1/",
])
def test_private_addresses_are_refused_in_every_spelling(url):
    with pytest.raises(UnsafeURL) as exc:
        check_url(url)
    assert exc.value.code == "url.private_address"


@pytest.mark.parametrize("url,code", [("ftp://example.com/", "url.bad_scheme"), ("file:///etc/passwd", "url.bad_scheme"),
                                      ("http://user:pw@example.com/", "url.credentials"), ("http:///x", "url.unsafe")])
def test_bad_urls(url, code):
    with pytest.raises(UnsafeURL) as exc:
        check_url(url)
    assert exc.value.code == code


def test_allowlist_and_public_hosts():
    assert check_url("http://127.0.0.1:8000/h", ["127.0.0.1"]) == ("http", "127.0.0.1", 8000)
    assert check_url("https://oapi.dingtalk.com/robot/send") == ("https", "oapi.dingtalk.com", 443)
    with pytest.raises(UnsafeURL):
        check_url("http://127.0.0.2/", ["127.0.0.1"])


def test_cron():
    c = parse_cron("*/15 9-17 * * 1-5")
    t = datetime(2026, 11, 6, 17, 50, tzinfo=timezone.utc)  # a Friday after the last slot
    assert c.next_after(t) == datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)
    assert c.next_after(datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)) == datetime(2026, 11, 9, 9, 15,
                                                                                      tzinfo=timezone.utc)
    assert parse_cron("0 0 1 * *").next_after(t) == datetime(2026, 12, 1, tzinfo=timezone.utc)
    for bad in ("* * * *", "a * * * *", "0 24 * * *", "*/0 * * * *"):
        with pytest.raises(CronError):
            parse_cron(bad)
