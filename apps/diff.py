"""What an upgrade changes: the diff shown before a package is applied.

Definitions are matched by key in each kind and compared in canonical form
(``apps.export``), so restating a default is not a change. For forms present
on both sides the fields are diffed too, because the runtime evolves tables
from them: an added field adds a column, a retired one retires it (never
drops), and a changed widget (``type_changed``) may need a column type change.
Sub-table fields are diffed recursively under ``subtables``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .export import normalize_definition, normalize_field
from .migrations import DEFINITION_KINDS

_WORDS = {
    "en": {"added": "added", "changed": "changed", "retired": "retired", "type_changed": "widget changed",
           "fields": "fields", "sub-table": "sub-table", "app": "app", "no changes": "no changes",
           "new install": "installed",
           "roles": "roles", "groups": "groups", "forms": "forms", "flows": "flows", "rules": "rules",
           "reports": "reports", "dashboards": "dashboards", "templates": "templates", "calendars": "calendars"},
    "zh-CN": {"added": "新增", "changed": "修改", "retired": "停用", "type_changed": "控件类型变更",
              "fields": "字段", "sub-table": "子表", "app": "应用", "no changes": "无变更",
              "new install": "首次安装",
              "roles": "角色", "groups": "小组", "forms": "表单", "flows": "流程", "rules": "规则",
              "reports": "报表", "dashboards": "仪表盘", "templates": "模板", "calendars": "日历"},
}


@dataclass(frozen=True)
class KeyDiff:
    """Keys added, changed and retired between two lists of keyed definitions (new order first)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.retired)

    def to_dict(self) -> dict:
        return {"added": list(self.added), "changed": list(self.changed), "retired": list(self.retired)}


@dataclass(frozen=True)
class FieldDiff(KeyDiff):
    """A ``KeyDiff`` of fields; ``type_changed`` ⊆ ``changed`` lists fields whose widget changed."""

    type_changed: tuple[str, ...] = ()
    subtables: dict[str, "FieldDiff"] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {**super().to_dict(), "type_changed": list(self.type_changed)}
        if self.subtables:
            out["subtables"] = {k: v.to_dict() for k, v in self.subtables.items()}
        return out


def _keyed(items: Any) -> dict[str, dict]:
    return {item["key"]: item for item in items or [] if isinstance(item, dict) and isinstance(item.get("key"), str)}


def _key_diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple, tuple, tuple]:
    added = tuple(k for k in new if k not in old)
    changed = tuple(k for k in new if k in old and old[k] != new[k])
    retired = tuple(k for k in old if k not in new)
    return added, changed, retired


def diff_fields(old_fields: Any, new_fields: Any) -> FieldDiff:
    old = {k: normalize_field(v) for k, v in _keyed(old_fields).items()}
    new = {k: normalize_field(v) for k, v in _keyed(new_fields).items()}
    added, changed, retired = _key_diff(old, new)
    type_changed = tuple(k for k in changed if old[k].get("widget") != new[k].get("widget"))
    subtables = {}
    for key in changed:
        if key not in type_changed and new[key].get("widget") == "subtable":
            sub = diff_fields((old[key].get("config") or {}).get("fields"), (new[key].get("config") or {}).get("fields"))
            if not sub.is_empty:
                subtables[key] = sub
    return FieldDiff(added, changed, retired, type_changed, subtables)


@dataclass(frozen=True)
class PackageDiff:
    """Per kind, the definitions added, changed and retired; per changed form, its field diff."""

    kinds: dict[str, KeyDiff]
    forms: dict[str, FieldDiff]
    app_changed: bool
    old_version: str | None = None
    new_version: str | None = None
    #: what people read for each key: ``{kind: {key: label}}`` and ``{"fields": {form: {field: label}}}``
    #: (a label is a text or a ``{"zh-CN", "en"}`` map); the lines name labels, keys stay in the diff
    labels: dict[str, dict] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.app_changed and all(d.is_empty for d in self.kinds.values())

    def to_dict(self) -> dict:
        return {"app_changed": self.app_changed, "old_version": self.old_version, "new_version": self.new_version,
                "kinds": {k: d.to_dict() for k, d in self.kinds.items() if not d.is_empty},
                "forms": {k: d.to_dict() for k, d in self.forms.items()}, "labels": self.labels}

    def summary_lines(self, lang: str = "en", *, keys: bool = False) -> list[str]:
        """Human lines for the upgrade screen, in ``lang`` (zh-CN or en; others fall back to en). Each
        definition and field is named by its label in ``lang``; ``keys=True`` names the keys instead
        (the designer's "advanced" detail)."""
        words = _WORDS.get(lang) or _WORDS.get(lang.split("-")[0]) or _WORDS["en"]
        names = _Names({} if keys else self.labels, lang if lang in _WORDS else "en")
        if self.is_empty:
            return [words["no changes"]]
        lines = []
        if self.app_changed:
            if self.old_version is None:   # a first install: there is no version to come from
                lines.append(f"{words['app']} {words['new install']}: {self.new_version}")
            else:
                lines.append(f"{words['app']}: {self.old_version} → {self.new_version}")
        for kind, diff in self.kinds.items():
            for state in ("added", "changed", "retired"):
                changed = getattr(diff, state)
                if changed:
                    lines.append(f"{words[kind]} {words[state]}: {', '.join(names.of(kind, k) for k in changed)}")
        for form, fdiff in self.forms.items():
            lines += _field_lines(words, f"{words['forms']} {names.of('forms', form)}", fdiff, names.fields(form))
        return lines


