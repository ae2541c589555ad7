"""Focused tests per built-in widget: what each accepts, how it coerces, and the code of each refusal."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from engines.form import WIDGETS
from engines.form.exceptions import FieldError


def w(type_name, **config):
    return WIDGETS.get(type_name)(config)


def code_of(widget, raw):
    with pytest.raises(FieldError) as info:
        widget.clean(raw)
    return info.value.code


ACCEPTS = [
    ("text", {}, "  积木  ", "积木"),
    ("textarea", {}, "a\r\nb\rc", "a\nb\nc"),
    ("number", {}, "1,234", 1234),
    ("number", {}, "1.5", 1.5),
    ("number", {"decimals": 2}, 2.675, 2.68),
    ("number", {"decimals": 0}, "2.5", 3),
    ("number", {"integer": True}, 7.0, 7),
    ("money", {}, "¥1,234.5", Decimal("1234.50")),
    ("money", {"currency": "USD"}, "12.345 USD", Decimal("12.35")),
    ("money", {}, 0.1, Decimal("0.10")),
    ("percent", {}, "12.5%", 12.5),
    ("percent", {"decimals": 1}, 33.333, 33.3),
    ("rating", {"max": 5}, "4", 4),
    ("date", {}, "2026/11/3", date(2026, 11, 3)),
    ("date", {"timezone": "Asia/Shanghai"}, "2026-11-23T20:00:00Z", date(2026, 11, 24)),
    ("datetime", {}, "2026-11-23T09:30:00+08:00", datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)),
    ("datetime", {"timezone": "Asia/Shanghai"}, "2026-11-23 09:30", datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)),
    ("datetime", {}, "2026-11-23", datetime(2026, 11, 23, tzinfo=timezone.utc)),
    ("time", {}, "9:05", "09:05"),
    ("time", {"seconds": True}, "09:05", "09:05:00"),
    ("duration", {}, "2h30m", 9000),
    ("duration", {}, "1d 2h", 93600),
    ("duration", {}, "1.5h", 5400),
    ("duration", {}, "2小时30分", 9000),
    ("duration", {}, "1:30:00", 5400),
    ("duration", {}, 90, 90),
    ("duration", {}, timedelta(minutes=2), 120),
    ("select", {"options": ["高", "中", "低"]}, "中", "中"),
    ("select", {"options": [{"value": "h", "label": {"zh-CN": "高", "en": "High"}}]}, "High", "h"),
    ("radio", {"options": ["官网", "微信"]}, {"value": "微信"}, "微信"),
    ("checkboxes", {"options": ["a", "b", "c"]}, ["b", "a", "b"], ["b", "a"]),
    ("checkboxes", {"options": ["a", "b"]}, "a", ["a"]),
    ("switch", {}, "on", True),
    ("switch", {}, "否", False),
    ("switch", {}, 0, False),
    ("email", {}, " Name.Tag+x@Example.COM ", "Name.Tag+x@example.com"),
    ("phone", {}, "138 1234-5678", "13812345678"),
    ("phone", {}, "+86 138 1234 5678", "13812345678"),
    ("phone", {"region": "intl"}, "+44 20 7946 0958", "+442079460958"),
    ("phone", {"region": "intl"}, "0044 20 7946 0958", "+442079460958"),
    ("phone", {"region": "any"}, "+8613812345678", "+8613812345678"),
    ("url", {}, "https://例子.中国/路径?q=1", "https://例子.中国/路径?q=1"),
    ("user", {}, "12", 12),
    ("user", {"multiple": True}, [3, "4", {"id": 3}], [3, 4]),
    ("group", {}, {"id": 5}, 5),
    ("link", {"form": "customer"}, {"id": "9"}, 9),
    ("link", {"form": "customer", "multiple": True}, [1, 2, 1], [1, 2]),
    ("richtext", {}, '<p onclick="x()">hi<script>alert(1)</script> <a href="javascript:alert(1)">a</a></p>',
     '<p>hi <a rel="noopener noreferrer">a</a></p>'),
    ("richtext", {"allow_images": False}, '<img src="https://x/y.png">ok', "ok"),
    ("serial", {"pattern": "GD-{yyyyMMdd}-{0000}"}, "GD-20261123-0042", "GD-20261123-0042"),
]


@pytest.mark.parametrize("type_name,config,raw,expected", ACCEPTS)
def test_accepts_and_coerces(type_name, config, raw, expected):
    value = w(type_name, **config).clean(raw)
    assert value == expected
    assert type(value) is type(expected)


REFUSES = [
    ("text", {}, ["x"], "form.invalid_text"),
    ("text", {}, "a\nb", "form.multiline_text"),
    ("text", {"max_length": 3}, "abcd", "form.too_long"),
    ("text", {"min_length": 3}, "ab", "form.too_short"),
    ("number", {}, "abc", "form.invalid_number"),
    ("number", {}, True, "form.invalid_number"),
    ("number", {}, "NaN", "form.invalid_number"),
    ("number", {}, "1e400", "form.out_of_range"),
    ("number", {}, 1e16, "form.out_of_range"),
    ("number", {"integer": True}, "1.5", "form.not_integer"),
    ("number", {"min": 0}, -1, "form.too_small"),
    ("number", {"max": 10}, 11, "form.too_large"),
    ("money", {}, "abc", "form.invalid_money"),
    ("money", {}, "1e20", "form.out_of_range"),
    ("money", {"min": 0}, "-0.01", "form.too_small"),
    ("percent", {}, "x%", "form.invalid_percent"),
    ("rating", {"max": 5}, 6, "form.invalid_rating"),
    ("rating", {"max": 5}, 2.5, "form.invalid_rating"),
    ("date", {}, "2026-02-30", "form.invalid_date"),
    ("date", {}, "tomorrow", "form.invalid_date"),
    ("date", {"min": "2026-01-01"}, "2025-12-31", "form.too_early"),
    ("date", {"max": "2026-01-01"}, "2026-01-02", "form.too_late"),
    ("datetime", {}, "yesterday", "form.invalid_datetime"),
    ("datetime", {}, 12, "form.invalid_datetime"),
    ("datetime", {"min": "2026-01-01T00:00:00Z"}, "2025-12-31T23:59:59Z", "form.too_early"),
    ("time", {}, "25:00", "form.invalid_time"),
    ("time", {}, "9h", "form.invalid_time"),
    ("time", {"min": "08:00"}, "07:59", "form.too_early"),
    ("duration", {}, "2x", "form.invalid_duration"),
    ("duration", {}, -5, "form.invalid_duration"),
    ("duration", {}, "h2", "form.invalid_duration"),
    ("duration", {"max": "8h"}, "9h", "form.too_long"),
    ("select", {"options": ["高", "中", "低"]}, "特急", "form.invalid_choice"),
    ("select", {"options": ["1", "2"]}, True, "form.invalid_choice"),
    ("radio", {"options": ["a"]}, ["a"], "form.invalid_choice"),
    ("checkboxes", {"options": ["a", "b"]}, ["a", "z"], "form.invalid_choice"),
    ("checkboxes", {"options": ["a", "b", "c"], "max_selected": 2}, ["a", "b", "c"], "form.too_many_choices"),
    ("checkboxes", {"options": ["a", "b", "c"], "min_selected": 2}, ["a"], "form.too_few_choices"),
    ("switch", {}, "maybe", "form.invalid_bool"),
    ("switch", {}, 2, "form.invalid_bool"),
    ("email", {}, "not-an-email", "form.invalid_email"),
    ("email", {}, "a@b", "form.invalid_email"),
    ("email", {}, "a b@example.com", "form.invalid_email"),
    ("email", {}, "x" * 65 + "@example.com", "form.invalid_email"),
    ("phone", {}, "12812345678", "form.invalid_phone"),
    ("phone", {}, "1381234567", "form.invalid_phone"),
    ("phone", {}, "+442079460958", "form.invalid_phone"),
    ("phone", {"region": "intl"}, "13812345678", "form.invalid_phone"),
    ("phone", {"region": "intl"}, "+0123456789", "form.invalid_phone"),
    ("url", {}, "ftp://example.com/x", "form.invalid_url"),
    ("url", {}, "javascript:alert(1)", "form.invalid_url"),
    ("url", {}, "https://", "form.invalid_url"),
    ("url", {}, "example.com", "form.invalid_url"),
    ("url", {}, "https://exa mple.com", "form.invalid_url"),
    ("user", {}, 0, "form.invalid_user"),
    ("user", {}, "bob", "form.invalid_user"),
    ("group", {"multiple": True}, [1, -2], "form.invalid_group"),
    ("link", {"form": "c"}, 1.5, "form.invalid_link"),
    ("link", {"form": "c"}, True, "form.invalid_link"),
    ("subtable", {"fields": [{"key": "a", "widget": "text"}]}, "rows", "form.invalid_rows"),
    ("subtable", {"fields": [{"key": "a", "widget": "text"}], "max_rows": 1}, [{}, {}], "form.too_many_rows"),
    ("serial", {"pattern": "GD-{yyyyMMdd}-{0000}"}, "GD-x-1", "form.invalid_serial"),
]


@pytest.mark.parametrize("type_name,config,raw,code", REFUSES)
def test_refuses_with_a_code(type_name, config, raw, code):
    widget = w(type_name, **config)
    with pytest.raises(FieldError) as info:
        widget.clean(raw)
    assert info.value.code == code
    assert " / " in info.value.message, "messages carry English and Chinese"


@pytest.mark.parametrize("type_name,config,raw", [(t, c, r) for t, c, r, _ in ACCEPTS]
                         + [(t, c, r) for t, c, r, _ in REFUSES])
def test_the_compiled_fast_path_agrees_with_clean(type_name, config, raw):
    widget = w(type_name, **config)
    fast = widget.compile_clean()
    try:
        expected = ("ok", widget.clean(raw))
    except FieldError as exc:
        expected = ("error", exc.code)
    try:
        got = ("ok", fast(raw))
    except FieldError as exc:
        got = ("error", exc.code)
    assert got == expected


def test_fast_paths_agree_on_near_misses():
    cases = {
        "text": ["a", " a ", "a\n", "", "x" * 101], "email": ["a@example.com", "a@Example.com", "a@example.com\n"],
        "phone": ["13812345678", "13812345678\n", "+8613812345678"], "url": ["https://x.y/a b", "HTTPS://x.y", "https://x.y\n"],
        "date": ["2026-11-23", "2026-11-31", "2026-1a-23"], "datetime": ["2026-11-23T09:30:00Z", "2026-11-23T09:30:00.5+08:00",
                                                                         "2026-11-23T09:30:00"],
        "number": [1, 10 ** 15, -10 ** 15, 1.5, float("inf")], "money": [1.005, 10 ** 13, float("nan"), -1],
        "rating": [0, 1, 5, 6], "switch": [True, 1, "true"],
    }
    for type_name, raws in cases.items():
        widget = w(type_name, **WIDGETS.get(type_name).example_field()["config"])
        fast = widget.compile_clean()
        for raw in raws:
            outcomes = []
            for fn in (widget.clean, fast):
                try:
                    value = fn(raw)
                    outcomes.append(("ok", value, str(value)))
                except FieldError as exc:
                    outcomes.append(("error", exc.code))
            assert outcomes[0] == outcomes[1], (type_name, raw, outcomes)


def test_serial_period_and_format_follow_runtime_serials():
    serial = w("serial", pattern="GD-{yyyyMMdd}-{0000}", timezone="Asia/Shanghai")
    now = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)  # 01:00 the next day in Shanghai
    assert serial.period_key(now) == "20261124"
    assert serial.format_serial(now, 7) == "GD-20261124-0007"
    assert serial.format_serial(now, 12345) == "GD-20261124-12345"
    forever = w("serial", pattern="T{000}")
    assert forever.period_key(now) == "" and forever.format_serial(now, 5) == "T005"
    monthly = w("serial", pattern="{yyyy}/{MM}-{0000}")
    assert monthly.period_key(now) == "2026-11"
    assert monthly.clean(monthly.format_serial(now, 1)) == "2026/11-0001"
    literal_percent = w("serial", pattern="100%-{0000}")
    assert literal_percent.format_serial(now, 2) == "100%-0002"


def test_formula_widget_types_its_result():
    assert w("formula", result="number", decimals=1).clean(10 / 3) == 3.3
    assert w("formula", result="date").clean(date(2026, 1, 2)) == date(2026, 1, 2)
    assert w("formula", result="text").clean(12) == "12"
    assert w("formula", result="bool").clean(True) is True
    assert w("formula", result="date").value_kind == "date"


def test_system_widgets_store_nothing_and_name_their_column():
    for type_name in ("created_at", "created_by", "updated_at", "updated_by"):
        widget = w(type_name)
        assert widget.storage == "none" and widget.computed and widget.source == type_name


def test_duration_text_round_trips():
    from engines.form.widgets.temporal import format_duration, parse_duration
    for seconds in (0, 1, 59, 60, 3600, 9000, 93784):
        assert parse_duration(format_duration(seconds)) == seconds


def test_file_refs_are_checked_for_shape_count_type_and_size():
    files = w("attachment", max_files=2, max_size=100, accept=[".pdf", "image/*"])
    ok = {"id": "a" * 32, "name": "报告.pdf", "size": 10, "type": "application/pdf"}
    assert files.clean([ok]) == [ok]
    assert files.clean(__import__("json").dumps([ok])) == [ok]
    assert code_of(files, [{**ok, "id": "../../etc/passwd"}]) == "form.invalid_file"
    assert code_of(files, [{**ok, "name": "a/b.pdf"}]) == "form.invalid_file"
    assert code_of(files, [{**ok, "size": 101}]) == "form.file_too_large"
    assert code_of(files, [{**ok, "name": "x.exe", "type": "application/x-msdownload"}]) == "form.file_type"
    assert code_of(files, [ok, {**ok, "id": "b" * 32}, {**ok, "id": "c" * 32}]) == "form.too_many_files"
    assert code_of(files, [{"upload": object()}]) == "form.upload_not_saved"
    image = w("image")
    assert code_of(image, [{**ok, "type": "application/pdf"}]) == "form.file_type"
    assert image.clean([{**ok, "name": "a.png", "type": "image/png"}])[0]["type"] == "image/png"


def test_formdata_readers():
    from werkzeug.datastructures import FileStorage, MultiDict
    import io
    form = MultiDict([("tags", "a"), ("tags", "b"), ("ok", "false"), ("ok", "true"), ("off", "false"),
                      ("files", '{"id": "%s", "name": "a.pdf", "size": 1, "type": "application/pdf"}' % ("a" * 32))])
    files = MultiDict([("files", FileStorage(io.BytesIO(b"x"), filename="new.pdf", content_type="application/pdf"))])
    assert w("checkboxes", options=["a", "b"]).value_from_formdata(form, files, "tags") == ["a", "b"]
    switch = w("switch")
    assert switch.clean(switch.value_from_formdata(form, files, "ok")) is True
    assert switch.clean(switch.value_from_formdata(form, files, "off")) is False
    raw = w("attachment").value_from_formdata(form, files, "files")
    assert raw[0]["id"] == "a" * 32 and raw[1]["upload"].filename == "new.pdf"
