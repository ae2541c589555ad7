// Property controls generated from a JSON Schema (a widget's config_schema; later node types,
// rule actions and chart types): strings, numbers, booleans, enums, label maps, option lists;
// anything else is edited as JSON. Each control calls onChange(key, valueOrUndefined).
import { t, h, label, LANG, extend } from "./i18n.js";
import { HELP_ZH, ENUM_TEXT } from "./schema-help.js";

// Property names the platform's widgets use, in both languages (a plugin's own
// properties fall back to their schema title or key, with the description as help).
const NAMES = {
  options: ["选项", "Options"], max_length: ["最多字符", "Max length"], min_length: ["最少字符", "Min length"],
  min: ["最小值", "Minimum"], max: ["最大值", "Maximum"], decimals: ["小数位", "Decimals"], rows: ["行数", "Rows"],
  multiple: ["多选", "Multiple"], form: ["关联表单", "Linked form"], display_field: ["显示字段", "Display field"],
  currency: ["币种", "Currency"], timezone: ["时区", "Time zone"], unit: ["单位", "Unit"], region: ["地区", "Region"],
  max_files: ["最多文件数", "Max files"], max_size: ["单个文件上限 (字节)", "Max file size (bytes)"],
  accept: ["允许的类型", "Accepted types"], pattern: ["格式", "Pattern"], result: ["结果类型", "Result type"],
  on_label: ["开启文字", "On label"], off_label: ["关闭文字", "Off label"], seconds: ["包含秒", "Seconds"],
  allow_images: ["允许图片", "Allow images"], max_rows: ["最多行数", "Max rows"], min_rows: ["最少行数", "Min rows"], fields: ["子表字段", "Row fields"],
  default_current_user: ["默认当前用户", "Default to current user"], unique: ["不可重复", "Unique"],
  message: ["校验失败提示", "Message when it fails"], roles: ["限定角色", "Roles"], step: ["步长", "Step"],
  layout: ["排列", "Layout"], other: ["允许其他", "Allow other"], prefix: ["前缀", "Prefix"], suffix: ["后缀", "Suffix"],
  inline: ["排成一行", "In one row"], integer: ["只允许整数", "Whole numbers only"], filter: ["筛选条件", "Filter"],
  max_selected: ["最多勾选", "Most ticked"], min_selected: ["最少勾选", "Fewest ticked"], palette: ["可选颜色", "Colours"],
  search_fields: ["搜索字段", "Search fields"], searchable: ["按搜索选择", "Search to pick"],
};

// The help under a control: the schema's own {"zh-CN", "en"} map ("x-description"), else its English
// description — in Chinese from the table of the built-in registries' descriptions when it has one.
export function helpText(schema) {
  if (!schema) return "";
  if (schema["x-description"]) return label(schema["x-description"], schema.description || "");
  const text = schema.description || "";
  return LANG === "en" ? text : (HELP_ZH[text] || text);
}

export function propLabel(key, schema) {
  if (schema && schema["x-label"]) return label(schema["x-label"], key);
  const pair = NAMES[key];
  if (pair) return pair[document.documentElement.lang === "en" ? 1 : 0];
  return (schema && schema.title) || key;
}

let uid = 0;
const nextId = (k) => `cfg-${k}-${++uid}`.replace(/[^\w-]/g, "_");

function isLabelSchema(s) {
  const alts = s.oneOf || s.anyOf;
  return Array.isArray(alts) && alts.some((a) => a.type === "string") && alts.some((a) => a.type === "object") && !s.items;
}

function isOptionList(s) {
  if (s.type !== "array" || !s.items) return false;
  const alts = s.items.oneOf || s.items.anyOf || [s.items];
  return alts.some((a) => a.type === "object" && a.properties && a.properties.value) || (s.items.type === "string" && s.items.enum === undefined);
}

function types(s) { return Array.isArray(s.type) ? s.type : s.type ? [s.type] : []; }

// ``choices``: property name → [[value, text], ...] offered as a select (e.g. the forms of the
// app for a link's ``form``), for properties whose schema only says "a string".
export function schemaForm(schema, value, onChange, { exclude = [], choices = {} } = {}) {
  const box = h("div", { class: "schema-form" });
  const props = (schema && schema.properties) || {};
  for (const [key, s] of Object.entries(props)) {
    if (exclude.includes(key)) continue;
    const current = value ? value[key] : undefined;
    const set = (v) => onChange(key, v);
    box.append(choices[key] ? choiceControl(key, s || {}, current, set, choices[key]) : control(key, s || {}, current, set));
  }
  return box;
}

