"""The designer's problems in words: each error of the compile pipeline as one sentence in the UI
language that names the object it is about ("规则 '两小时未处理提醒' 没有动作"), not a JSON pointer.

``describe(errors, package, lang)`` adds ``text`` (the sentence) and ``where`` (the object's name
alone) to every error dict; ``code`` and ``pointer`` stay for the designers, which jump to the
object, and for scripts. Names are the definitions' labels in ``lang`` (keys only where a
definition has no label). The words follow docs/glossary.md.
"""
from __future__ import annotations

import re
from typing import Any

from engines.form import label_text

#: definition kinds and their nouns
KINDS = {"forms": ("表单", "form"), "flows": ("流程", "flow"), "rules": ("规则", "rule"),
         "reports": ("报表", "report"), "dashboards": ("仪表盘", "dashboard"), "roles": ("角色", "role"),
         "groups": ("小组", "group"), "templates": ("模板", "template"), "calendars": ("日历", "calendar")}
#: properties of a definition and their words (what "has no ..." or "... is wrong" names)
PROPS = {"actions": ("动作", "actions"), "fields": ("字段", "fields"), "nodes": ("节点", "steps"),
         "edges": ("连线", "connections"), "measures": ("指标", "measures"), "dimensions": ("维度", "dimensions"),
         "options": ("选项", "options"), "label": ("名称", "name"), "key": ("标识", "key"),
         "condition": ("条件", "condition"), "trigger": ("触发条件", "trigger"), "to": ("收件人", "recipients"),
         "form": ("表单", "form"), "type": ("类型", "type"), "charts": ("图表", "charts"),
         "filters": ("筛选", "filters"), "assignee": ("处理人", "assignee"), "config": ("设置", "settings"),
         "visible_if": ("显示条件", "visible-if condition"), "required_if": ("必填条件", "required-if condition"),
         "formula": ("计算公式", "formula"), "default_expr": ("默认值公式", "default formula"),
         "subject": ("标题", "subject"), "body": ("正文", "body"), "permissions": ("权限", "permissions"),
         "members": ("成员", "members"), "layout": ("布局", "layout"), "sla": ("时限", "deadline"),
         "filter_expr": ("筛选条件", "filter condition"), "values": ("取值", "values"), "widget": ("控件", "widget")}

_ZH = 0
_EN = 1

