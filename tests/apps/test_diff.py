"""Upgrade diffs: definitions and fields added, changed, retired; widget changes flagged."""
from __future__ import annotations

import copy
import json

from apps import diff_packages, load_package
from apps.diff import FieldDiff


def test_identical_packages_have_an_empty_diff(package):
    restated = copy.deepcopy(package)
    restated["forms"][0]["fields"][0]["read_only"] = False  # a restated default is no change
    diff = diff_packages(package, restated)
    assert diff.is_empty
    assert diff.summary_lines("zh-CN") == ["无变更"]


def test_forms_and_fields_added_changed_retired(package):
    new = copy.deepcopy(package)
    order = new["forms"][1]
    order["fields"][0]["label"] = {"zh-CN": "订单号", "en": "Number"}             # changed (label)
    order["fields"][2]["widget"] = "text"                                           # changed, type_changed
    del order["fields"][1]                                                          # retired 客户
    order["fields"].append({"key": "备注", "label": "备注", "widget": "text"})       # added
    order["layout"][0]["tabs"][0]["items"] = ["编号", "金额"]
    order["fields"][2]["config"]["fields"].append({"key": "单价", "label": "单价", "widget": "number"})
    new["forms"].append({"key": "invoice", "version": 1, "label": "Invoice", "fields": []})
    del new["forms"][0]
    new["templates"][0]["body"] = "hi"
    new["app"]["version"] = "1.3.0"

    diff = diff_packages(package, new)
    assert diff.kinds["forms"].to_dict() == {"added": ["invoice"], "changed": ["订单"], "retired": ["customer"]}
    assert diff.kinds["templates"].changed == ("welcome",)
    assert diff.kinds["rules"].is_empty
    fields = diff.forms["订单"]
    assert fields.added == ("备注",) and fields.retired == ("客户",)
    assert fields.changed == ("编号", "金额", "明细") and fields.type_changed == ("金额",)
    assert fields.subtables == {"明细": FieldDiff(added=("单价",))}
    assert diff.app_changed and (diff.old_version, diff.new_version) == ("1.2.0", "1.3.0")
    assert not diff.is_empty

    as_dict = diff.to_dict()
    assert as_dict["forms"]["订单"]["subtables"]["明细"]["added"] == ["单价"]
    assert "rules" not in as_dict["kinds"]

    # the lines name labels in the UI language (a retired form by its old label); keys only on request
    en = diff.summary_lines("en")
    assert "app: 1.2.0 → 1.3.0" in en
    assert "forms added: Invoice" in en
    assert "forms Order fields widget changed: 金额" in en
    assert "forms Order sub-table 明细 fields added: 单价" in en
    assert "forms retired: Customer" in en
    zh = diff.summary_lines("zh-CN")
    assert "表单 停用: 客户" in zh and "表单 订单 字段 修改: 订单号, 金额, 明细" in zh
    assert diff.summary_lines("fr") == en
    keys = diff.summary_lines("en", keys=True)
    assert "forms retired: customer" in keys and "forms added: invoice" in keys


def test_a_changed_form_without_field_changes_has_no_field_diff(package):
    new = copy.deepcopy(package)
    new["forms"][0]["label"] = "Clients"
    diff = diff_packages(package, new)
    assert diff.kinds["forms"].changed == ("customer",) and diff.forms == {}


def test_diff_accepts_loaded_packages(package):
    new = copy.deepcopy(package)
    new["groups"] = []
    diff = diff_packages(load_package(json.dumps(package)), load_package(json.dumps(new)))
    assert diff.kinds["groups"].retired == ("finance",)


def test_a_first_install_names_no_version_to_come_from():
    new = {"app": {"key": "a", "version": "1.0.0", "label": "A"}, "forms": []}
    diff = diff_packages({}, new)
    assert diff.summary_lines("zh-CN")[0] == "应用 首次安装: 1.0.0"
    assert diff.summary_lines("en")[0] == "app installed: 1.0.0"
    assert not any("None" in line for line in diff.summary_lines("en"))


def test_lines_name_labels_not_generated_keys():
    """A form and fields made in the builder carry generated keys (form_1, radio_1): the diff names them by
    their labels in the UI language, the version history (rebuilt from the stored diff) too."""
    old = {"app": {"key": "lib", "version": "1.0.0", "label": "Library"}, "forms": [
        {"key": "form_1", "version": 1, "label": {"zh-CN": "借阅", "en": "Loans"},
         "fields": [{"key": "text_1", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"}]}]}
    new = copy.deepcopy(old)
    new["forms"][0]["fields"].append({"key": "radio_1", "label": {"zh-CN": "状态", "en": "State"}, "widget": "radio"})
    new["roles"] = [{"key": "role_1", "version": 1, "label": {"zh-CN": "读者", "en": "Reader"}, "permissions": {}}]
    diff = diff_packages(old, new)
    zh = diff.summary_lines("zh-CN")
    assert zh == ["角色 新增: 读者", "表单 修改: 借阅", "表单 借阅 字段 新增: 状态"]
    assert not any(k in " ".join(zh + diff.summary_lines("en")) for k in ("form_1", "radio_1", "role_1"))
    from apps.diff import PackageDiff
    stored = diff.to_dict()
    rebuilt = PackageDiff({k: type(diff.kinds[k])(**{s: tuple(v[s]) for s in ("added", "changed", "retired")})
                           for k, v in stored["kinds"].items()}, {"form_1": diff.forms["form_1"]},
                          stored["app_changed"], labels=stored["labels"])
    assert rebuilt.summary_lines("en") == ["roles added: Reader", "forms changed: Loans", "forms Loans fields added: State"]
