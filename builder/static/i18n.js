// The builder's zh-CN / en strings, and label() for {"zh-CN": ..., "en": ...} maps.
export const LANG = document.documentElement.lang === "en" ? "en" : "zh-CN";

const STRINGS = {
  "apps": ["应用", "Apps"], "action_install": ["新安装", "install"], "action_upgrade": ["升级", "upgrade"],
  "action_downgrade": ["降级", "downgrade"], "action_unchanged": ["无变化", "unchanged"], "new_app": ["新建应用", "New app"], "app_key": ["应用标识", "App key"],
  "app_label": ["应用名称", "App name"], "create": ["创建", "Create"], "open": ["打开", "Open"],
  "import": ["导入应用包", "Import package"], "export": ["导出", "Export"], "export_draft": ["导出草稿", "Export draft"],
  "choose_file": ["选择应用包文件 (JSON)", "Choose a package file (JSON)"], "show_diff": ["查看变更", "Show changes"],
  "apply": ["应用变更", "Apply"], "cancel": ["取消", "Cancel"], "close": ["关闭", "Close"],
  "installed": ["已发布", "Published"], "draft_only": ["仅草稿", "Draft only"], "has_draft": ["有未发布的草稿", "Unpublished draft"],
  "forms": ["表单", "Forms"], "flows": ["流程", "Flows"], "rules": ["规则", "Rules"], "reports": ["报表", "Reports"],
  "dashboards": ["仪表盘", "Dashboards"], "designer_later": ["设计器即将推出", "designer coming"],
  "new_forms": ["新建表单", "New form"], "new_flows": ["新建流程", "New flow"], "new_rules": ["新建规则", "New rule"],
  "new_reports": ["新建报表", "New report"], "new_dashboards": ["新建仪表盘", "New dashboard"],
  "noun_forms": ["表单", "Form"], "noun_flows": ["流程", "Flow"], "noun_rules": ["规则", "Rule"], "noun_reports": ["报表", "Report"],
  "noun_dashboards": ["仪表盘", "Dashboard"], "option_n": ["选项{n}", "Option {n}"],
  "item_label": ["名称", "Name"], "item_key": ["标识", "Key"], "form_label": ["表单名称", "Form name"],
  "publish": ["发布", "Publish"], "publish_confirm": ["确认发布", "Publish now"], "published": ["已发布版本 ", "Published version "],
  "versions": ["版本历史", "Versions"], "rollback": ["回滚到此版本", "Roll back to this"], "current": ["当前", "current"],
  "rollback_confirm": ["将以新版本重新发布此版本的定义, 记录数据保留。继续?", "This re-publishes that version's definitions as a new version; record data is kept. Continue?"],
  "rolled_back": ["已回滚, 新版本 ", "Rolled back; new version "],
  "diff_title": ["发布前的变更", "Changes to publish"], "no_changes": ["无变更", "No changes"],
  "compare": ["对比", "Compare"], "discard": ["放弃草稿", "Discard draft"],
  "discard_confirm": ["放弃所有未发布的修改?", "Discard every unpublished change?"],
  "save": ["保存草稿", "Save draft"], "saved": ["已保存", "Saved"], "saving": ["正在保存…", "Saving…"],
  "unsaved": ["有未保存的修改", "Unsaved changes"], "undo": ["撤销", "Undo"], "redo": ["重做", "Redo"],
  "preview": ["预览", "Preview"], "hide_preview": ["关闭预览", "Hide preview"], "palette": ["控件", "Widgets"],
  "canvas": ["画布", "Canvas"], "properties": ["属性", "Properties"], "layout": ["布局", "Layout"],
  "add_section": ["添加区块", "Add section"], "add_tabs": ["添加标签页", "Add tabs"], "add_tab": ["添加标签", "Add tab"],
  "section": ["区块", "Section"], "tabs": ["标签页", "Tabs"], "tab": ["标签", "Tab"],
  "move_up": ["上移", "Move up"], "move_down": ["下移", "Move down"], "delete": ["删除", "Delete"],
  "duplicate": ["复制", "Duplicate"], "select": ["选中", "Select"], "empty_drop": ["把控件拖到这里, 或用键盘选中控件后按 Enter", "Drop a widget here, or pick one and press Enter"],
  "add_to": ["添加到", "Add to"], "move_to": ["移动到", "Move to"], "top_level": ["表单顶层", "Top level"],
  "advanced": ["高级", "Advanced"], "key": ["字段标识", "Key"], "label_zh": ["名称 (中文)", "Label (Chinese)"], "label_en": ["名称 (英文)", "Label (English)"],
  "widget": ["控件", "Widget"], "required": ["必填", "Required"], "read_only": ["只读", "Read-only"],
  "filterable": ["可筛选", "Filterable"], "help_zh": ["帮助 (中文)", "Help (Chinese)"], "help_en": ["帮助 (英文)", "Help (English)"],
  "placeholder_zh": ["占位提示 (中文)", "Placeholder (Chinese)"], "placeholder_en": ["占位提示 (英文)", "Placeholder (English)"],
  "visible_if": ["显示条件", "Visible if"], "required_if": ["必填条件", "Required if"], "formula": ["计算公式", "Formula"],
  "default_expr": ["默认值公式", "Default expression"], "config": ["控件设置", "Widget settings"], "validation": ["校验", "Validation"],
  "row_fields": ["子表字段", "Row fields"], "add_row_field": ["添加子表字段", "Add a row field"],
  "columns": ["列数", "Columns"], "collapsed": ["默认折叠", "Collapsed"],
  "insert_field": ["插入字段…", "Insert field…"], "insert_function": ["插入函数…", "Insert function…"],
  "expr_ok": ["表达式正确", "Expression is valid"], "position": ["第 {n} 个字符", "at character {n}"],
  "no_selection": ["选中画布上的字段或区块以编辑属性", "Select a field or section on the canvas to edit it"],
  "form_props": ["表单属性", "Form properties"], "title_field": ["标题字段", "Title field"],
  "errors": ["问题", "Problems"], "fix_errors": ["请先修正以下问题", "Fix these problems first"],
  "options": ["选项", "Options"], "value": ["值", "Value"], "add_option": ["添加选项", "Add option"],
  "remove": ["移除", "Remove"], "json_hint": ["JSON", "JSON"], "bad_json": ["不是有效的 JSON", "Not valid JSON"],
  "key_locked": ["已发布的字段标识不可修改", "A published field key cannot change"],
  "conflict": ["草稿已被他人修改, 请刷新", "Someone else changed the draft; reload"],
  "added_field": ["已添加字段 ", "Added field "], "deleted": ["已删除 ", "Deleted "], "moved": ["已移动 ", "Moved "],
  "back_to_app": ["返回应用", "Back to app"], "builder": ["应用设计器", "App builder"],
  "drag_hint": ["拖动或按 Enter 添加", "Drag, or press Enter to add"], "none": ["(无)", "(none)"],
  "publish_ok": ["发布成功, 版本 ", "Published version "],
  "rename": ["重命名", "Rename"],
  "delete_refs": ["这些地方用到了它:", "These refer to it:"],
  "delete_refs_after": ["删除后, 检查会把它们一一标出, 请随后修改。", "After deleting, the check marks each of them for you to change."],
  "form_gone": ["表单的创建已撤销; 点 \"重做\" 恢复。", "Creating this form was undone; press Redo to bring it back."],
  "item_name_edit": ["名称 (点击修改)", "Name (click to edit)"],
  "delete_no_refs": ["没有其他地方用到它。", "Nothing else refers to it."], "open_runtime": ["打开运行时表单", "Open the runtime form"],
};