#: code → (zh, en) sentence after the object's name; {prop} {field} {form} {name} {owner} ... from the error
PROBLEMS: dict[str, tuple[str, str]] = {
    "schema.minItems": ("没有{prop}", "has no {prop}"),
    "schema.required": ("缺少{missing}", "is missing its {missing}"),
    "schema.minLength": ("的{prop}是空的", "has an empty {prop}"),
    "schema.maxLength": ("的{prop}太长", "has a {prop} that is too long"),
    "schema.type": ("的{prop}类型不对", "has a {prop} of the wrong type"),
    "schema.enum": ("的{prop}不是可选的值之一", "has a {prop} that is not one of the choices"),
    "schema.const": ("的{prop}不是可选的值", "has a {prop} that is not allowed"),
    "schema.pattern": ("的{prop}只能用字母、数字、下划线或汉字, 且不能以数字开头",
                       "has a {prop} that may only use letters, digits, underscores or Chinese characters"),
    "schema.additionalProperties": ("有无法识别的设置", "has a setting that is not known"),
    "schema.uniqueItems": ("的{prop}有重复项", "has repeated {prop}"),
    "package.unknown_field": ("用到了不存在的字段 '{field}'", "uses the field '{field}', which does not exist"),
    "package.unknown_form": ("用到了不存在的表单 '{form}'", "uses the form '{form}', which does not exist"),
    "package.unknown_report": ("用到了不存在的报表 '{report}'", "uses the report '{report}', which does not exist"),
    "package.unknown_user": ("用到了不存在的用户 '{user}'", "names the user '{user}', who does not exist"),
    "package.unknown_role": ("用到了不存在的角色 '{role}'", "names the role '{role}', which does not exist"),
    "package.unknown_group": ("用到了不存在的小组 '{group}'", "names the group '{group}', which does not exist"),
    "package.unknown_calendar": ("用到了不存在的日历 '{calendar}'",
                                 "names the calendar '{calendar}', which does not exist"),
    "package.unknown_flow": ("用到了不存在的流程 '{flow}'", "names the flow '{flow}', which does not exist"),
    "package.unknown_node": ("用到了流程中不存在的节点 '{node}'", "names the step '{node}', which the flow does not have"),
    "package.unknown_placeholder": ("的变量 {{{field}}} 不是表单的字段",
                                    "has the variable {{{field}}}, which is not a field of the form"),
    "package.duplicate_key": ("与另一个同类对象重名, 请改名", "has the same name as another one; rename it"),
    "app.key_taken": ("与应用 '{owner}' 中的{kind_word}重名; 每个名字只属于一个应用, 请改名",
                      "has the same name as a {kind_word} of the app '{owner}'; rename it"),
    "field.reserved_key": ("的标识是系统保留的, 请改名", "has a reserved key; rename it"),
    "field.unknown_widget": ("的控件类型不存在", "has a widget type that does not exist"),
    "field.invalid_config": ("的控件设置有误", "has a widget setting that is not valid"),
    "layout.unknown_field": ("的布局放了不存在的字段 '{field}'", "places the field '{field}', which does not exist"),
    "layout.duplicate_field": ("的布局把字段 '{field}' 放了两次", "places the field '{field}' twice"),
    "form.unknown_title_field": ("的标题字段不存在", "has a title field that does not exist"),
    "form.formula_cycle": ("的计算公式互相引用, 形成了循环", "has formulas that refer to each other in a circle"),
    "expr.unknown_name": ("的条件用到了 '{name}', 它不是本表单的字段",
                          "uses '{name}', which is not a field of this form"),
    "expr.ambiguous_name": ("的条件中 '{name}' 同时是两个字段的名字 ({fields}); 请给其中一个改名",
                            "uses '{name}', the name of two fields ({fields}); rename one of them"),
    "expr.syntax": ("的条件写法有误", "has a condition that is not written correctly"),
    "expr.unknown_function": ("的条件用到了不存在的函数", "uses a function that does not exist"),
    "expr.not_allowed": ("的条件中有不允许的写法", "has a condition with something not allowed"),
    "expr.type": ("的条件中值的类型不匹配", "has a condition whose values do not match in type"),
    "flow.no_end": ("没有结束节点", "has no end step"),
    "flow.start_count": ("必须有且只有一个开始节点", "needs exactly one start step"),
    "flow.no_path": ("从开始走不到结束", "has no way from the start to the end"),
    "flow.unreachable": ("从开始走不到这里; 请用连线把它接上", "cannot be reached from the start; connect it"),
    "flow.dead_end": ("走不到结束; 请从它连一条线出去", "cannot reach the end; connect it onwards"),
    "flow.dangling_edge": ("没有连到节点上", "is not attached to a step"),
    "flow.missing_condition": ("缺少条件", "has no condition"),
    "flow.bad_condition": ("的条件有误", "has a condition that is not valid"),
    "flow.no_default_edge": ("没有默认连线; 条件都不成立时流程会停在这里", "has no default connection"),
    "flow.many_defaults": ("有多条默认连线", "has several default connections"),
    "flow.outgoing_edges": ("出去的连线数不对", "has the wrong number of outgoing connections"),
    "flow.incoming_edges": ("进来的连线数不对", "has the wrong number of incoming connections"),
    "flow.bad_assignee": ("没有处理人", "has no assignee"),
    "flow.bad_config": ("的设置有误", "has a setting that is not valid"),
    "flow.duplicate_id": ("与另一个节点或连线重名", "has the same name as another step or connection"),
    "rule.no_actions": ("没有动作", "has no actions"),
    "rule.unknown_template": ("用到了不存在的模板", "uses a template that does not exist"),
    "rule.bad_condition": ("的条件有误", "has a condition that is not valid"),
    "rule.bad_action": ("的动作设置有误", "has an action that is not set up correctly"),
    "rule.bad_trigger": ("的触发条件有误", "has a trigger that is not set up correctly"),
    "report.unknown_form": ("的表单还没有发布, 或不存在", "uses a form that is not published or does not exist"),
    "report.unknown_field": ("用到了表单中不存在的字段", "uses a field the form does not have"),
    "report.bad_aggregate_field": ("的指标不能对这种字段求和或求平均", "cannot sum or average this kind of field"),
    "report.dimension_count": ("的维度个数不适合这种图表", "has the wrong number of dimensions for this chart"),
    "report.unknown_measure": ("用到了不存在的指标", "uses a measure that does not exist"),
    "report.bad_expr": ("的公式有误", "has a formula that is not valid"),
    "dashboard.unknown_report": ("放了不存在的报表", "shows a report that does not exist"),
    "dashboard.bad_layout": ("的图表摆放超出了网格或互相重叠", "has charts off the grid or on top of each other"),
    "permission.other_app": ("属于另一个应用; 这里只能用本应用的数据", "belongs to another app; only this app's data is used"),
    "app.compile_crash": ("检查时出错了, 请简化这个定义并报告此问题", "could not be checked; simplify it and report this"),
}

