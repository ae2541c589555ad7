// What the rule designer knows about a form's fields: their kind (for the operator registry's
// ``kinds``), their options, and a value input that fits the field's widget and the operator's input.
import { t, h, label } from "./i18n.js";

// widget value_kind (from the widget registry) → operator kind (engines/rule/operators.py)
const KIND = {
  text: "text", money: "number", number: "number", duration: "number", choice: "choice", bool: "bool",
  date: "date", datetime: "date", time: "date", link: "link",
};
export const SYSTEM = ["id", "created_at", "updated_at", "created_by", "updated_by"];

export class FieldModel {
  constructor(registry) {
    this.widgets = {};
    for (const g of registry.widgets.groups) for (const w of g.widgets) this.widgets[w.type] = w;
  }

  // [{key, label, widget, kind, valueKind, options, field}] of one form, system fields last
  fields(form) {
    if (!form) return [];
    const out = (form.fields || []).map((f) => this.describe(f));
    for (const key of SYSTEM) {
      if (out.some((f) => f.key === key)) continue;
      const w = this.widgets[key];
      out.push({ key, label: w ? label(w.label, key) : "ID", widget: key, system: true,
        valueKind: key === "id" ? "number" : (w?.value_kind || "text"),
        kind: key === "id" ? "number" : (KIND[w?.value_kind] || "any"), options: null, field: null });
    }
    return out;
  }

  describe(f) {
    const w = this.widgets[f.widget] || {};
    const valueKind = w.value_kind || "text";
    return { key: f.key, label: label(f.label, f.key), labels: f.label, widget: f.widget, valueKind, kind: KIND[valueKind] || "any",
      options: options(f), field: f, computed: !!w.computed, multiple: !!f.config?.multiple || w.storage === "multi" };
  }
}

export function options(field) {
  const opts = field?.config?.options;
  if (!Array.isArray(opts)) return null;
  return opts.map((o) => (typeof o === "object" && o !== null ? { value: o.value, text: label(o.label, String(o.value)) }
    : { value: o, text: String(o) }));
}

// a field as people read it: its label (the key stays in the draft, never on screen)
export function fieldText(f) {
  return f.label || f.key;
}

export function fieldSelect({ id, fields, value, onChange, labelText, empty = t("rule_pick_field"), filter = null }) {
  const list = filter ? fields.filter(filter) : fields;
  const select = h("select", { id, "aria-label": labelText, onchange: () => onChange(select.value || undefined) },
    h("option", { value: "" }, empty),
    ...list.map((f) => h("option", { value: f.key, selected: f.key === value }, fieldText(f))));
  if (value && !list.some((f) => f.key === value)) select.append(h("option", { value, selected: true }, `${value} ?`));
  return select;
}