function choiceControl(key, s, current, set, options) {
  const id = nextId(key);
  const select = h("select", { id, onchange: () => set(select.value === "" ? undefined : select.value) },
    h("option", { value: "" }, t("none")),
    ...options.map(([v, text]) => h("option", { value: v, selected: current === v }, text)));
  if (current !== undefined && !options.some(([v]) => v === current)) select.append(h("option", { value: current, selected: true }, `${current} ?`));
  return h("div", { class: "prop" }, h("label", { for: id }, propLabel(key, s)), select, help(s, helpText(s) ? `${id}-help` : undefined));
}

function enumText(key, value) {
  const pair = ENUM_TEXT[`${key}:${value}`];
  return pair ? pair[LANG === "en" ? 1 : 0] : String(value);
}

function help(s, id) {
  const text = helpText(s);
  return text ? h("small", { class: "help", id }, text) : null;
}

function control(key, s, current, set) {
  const id = nextId(key);
  const name = propLabel(key, s);
  const describedBy = helpText(s) ? `${id}-help` : undefined;
  const ts = types(s);
  const enumValues = s.enum || (s.items && undefined);
  if (enumValues) {
    const select = h("select", { id, "aria-describedby": describedBy, onchange: () => set(select.value === "" ? undefined : JSON.parse(select.value)) },
      h("option", { value: "" }, s.default !== undefined ? `${t("none")} = ${s.default}` : t("none")),
      ...enumValues.map((v) => h("option", { value: JSON.stringify(v), selected: current === v }, enumText(key, v))));
    return h("div", { class: "prop" }, h("label", { for: id }, name), select, help(s, describedBy));
  }
  if (ts.includes("boolean")) {
    const box = h("input", { id, type: "checkbox", checked: current === undefined ? !!s.default : !!current,
      "aria-describedby": describedBy, onchange: () => set(box.checked) });
    return h("div", { class: "prop check" }, box, h("label", { for: id }, name), help(s, describedBy));
  }
  if (ts.includes("string") && (ts.includes("number") || ts.includes("integer"))) {
    // a number or a text such as a date or "8h": numbers are stored as numbers
    const input = h("input", { id, value: current ?? "", "aria-describedby": describedBy,
      onchange: () => {
        const raw = input.value.trim();
        set(raw === "" ? undefined : (/^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw));
      } });
    return h("div", { class: "prop" }, h("label", { for: id }, name), input, help(s, describedBy));
  }
  if (ts.includes("integer") || ts.includes("number")) {
    const input = h("input", { id, type: "number", step: ts.includes("integer") ? "1" : "any",
      min: s.minimum, max: s.maximum, placeholder: s.default !== undefined ? String(s.default) : "",
      value: current ?? "", "aria-describedby": describedBy,
      onchange: () => set(input.value === "" ? undefined : Number(input.value)) });
    return h("div", { class: "prop" }, h("label", { for: id }, name), input, help(s, describedBy));
  }
  if (isOptionList(s)) return optionList(id, name, s, current, set, describedBy);
  if (isLabelSchema(s)) return labelPair(id, name, s, current, set, describedBy);
  if (ts.length === 1 && ts[0] === "string") {
    const input = h("input", { id, type: s.format === "date" ? "date" : "text", value: current ?? "",
      placeholder: s.default !== undefined ? String(s.default) : "", "aria-describedby": describedBy,
      onchange: () => set(input.value === "" ? undefined : input.value) });
    return h("div", { class: "prop" }, h("label", { for: id }, name), input, help(s, describedBy));
  }
  // anything else: JSON, checked on change
  const area = h("textarea", { id, rows: "3", class: "json", "aria-describedby": describedBy, spellcheck: "false" });
  area.value = current === undefined ? "" : JSON.stringify(current, null, 1);
  const err = h("p", { class: "field-error", hidden: true }, t("bad_json"));
  area.addEventListener("change", () => {
    if (area.value.trim() === "") { err.hidden = true; set(undefined); return; }
    try { set(JSON.parse(area.value)); err.hidden = true; } catch { err.hidden = false; }
  });
  return h("div", { class: "prop" }, h("label", { for: id }, `${name} (${t("json_hint")})`), area, err, help(s, describedBy));
}

function labelPair(id, name, s, current, set, describedBy) {
  const cur = typeof current === "string" ? { "zh-CN": current } : current || {};
  const zh = h("input", { id, value: cur["zh-CN"] || "", "aria-label": `${name} 中文` });
  const en = h("input", { id: `${id}-en`, value: cur.en || "", "aria-label": `${name} English` });
  const update = () => {
    const v = {};
    if (zh.value) v["zh-CN"] = zh.value;
    if (en.value) v.en = en.value;
    set(Object.keys(v).length ? v : undefined);
  };
  zh.addEventListener("change", update);
  en.addEventListener("change", update);
  return h("div", { class: "prop" }, h("label", { for: id }, name), h("div", { class: "pair" }, zh, en), help(s, describedBy));
}