#: the sentence of a problem whose code has none of its own (English keeps the engine's own words)
_FALLBACK = ("的设置有误, 请检查", "has a setting that is not valid")


def _lang_index(lang: str) -> int:
    return _EN if lang == "en" else _ZH


def _parts(ptr: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]] if ptr else []


def _name(item: Any, lang: str) -> str:
    if not isinstance(item, dict):
        return ""
    return label_text(item.get("label"), lang, "") or str(item.get("key") or item.get("id") or "")


def where(package: Any, ptr: str, lang: str) -> tuple[str, list[str]]:
    """The object a pointer is about, in words ("规则 '两小时未处理提醒'", "表单 '借阅申请' 的字段 '状态'"),
    and the pointer's parts below it."""
    i = _lang_index(lang)
    parts = _parts(ptr)
    if not parts or not isinstance(package, dict):
        return ("应用" if i == _ZH else "the app"), parts
    if parts[0] == "app":
        return ("应用" if i == _ZH else "the app"), parts[1:]
    kind = parts[0]
    items = package.get(kind)
    if kind not in KINDS or len(parts) < 2 or not isinstance(items, list) or not parts[1].isdigit() \
            or int(parts[1]) >= len(items):
        return ("应用" if i == _ZH else "the app"), parts
    item = items[int(parts[1])]
    text = f"{KINDS[kind][i]} '{_name(item, lang)}'"
    rest = parts[2:]
    # one level further where people name it: a form's field, a flow's step or connection
    if len(rest) >= 2 and rest[0] in ("fields", "nodes", "edges") and rest[1].isdigit():
        subs = item.get(rest[0]) if isinstance(item, dict) else None
        sub = subs[int(rest[1])] if isinstance(subs, list) and int(rest[1]) < len(subs) else None
        if rest[0] == "fields" and isinstance(sub, dict):
            text += (" 的字段 " if i == _ZH else ", field ") + f"'{_name(sub, lang)}'"
            rest = rest[2:]
        elif rest[0] == "nodes" and isinstance(sub, dict):
            text += (" 的节点 " if i == _ZH else ", step ") + f"'{_node_name(sub, lang)}'"
            rest = rest[2:]
        elif rest[0] == "edges" and isinstance(sub, dict):
            nodes = {n.get("id"): n for n in item.get("nodes") or [] if isinstance(n, dict)}
            a, b = (_node_name(nodes.get(sub.get(end)) or {"id": sub.get(end)}, lang) for end in ("from", "to"))
            text += (" 的连线 " if i == _ZH else ", connection ") + f"'{a} → {b}'"
            rest = rest[2:]
    elif len(rest) >= 2 and rest[1].isdigit() and rest[0] in PROPS:
        text += (f" 的第 {int(rest[1]) + 1} 个{PROPS[rest[0]][i]}" if i == _ZH
                 else f", {PROPS[rest[0]][i]} #{int(rest[1]) + 1}")
        rest = rest[2:]
    return text, rest