function coerce(raw, kind) {
  if (raw === "") return undefined;
  if (kind === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return raw;
}

function splitList(text) {
  return text.split(/[,，、\n]/).map((s) => s.trim()).filter(Boolean);
}

// One literal value for a field: a select for options and yes/no, a number or date box, else text.
// ``onInput(value, {typing})``: typing is true for keystrokes (the caller coalesces them).
export function scalarInput({ id, field, value, onInput, labelText }) {
  const f = field || { kind: "text", valueKind: "text" };
  if (f.options) {
    const select = h("select", { id, "aria-label": labelText, onchange: () => onInput(select.value === "" ? undefined
      : (f.options.find((o) => String(o.value) === select.value) || { value: select.value }).value) },
    h("option", { value: "" }, t("none")),
    ...f.options.map((o) => h("option", { value: String(o.value), selected: o.value === value }, o.text)));
    if (value !== undefined && value !== null && !f.options.some((o) => o.value === value)) {
      select.append(h("option", { value: String(value), selected: true }, `${value} ?`));
    }
    return select;
  }
  if (f.kind === "bool") {
    const select = h("select", { id, "aria-label": labelText,
      onchange: () => onInput(select.value === "" ? undefined : select.value === "true") },
    h("option", { value: "" }, t("none")),
    h("option", { value: "true", selected: value === true }, t("rule_yes")),
    h("option", { value: "false", selected: value === false }, t("rule_no")));
    return select;
  }
  const type = f.kind === "number" ? "number" : f.valueKind === "date" ? "date" : "text";
  const input = h("input", { id, type, "aria-label": labelText, step: type === "number" ? "any" : undefined,
    placeholder: f.valueKind === "datetime" ? "2026-01-31T09:00" : f.valueKind === "time" ? "09:00" : undefined,
    value: value === undefined || value === null || typeof value === "object" ? "" : String(value) });
  input.addEventListener("input", () => onInput(coerce(input.value.trim(), f.kind), { typing: true }));
  return input;
}

// A list of values: checkboxes over a field's options, else one comma-separated text box.
export function listInput({ id, field, value, onInput, labelText }) {
  const current = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  if (field?.options) {
    const box = h("fieldset", { id, class: "rule-checks" }, h("legend", { class: "visually-hidden" }, labelText),
      ...field.options.map((o, i) => {
        const cb = h("input", { type: "checkbox", id: `${id}-${i}`, checked: current.some((v) => v === o.value),
          onchange: () => {
            const picked = field.options.filter((opt, j) => box.querySelector(`#${CSS.escape(id)}-${j}`).checked).map((opt) => opt.value);
            const extra = current.filter((v) => !field.options.some((opt) => opt.value === v));
            onInput([...picked, ...extra]);
          } });
        return h("label", { class: "rule-check", for: cb.id }, cb, " ", o.text);
      }));
    return box;
  }
  const input = h("input", { id, "aria-label": labelText, placeholder: t("rule_list_hint"),
    value: current.filter((v) => typeof v !== "object").join(", ") });
  input.addEventListener("input", () => onInput(splitList(input.value).map((s) => coerce(s, field?.kind)), { typing: true }));
  return input;
}

// Where the record's process stands, as a condition reads it (``process.node`` …, engines/rule/conditions.py):
// offered next to the form's fields when a flow of the package runs on the form. A step is picked by
// its label and stored as the node's id; ``labels`` let an expression name it by its label too.
const WAITS = ["user_task", "approval", "countersign", "timer", "automatic"];
// both languages' names, so an expression may use either (``流程节点 == "处理中"``, ``Flow step == "Handling"``)
const PROCESS = {
  node: { "zh-CN": "流程节点", en: "Flow step" }, state: { "zh-CN": "流程状态", en: "Flow state" },
  done: { "zh-CN": "流程已结束", en: "Flow ended" },
  running: { "zh-CN": "进行中", en: "Running" }, completed: { "zh-CN": "已完成", en: "Completed" },
  cancelled: { "zh-CN": "已取消", en: "Cancelled" },
};
export function processFields(pkg, formKey) {
  const flows = (pkg.flows || []).filter((f) => f && f.form === formKey);
  if (!flows.length) return [];
  const steps = [];
  for (const flow of flows) {
    for (const n of flow.nodes || []) {
      if (!n || !WAITS.includes(n.type) || steps.some((s) => s.value === n.id)) continue;
      const text = label(n.label, n.id);
      steps.push({ value: n.id, text: flows.length > 1 ? `${label(flow.label, flow.key)} · ${text}` : text, labels: n.label || n.id });
    }
  }
  const states = ["running", "completed", "cancelled"].map((v) => ({ value: v, text: label(PROCESS[v]), labels: PROCESS[v] }));
  const pseudo = (key, kind, options) => ({ key: `process.${key}`, label: label(PROCESS[key]), labels: PROCESS[key],
    widget: "process", valueKind: kind, kind, options, field: null, process: true });
  return [pseudo("node", "choice", steps), pseudo("state", "choice", states), pseudo("done", "bool", null)];
}