extend({
  sf_bulk: ["批量编辑", "Edit as a list"], sf_bulk_done: ["逐个编辑", "Edit one by one"],
  sf_bulk_help: ["每行一个选项; 离开文本框即生效", "One option per line; taken when you leave the box"],
});

// Options: one row per option — value, Chinese label, English label. Plain strings stay strings
// until a label is given. "批量编辑" edits the values as a list, one per line (typed or pasted at once);
// an option keeps its labels while its value stays in the list.
function optionList(id, name, s, current, set, describedBy) {
  const objectsAllowed = (s.items.oneOf || s.items.anyOf || [s.items]).some((a) => a.type === "object");
  let rows = (Array.isArray(current) ? current : []).map((o) => typeof o === "string"
    ? { value: o, zh: "", en: "" } : { value: o.value, zh: label(o.label && (o.label["zh-CN"] ?? o.label), ""), en: (o.label && o.label.en) || "", extra: o });
  const list = h("ol", { class: "options", id });
  const emit = () => {
    const out = rows.filter((r) => r.value !== "").map((r) => {
      if (!objectsAllowed || (!r.zh && !r.en)) return r.value;
      const lab = r.en ? { "zh-CN": r.zh || r.value, en: r.en } : r.zh;
      return { ...(r.extra || {}), value: r.value, label: lab };
    });
    set(out.length ? out : undefined);
  };
  const render = () => {
    list.replaceChildren(...rows.map((r, i) => {
      const value = h("input", { value: r.value, "aria-label": `${name} ${i + 1} ${t("value")}`, class: "opt-value" });
      value.addEventListener("change", () => { r.value = value.value; emit(); });
      const zh = objectsAllowed ? h("input", { value: r.zh, placeholder: "中文", "aria-label": `${name} ${i + 1} 中文` }) : null;
      const en = objectsAllowed ? h("input", { value: r.en, placeholder: "English", "aria-label": `${name} ${i + 1} English` }) : null;
      zh?.addEventListener("change", () => { r.zh = zh.value; emit(); });
      en?.addEventListener("change", () => { r.en = en.value; emit(); });
      return h("li", {}, value, zh, en,
        h("button", { type: "button", class: "icon", "aria-label": `${t("move_up")} ${r.value}`, disabled: i === 0,
          onclick: () => { [rows[i - 1], rows[i]] = [rows[i], rows[i - 1]]; render(); emit(); } }, "↑"),
        h("button", { type: "button", class: "icon", "aria-label": `${t("remove")} ${r.value}`,
          onclick: () => { rows.splice(i, 1); render(); emit(); } }, "✕"));
    }));
  };
  render();
  const add = h("button", { type: "button", class: "small", onclick: () => {
    rows.push({ value: `${t("value")}${rows.length + 1}`, zh: "", en: "" }); render(); emit();
    list.lastElementChild?.querySelector("input")?.focus();
  } }, "+ " + t("add_option"));
  const bulkBox = h("textarea", { id: `${id}-bulk`, rows: "5", hidden: true, "aria-label": `${name}: ${t("sf_bulk_help")}`,
    "aria-describedby": `${id}-bulk-help` });
  const bulkHelp = h("small", { class: "help", id: `${id}-bulk-help`, hidden: true }, t("sf_bulk_help"));
  bulkBox.addEventListener("change", () => {
    const values = [...new Set(bulkBox.value.split(/\r?\n/).map((v) => v.trim()).filter(Boolean))];
    rows = values.map((v) => rows.find((r) => r.value === v) || { value: v, zh: "", en: "" });
    render();
    emit();
  });
  const bulk = h("button", { type: "button", class: "small link-like", id: `${id}-bulk-toggle`, onclick: () => {
    const open = bulkBox.hidden;
    if (open) bulkBox.value = rows.map((r) => r.value).join("\n");
    bulkBox.hidden = bulkHelp.hidden = !open;
    list.hidden = add.hidden = open;
    bulk.textContent = t(open ? "sf_bulk_done" : "sf_bulk");
    if (open) { bulkBox.focus(); bulkBox.select(); }
  } }, t("sf_bulk"));
  return h("div", { class: "prop" }, h("label", { for: id }, name), list, add, " ", bulk, bulkBox, bulkHelp, help(s, describedBy));
}
