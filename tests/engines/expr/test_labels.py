"""Names, not keys: expressions typed with field labels are stored with keys and shown with labels."""
import pytest

from engines.expr import ExprAmbiguousName, compile_expr, to_keys, to_labels
from engines.expr.labels import source_position

FIELDS = [("radio_1", {"zh-CN": "问题类型", "en": "Issue type"}), ("text_1", "客户名称"),
          ("amount", {"zh-CN": "金额", "en": "Amount"}), ("link_1", "客户")]


def test_labels_are_stored_as_keys_and_strings_are_left_alone():
    stored = to_keys('问题类型 == "其他" and 客户名称 != "问题类型"', FIELDS)
    assert stored == 'radio_1 == "其他" and text_1 != "问题类型"'
    assert compile_expr(stored, allowed_names={k for k, _ in FIELDS}).names == {"radio_1", "text_1"}


def test_every_language_label_works_and_the_longest_label_wins():
    assert to_keys('Issue type == "x" and Amount > 3', FIELDS) == 'radio_1 == "x" and amount > 3'
    # 客户名称 is not 客户 followed by 名称; after "." is the linked form's name, not this form's
    assert to_keys("客户名称 + 客户.金额", FIELDS) == "text_1 + link_1.金额"


def test_keys_stay_keys_and_functions_stay_functions():
    fields = FIELDS + [("len_field", "len")]
    assert to_keys("radio_1 == 'a' and len(客户名称) > 2 and len > 1", fields) == \
        "radio_1 == 'a' and len(text_1) > 2 and len_field > 1"


def test_renaming_a_label_rewrites_nothing():
    stored = to_keys('问题类型 == "其他"', FIELDS)
    renamed = [("radio_1", "工单类别")] + FIELDS[1:]
    assert to_keys(stored, renamed) == stored
    assert to_labels(stored, renamed) == '工单类别 == "其他"'


def test_stored_keys_are_shown_as_labels_in_the_readers_language():
    assert to_labels('radio_1 == "其他" and amount > 1', FIELDS) == '问题类型 == "其他" and 金额 > 1'
    assert to_labels('radio_1 == "其他"', FIELDS, "en") == 'Issue type == "其他"'
    assert to_labels('"radio_1" == radio_1', FIELDS) == '"radio_1" == 问题类型'


def test_a_label_two_fields_share_is_refused_naming_both():
    fields = FIELDS + [("select_2", "问题类型")]
    with pytest.raises(ExprAmbiguousName) as err:
        to_keys('问题类型 == "其他"', fields)
    assert err.value.code == "expr.ambiguous_name"
    assert set(err.value.context["fields"]) == {"radio_1", "select_2"}
    assert "radio_1" in err.value.message and "select_2" in err.value.message
    assert err.value.position == 1
    # shown with keys, since the label would not read back as one field
    assert to_labels('radio_1 == "其他"', fields) == 'radio_1 == "其他"'


def test_a_label_that_is_another_fields_key_is_refused():
    fields = [("状态", "处理状态"), ("status2", "状态")]
    with pytest.raises(ExprAmbiguousName) as err:
        to_keys('状态 == "新建"', fields)
    assert set(err.value.context["fields"]) == {"状态", "status2"}


def test_an_error_position_points_at_what_was_typed():
    typed = '问题类型 == "其他" and 不存在 > 1'
    stored = to_keys(typed, FIELDS)
    at = stored.index("不存在") + 1
    assert source_position(typed, FIELDS, at) == typed.index("不存在") + 1
