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
              "true": "是", "false": "否", "total": "合计"},
    "en": {"empty": "No data", "others": "Others", "blank": "(empty)", "previous": "previous period",
           "change": "change", "true": "Yes", "false": "No", "total": "Total"},
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