// A designer adds its own strings here, in its own module, so designers never edit one shared table.
export function extend(table) {
  for (const [key, pair] of Object.entries(table)) {
    if (key in STRINGS) throw new Error(`i18n: "${key}" is already defined`);
    STRINGS[key] = pair;
  }
}

export function t(key, params = {}) {
  const pair = STRINGS[key];
  let text = pair ? pair[LANG === "en" ? 1 : 0] : key;
  for (const [k, v] of Object.entries(params)) text = text.replace(`{${k}}`, v);
  return text;
}

export function label(value, fallback = "") {
  if (value && typeof value === "object") {
    return value[LANG] || value["zh-CN"] || value.en || Object.values(value)[0] || fallback;
  }
  return typeof value === "string" && value ? value : fallback;
}

// Whether ``value`` is still the name a new item of ``kind`` got in one click ("仪表盘1", "Dashboard 2"; see
// app.js nextLabel), in either language: a name nobody chose, which the designer may replace.
export function isDefaultName(kind, value) {
  const [zh, en] = STRINGS[`noun_${kind}`] || [];
  const texts = value && typeof value === "object" ? Object.values(value) : [value];
  return !!zh && texts.length > 0 && texts.every((text) => typeof text === "string"
    && (new RegExp(`^${zh}\\d+$`).test(text) || new RegExp(`^${en} \\d+$`).test(text)));
}

// A label renamed to ``text`` in the UI language: a map keeps its other language where that one differs
// (a translation); otherwise the new name is a plain string, the same in both.
export function relabel(old, text) {
  const other = LANG === "en" ? "zh-CN" : "en";
  return old && typeof old === "object" && old[other] && old[other] !== old[LANG] ? { ...old, [LANG]: text } : text;
}

// Element helper: h("button", {class: "x", onclick}, "text", child)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A closed "高级 / Advanced" detail for what a newcomer need not see (keys, raw JSON). Opened once, it
// stays open on this page through every redraw of its panel (a power user editing keys keeps it at hand).
const advancedOpen = new Set();
export function advanced(id, ...children) {
  const box = h("details", { class: "advanced", id, open: advancedOpen.has(id) }, h("summary", {}, t("advanced")), ...children);
  box.addEventListener("toggle", () => { if (box.open) advancedOpen.add(id); else advancedOpen.delete(id); });
  return box;
}

// A message for the screen reader and the eye: the page's status line.
export function announce(text) {
  const box = document.getElementById("builder-status");
  if (box) { box.textContent = ""; setTimeout(() => { box.textContent = text; }, 10); }
}