class _Names:
    """Labels in one language, the key where a definition has none."""

    def __init__(self, labels: dict, lang: str):
        self.labels, self.lang = labels or {}, lang

    def text(self, value: Any, key: str) -> str:
        if isinstance(value, dict):
            value = value.get(self.lang) or value.get("zh-CN") or value.get("en") or next(iter(value.values()), None)
        return value if isinstance(value, str) and value.strip() else key

    def of(self, kind: str, key: str) -> str:
        return self.text((self.labels.get(kind) or {}).get(key), key)

    def fields(self, form: str) -> "_Names":
        return _Names({"fields": (self.labels.get("fields") or {}).get(form) or {}}, self.lang)


def _field_lines(words: dict, owner: str, diff: FieldDiff, names: _Names) -> list[str]:
    lines = []
    for state in ("added", "changed", "retired", "type_changed"):
        keys = getattr(diff, state)
        if keys:
            lines.append(f"{owner} {words['fields']} {words[state]}: {', '.join(names.of('fields', k) for k in keys)}")
    for key, sub in diff.subtables.items():
        lines += _field_lines(words, f"{owner} {words['sub-table']} {names.of('fields', key)}", sub, names)
    return lines


def _labels(old: dict, new: dict) -> dict:
    """``{kind: {key: label}}`` of both sides (the new label wins) and ``{"fields": {form: {field: label}}}``
    (sub-table fields too)."""
    out: dict[str, dict] = {}
    fields: dict[str, dict] = {}

    def walk(form_fields, into):
        for f in form_fields or []:
            if isinstance(f, dict) and isinstance(f.get("key"), str):
                if f.get("label") is not None:
                    into[f["key"]] = f["label"]
                walk((f.get("config") or {}).get("fields") if isinstance(f.get("config"), dict) else None, into)
    for side in (old, new):
        for kind in DEFINITION_KINDS:
            for key, item in _keyed(side.get(kind)).items():
                if item.get("label") is not None:
                    out.setdefault(kind, {})[key] = item["label"]
                if kind == "forms":
                    walk(item.get("fields"), fields.setdefault(key, {}))
    out["fields"] = {k: v for k, v in fields.items() if v}
    return out


def diff_packages(old: Any, new: Any) -> PackageDiff:
    """The difference between two current-format packages (dicts or ``Package`` objects)."""
    old, new = getattr(old, "data", old), getattr(new, "data", new)
    kinds: dict[str, KeyDiff] = {}
    forms: dict[str, FieldDiff] = {}
    for kind in DEFINITION_KINDS:
        old_items = {k: normalize_definition(kind, v) for k, v in _keyed(old.get(kind)).items()}
        new_items = {k: normalize_definition(kind, v) for k, v in _keyed(new.get(kind)).items()}
        kinds[kind] = KeyDiff(*_key_diff(old_items, new_items))
        if kind == "forms":
            for key in kinds[kind].changed:
                fdiff = diff_fields(old_items[key].get("fields"), new_items[key].get("fields"))
                if not fdiff.is_empty:
                    forms[key] = fdiff
    old_app, new_app = old.get("app") or {}, new.get("app") or {}
    changed = {k: [*d.added, *d.changed, *d.retired] for k, d in kinds.items()}
    labels = _labels(old, new)
    # only what the diff names: a version's stored diff stays small
    labels = {**{k: {key: v[key] for key in changed.get(k, ()) if key in v} for k, v in labels.items() if k != "fields"},
              "fields": {form: labels["fields"].get(form, {}) for form in forms}}
    return PackageDiff(kinds, forms, app_changed=old_app != new_app,
                       old_version=old_app.get("version"), new_version=new_app.get("version"),
                       labels={k: v for k, v in labels.items() if v})