def _node_name(node: dict, lang: str) -> str:
    from engines.flow import FLOW_NODES
    text = label_text(node.get("label"), lang, "")
    if text:
        return text
    try:
        return label_text(dict(FLOW_NODES.get(node.get("type")).label), lang, "") or str(node.get("id") or "")
    except Exception:  # noqa: BLE001 — an unknown node type: its id is all there is
        return str(node.get("id") or "")


def _prop(rest: list[str], i: int) -> str:
    for part in reversed(rest):
        if part in PROPS:
            return PROPS[part][i]
    return "设置" if i == _ZH else "setting"


def sentence(error: dict, package: Any, lang: str) -> tuple[str, str]:
    """(the object's name, the whole sentence) of one error."""
    i = _lang_index(lang)
    obj, rest = where(package, str(error.get("pointer") or ""), lang)
    code = str(error.get("code") or "")
    template = PROBLEMS.get(code)
    values = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in error.items()
              if isinstance(v, (str, int, list))}
    values["prop"] = _prop(rest, i)
    if code == "schema.required":
        m = re.match(r"'([^']+)' is a required property", str(error.get("message") or ""))
        values["missing"] = PROPS.get(m.group(1), (m.group(1), m.group(1)))[i] if m else values["prop"]
    if code == "app.key_taken":
        values["kind_word"] = KINDS.get(f"{error.get('kind')}s", ("对象", "definition"))[i]
    if template is None:
        if i == _EN:
            return obj, f"{obj[:1].upper()}{obj[1:]}: {error.get('message') or _FALLBACK[_EN]}"
        return obj, f"{obj} {_FALLBACK[_ZH]}"
    try:
        text = template[i].format_map(_Missing(values))
    except (ValueError, IndexError):
        text = _FALLBACK[i]
    sentence_ = f"{obj} {text}"
    return obj, sentence_[:1].upper() + sentence_[1:] if i == _EN else sentence_


class _Missing(dict):
    def __missing__(self, key):
        return "?"


def describe(errors: list[dict], package: Any, lang: str, *, base: str = "") -> list[dict]:
    """Every error (copied) with ``message`` the sentence in ``lang`` and ``where`` the object's name;
    the pipeline's own English text stays in ``detail``. ``base``: the pointer the errors' pointers
    are relative to (a report previewed alone: ``/reports/0`` of ``{"reports": [definition]}``)."""
    out = []
    for error in errors or []:
        if not isinstance(error, dict):
            continue
        obj, text = sentence({**error, "pointer": base + str(error.get("pointer") or "")}, package, lang)
        out.append({**error, "where": obj, "message": text, "detail": error.get("message")})
    return out


def problem(error: dict, lang: str) -> str:
    """The sentence of one error without an object ("条件用到了 '作者', 它不是本表单的字段"): what an
    expression editor shows under the expression it checks."""
    template = PROBLEMS.get(str(error.get("code") or ""))
    if lang == "en" or template is None:  # the compiler's own words are English
        return str(error.get("message") or "") if lang == "en" else _FALLBACK[_ZH].lstrip("的")
    values = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in error.items()
              if isinstance(v, (str, int, list))}
    values["prop"] = "设置"
    text = template[_ZH].format_map(_Missing(values))
    return text[1:] if text.startswith("的") else text
