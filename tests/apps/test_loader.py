"""Reading packages: every source type, bounded size and depth, coded syntax errors."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from apps import Package, PackageError, load_package
from apps.loader import nesting_depth


def _json(package: dict) -> str:
    return json.dumps(package, ensure_ascii=False)


class EndlessStream:
    """A binary stream that never ends, without holding more than one chunk."""

    def __init__(self):
        self.served = 0

    def read(self, n: int = -1) -> bytes:
        n = 2**16 if n is None or n < 0 else n
        self.served += n
        return b" " * n


def test_load_from_str_bytes_path_and_streams(package, tmp_path):
    text = _json(package)
    path = tmp_path / "app.json"
    path.write_text(text, encoding="utf-8")
    sources = [text, text.encode(), bytearray(text.encode()), path, io.BytesIO(text.encode()), io.StringIO(text),
               ("\ufeff" + text).encode("utf-8")]
    for source in sources:
        pkg = load_package(source)
        assert isinstance(pkg, Package)
        assert (pkg.key, pkg.version, pkg.format_version) == ("crm", "1.2.0", 2)


def test_package_exposes_definitions_by_key_in_document_order(package):
    pkg = load_package(_json(package))
    assert list(pkg.forms) == ["customer", "订单"]
    assert pkg.forms["订单"]["fields"][0]["key"] == "编号"
    assert list(pkg.roles) == ["agent"] and list(pkg.groups) == ["finance"]
    assert list(pkg.rules) == ["vip_order"] and list(pkg.reports) == ["by_customer"]
    assert list(pkg.dashboards) == ["overview"] and list(pkg.templates) == ["welcome"]
    assert pkg.flows == {} and pkg.calendars == {}
    assert pkg.app["label"]["zh-CN"] == "客户管理"


def test_sparse_gigabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(2**30)
    started = time.perf_counter()
    with pytest.raises(PackageError) as info:
        load_package(path)
    assert time.perf_counter() - started < 1
    assert info.value.code == "package.too_large" and info.value.status == 413
    assert info.value.errors[0]["size"] == 2**30


def test_endless_stream_is_cut_at_the_limit():
    stream = EndlessStream()
    with pytest.raises(PackageError) as info:
        load_package(stream, max_bytes=5 * 2**20)
    assert info.value.code == "package.too_large"
    assert stream.served <= 5 * 2**20 + 2**20  # at most one chunk past the limit


def test_oversized_bytes_and_text_are_refused():
    for source in (b" " * 101, " " * 101):
        with pytest.raises(PackageError) as info:
            load_package(source, max_bytes=100)
        assert info.value.errors[0]["code"] == "package.too_large"


def test_nesting_bomb_is_refused_before_parsing():
    started = time.perf_counter()
    with pytest.raises(PackageError) as info:
        load_package(b"[" * 2**20)
    assert time.perf_counter() - started < 2
    assert info.value.code == "package.too_deep"
    assert info.value.errors[0]["limit"] == 64


def test_nesting_limit_is_configurable(package):
    text = _json(package)
    with pytest.raises(PackageError) as info:
        load_package(text, max_depth=3)
    assert info.value.code == "package.too_deep"
    assert load_package(text, max_depth=nesting_depth(text.encode())).key == "crm"


@pytest.mark.parametrize("text, depth", [
    ("{}", 1), ("[[], {}]", 2), ('{"a": [{"b": []}]}', 4), ('"[[[["', 0), ('["[", "]]]]"]', 1),
    (r'["\"[[[", 1]', 1), (r'["\\", [[]]]', 3), (r'["a\\\"[[["]', 1), ("3", 0),
])
def test_nesting_depth_ignores_brackets_in_strings(text, depth):
    assert nesting_depth(text.encode()) == depth


def test_invalid_json_reports_line_and_column():
    with pytest.raises(PackageError) as info:
        load_package('{\n  "format": "jimu.app",\n  "version": 2,\n}')
    error = info.value.errors[0]
    assert info.value.code == error["code"] == "package.json"
    assert (error["line"], error["column"]) == (4, 1)
    assert "line 4 column 1" in error["message"]


def test_not_utf8_and_not_an_object_are_coded():
    with pytest.raises(PackageError) as info:
        load_package(b'{"a": "\xff"}')
    assert info.value.code == "package.encoding"
    with pytest.raises(PackageError) as info:
        load_package(b"[1, 2]")
    assert info.value.code == "package.not_object"


def test_huge_integer_literal_is_a_json_error():
    with pytest.raises(PackageError) as info:
        load_package(b'{"version": ' + b"9" * 5000 + b"}")
    assert info.value.code == "package.json"


def test_missing_file_is_a_coded_error(tmp_path):
    with pytest.raises(PackageError) as info:
        load_package(tmp_path / "nope.json")
    assert info.value.code == "package.unreadable"


def test_a_path_given_as_str_is_json_text_and_the_error_says_so(tmp_path):
    with pytest.raises(PackageError) as info:
        load_package(str(tmp_path / "app.json"))
    assert info.value.code == "package.json" and "pathlib.Path" in info.value.message


def test_unsupported_source_type_is_a_programming_error():
    with pytest.raises(TypeError):
        load_package(42)


def test_old_package_is_migrated_on_load(package):
    old = json.loads(_json(package))
    old["version"] = 1
    for form in old["forms"]:
        form["name"] = form.pop("label")
        del form["version"]
        for field in form["fields"]:
            field["name"], field["type"] = field.pop("label"), field.pop("widget")
    pkg = load_package(_json(old))
    assert pkg.format_version == 2
    assert pkg.forms["订单"]["fields"][3]["config"]["fields"][0]["widget"] == "text"


def test_too_new_package_is_refused(package):
    package["version"] = 99
    with pytest.raises(PackageError) as info:
        load_package(_json(package))
    assert info.value.code == "package.version_too_new"


def test_invalid_package_raises_with_every_error(package):
    package["forms"][0]["title_field"] = "missing"
    package["groups"][0]["lead"] = 7
    with pytest.raises(PackageError) as info:
        load_package(_json(package))
    assert info.value.code == "package.invalid" and info.value.status == 422
    assert {e["pointer"] for e in info.value.errors} == {"/forms/0/title_field", "/groups/0/lead"}
    assert info.value.to_dict()["errors"] == info.value.errors


def test_loading_a_file_written_by_the_examples_directory_if_present():
    example = Path(__file__).resolve().parents[2] / "examples" / "customer_service.json"
    if not example.exists():
        pytest.skip("examples/customer_service.json not written yet")
    assert load_package(example).forms


def test_repeated_property_in_one_object_is_an_error_not_last_one_wins():
    text = '{"format": "jimu.app", "version": 2, "app": {"key": "a", "key": "b", "version": "1.0.0", "label": "A"},' \
           ' "forms": [], "forms": []}'
    with pytest.raises(PackageError) as info:
        load_package(text)
    assert info.value.code == "package.duplicate_json_key"
    assert [e["key"] for e in info.value.errors] == ["key", "forms"]
