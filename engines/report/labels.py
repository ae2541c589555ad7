"""Bilingual labels: a plain string, or a ``{"zh-CN": ..., "en": ...}`` map."""
from __future__ import annotations

from typing import Any

DEFAULT_LANG = "zh-CN"


def localize(label: Any, lang: str = DEFAULT_LANG, fallback: str = "") -> str:
    """The label in ``lang``, else zh-CN, else en, else any; ``fallback`` when there is none."""
    if isinstance(label, str):
        return label
    if isinstance(label, dict) and label:
        for tag in (lang, lang.split("-")[0], DEFAULT_LANG, "en"):
            text = label.get(tag)
            if isinstance(text, str):
                return text
        return str(next(iter(label.values())))
    return fallback


#: words the engine itself shows, per language
TEXT = {
    "zh-CN": {"empty": "暂无数据", "others": "其他", "blank": "(空)", "previous": "上期", "change": "环比",
              "true": "是", "false": "否", "total": "合计", "partial": "进行中", "partial_note": "本期未结束",
              "id": "编号", "created_at": "创建时间", "updated_at": "更新时间", "created_by": "创建人",
              "updated_by": "更新人"},
    "en": {"empty": "No data", "others": "Others", "blank": "(empty)", "previous": "previous period",
           "change": "change", "true": "Yes", "false": "No", "total": "Total", "partial": "in progress",
           "partial_note": "period not over", "id": "ID", "created_at": "Created", "updated_at": "Updated",
           "created_by": "Created by", "updated_by": "Updated by"},
}


def text(word: str, lang: str) -> str:
    return TEXT.get(lang, TEXT.get(lang.split("-")[0], TEXT[DEFAULT_LANG])).get(word) or TEXT[DEFAULT_LANG][word]


_WEEKDAYS = (("周一", "Mon"), ("周二", "Tue"), ("周三", "Wed"), ("周四", "Thu"), ("周五", "Fri"), ("周六", "Sat"),
             ("周日", "Sun"))
#: how the values of the cyclic date buckets read (the SQL gives ISO numbers, which sort right)
CYCLIC_LABELS = {
    "weekday": {str(i + 1): {"zh-CN": zh, "en": en} for i, (zh, en) in enumerate(_WEEKDAYS)},
    "hour_of_day": {f"{h:02d}": f"{h:02d}:00" for h in range(24)},
}


#: the fields every form has, named by the engine
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "created_by", "updated_by")


def field_name(field: Any, lang: str) -> str:
    """How a resolved field reads in ``lang``: its own label, a system field's name, else its key
    (``t.created_at`` reads as the joined form's 'Created')."""
    named = localize(getattr(field, "label", None), lang)
    if named:
        return named
    key = field.ref.rpartition(".")[2]
    return text(key, lang) if key in SYSTEM_FIELDS else field.ref
