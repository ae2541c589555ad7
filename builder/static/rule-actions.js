// The action list: add (from the action registry), remove, reorder; each action's settings are
// generated from its config JSON Schema. Plain properties go through schema-form.js; the rule
// designer adds what a schema cannot say on its own: field mappings (target field ← value,
// expression or template), message templates with {字段} variables inserted from the field list,
// recipients picked from the form's fields and the app's groups, filters, and pickers for the
// app's forms, flows, tasks and templates.
import { ExprEditor } from "./expr-editor.js";
import { schemaForm } from "./schema-form.js";
import { t, h, label } from "./i18n.js";
import { fieldSelect, fieldText, scalarInput } from "./rule-fields.js";
import { fieldTest } from "./rule-conditions.js";

const TEMPLATE_KEYS = ["subject", "body", "comment"];
const FORM_KEYS = ["form", "survey_form"];
const FIELD_KEYS = ["field", "source_field", "group_field"];

const propText = (key) => {
  const text = t(`rule_p_${key}`);
  return text === `rule_p_${key}` ? key : text;
};
const isValueMap = (s) => s && s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object"
  && !s.additionalProperties.type && !s.properties;
const isStringMap = (s) => s && s.type === "object" && s.additionalProperties && s.additionalProperties.type === "string" && !s.properties;
const isStringList = (s) => s && s.type === "array" && s.items && s.items.type === "string" && !s.items.enum;

export function renderActions(ctx, rule) {
  const actions = Array.isArray(rule.actions) ? rule.actions : [];
  const byType = Object.fromEntries(ctx.catalogue.actions.map((a) => [a.type, a]));
  const list = h("ol", { class: "rule-actions", id: "rule-action-list" }, ...actions.map((a, i) => actionCard(ctx, a, i, actions.length, byType[a.type])));
  const add = h("select", { id: "rule-add-action", "aria-label": t("rule_add_action"), onchange: () => {
    const type = add.value;
    if (!type) return;
    ctx.edit((r) => { r.actions = [...(r.actions || []), starter(byType[type])]; }, { focus: `action-${actions.length}` });
  } }, h("option", { value: "" }, `+ ${t("rule_add_action")}`),
  ...ctx.catalogue.actions.map((a) => h("option", { value: a.type }, label(a.label, a.type))));
  return h("div", {}, actions.length ? null : h("p", { class: "muted", id: "rule-no-actions" }, t("rule_no_actions")), list, add);
}

// A new action with its required choices filled with their first allowed value.
function starter(entry) {
  const out = { type: entry.type };
  const s = entry.config_schema || {};
  for (const key of s.required || []) {
    const p = (s.properties || {})[key] || {};
    if (key === "type") continue;
    if (p.enum) out[key] = p.enum.includes("email") ? "email" : p.enum[0];
    else if (p.type === "object") out[key] = isValueMap(p) ? {} : (p.required?.includes("kind") ? { kind: "user" } : {});
    else if (p.type === "array") out[key] = [];
  }
  return out;
}

// the moved card keeps the focus: on the same arrow, or the other one when it reached an end
function focusAfterMove(index, d, count) {
  const atEnd = (d < 0 && index === 0) || (d > 0 && index === count - 1);
  return `action-${index}-${(d < 0) !== atEnd ? "up" : "down"}`;
}

function actionCard(ctx, action, i, count, entry) {
  const name = `${t("rule_action_n", { n: i + 1 })}: ${entry ? label(entry.label, action.type) : action.type}`;
  const move = (d) => ctx.edit((r) => {
    const list = r.actions;
    [list[i], list[i + d]] = [list[i + d], list[i]];
  }, { focus: focusAfterMove(i + d, d, count) });
  const tools = h("div", { class: "item-tools" },
    h("button", { type: "button", class: "icon", id: `action-${i}-up`, disabled: i === 0, "aria-label": `${t("move_up")} ${name}`, onclick: () => move(-1) }, "↑"),
    h("button", { type: "button", class: "icon", id: `action-${i}-down`, disabled: i === count - 1, "aria-label": `${t("move_down")} ${name}`, onclick: () => move(1) }, "↓"),
    h("button", { type: "button", class: "icon danger", id: `action-${i}-remove`, "aria-label": `${t("rule_remove_action")} ${name}`,
      onclick: () => ctx.edit((r) => { r.actions.splice(i, 1); }, { focus: "rule-add-action" }) }, "✕"));
  // the head is a drag handle (the arrow buttons do the same from the keyboard)
  const head = h("div", { class: "rule-action-head", draggable: "true", title: t("rule_drag_action"),
    ondragstart: (e) => { e.dataTransfer.setData(MIME_ACTION, String(i)); e.dataTransfer.effectAllowed = "move"; } },
  h("span", { class: "grip", "aria-hidden": "true" }, "⠿"), h("h3", { id: `action-${i}-title` }, name), tools);
  const bodyEl = entry ? configForm(ctx, action, i, entry) : h("p", { class: "field-error" }, `${action.type} ?`);
  const card = h("li", { class: "rule-action card", id: `action-${i}`, tabindex: "-1", "aria-labelledby": `action-${i}-title`,
    "data-type": action.type }, head, bodyEl);
  card.addEventListener("dragover", (e) => {
    if (!e.dataTransfer.types.includes(MIME_ACTION)) return;
    e.preventDefault();
    card.classList.add("drop-here");
  });
  card.addEventListener("dragleave", () => card.classList.remove("drop-here"));
  card.addEventListener("drop", (e) => {
    card.classList.remove("drop-here");
    const from = Number(e.dataTransfer.getData(MIME_ACTION));
    if (!Number.isInteger(from) || from === i) return;
    e.preventDefault();
    ctx.edit((r) => { const [moved] = r.actions.splice(from, 1); r.actions.splice(i, 0, moved); }, { focus: `action-${i}` });
  });
  return card;
}

const MIME_ACTION = "application/x-jimu-rule-action";

// set a value at ``path`` inside action ``i`` (undefined deletes it)
function setter(ctx, i, path) {
  return (value, opts = {}) => ctx.edit((r) => {
    let obj = r.actions[i];
    for (const k of path.slice(0, -1)) {
      if (!obj[k] || typeof obj[k] !== "object") obj[k] = {};
      obj = obj[k];
    }
    const last = path[path.length - 1];
    if (typeof value === "function") value(obj, last);
    else if (value === undefined) delete obj[last];
    else obj[last] = value;
  }, { rerender: false, ...opts });
}

// Properties in the order a person fills them in (the schema's own order is not kept by JSON);
// others follow alphabetically.
const ORDER = ["form", "survey_form", "flow", "task", "node", "outcome", "if_none", "channel", "strategy", "field", "user", "group", "source_field",
  "group_field", "open_filter", "kind", "value", "assignee", "lead", "submitter", "users", "user_fields", "groups", "group_leads", "group_lead_fields", "participants", "emails",
  "email_fields", "to", "url", "method", "secret", "headers", "template", "subject", "body", "comment", "link", "mentions",
  "mention_all", "language", "filter", "values", "mapping", "json", "store", "limit", "timeout", "note"];
export function ordered(keys) {
  const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.indexOf("note") - 0.5);  // a plugin's own keys before the note
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
// A notification shows what its channel reads (the registry's channels, built-in or a plugin's: whether
// they address people, their own settings) besides the common texts; another channel's settings stay
// hidden unless they hold a value. A send_survey reads the notify action's channels.
const COMMON_TEXTS = ["subject", "body", "link", "template", "language"];

function configForm(ctx, action, i, entry) {
  const s = entry.config_schema || {};
  const secret = Array.isArray(s.secret) ? s.secret : [];
  const channels = entry.channels || (ctx.catalogue.actions.find((a) => a.type === "notify") || {}).channels || {};
  const chosen = channels[action.channel ?? (s.properties || {}).channel?.default];
  const shown = chosen && [...(chosen.recipients ? ["to"] : []), ...chosen.settings, ...COMMON_TEXTS];
  const claimed = new Set(Object.values(channels).flatMap((c) => [...(c.recipients ? ["to"] : []), ...c.settings]));
  const keys = ordered(Object.keys(s.properties || {})).filter((k) => k !== "type"
    && (!shown || k === "channel" || k === "note" || !claimed.has(k) || shown.includes(k) || action[k] !== undefined));
  const box = h("div", { class: "rule-action-body" });
  for (const key of keys) {
    box.append(control(ctx, { id: `action-${i}-${key}`, key, schema: s.properties[key], value: action[key], action, i,
      path: [key], secret: secret.includes(key), required: (s.required || []).includes(key) }));
  }
  return box;
}

function prop(id, text, ...children) {
  return h("div", { class: "prop" }, h("label", { for: id }, text), ...children);
}

function targetFields(ctx, formKey) {
  const form = (ctx.pkg().forms || []).find((f) => f.key === formKey);
  return ctx.model.fields(form).filter((f) => !f.system && !f.computed);
}

function control(ctx, spec) {
  const { id, key, schema: s, value, action, i, path } = spec;
  const name = key === "to" && s.properties?.kind ? t("rule_p_to_assignee") : propText(key);
  const text = name + (spec.required ? " *" : "");
  const set = setter(ctx, i, path);
  if (TEMPLATE_KEYS.includes(key) && s.type === "string") return templateEditor(ctx, { id, text, value, set, single: key === "subject" });
  if (spec.secret) {
    const input = h("input", { id, type: "password", autocomplete: "new-password", value: value || "" });
    input.addEventListener("input", () => set(input.value || undefined, { coalesce: id }));
    return prop(id, text, input);
  }
  if (isValueMap(s)) {
    const formKey = key === "mapping" || (key === "values" && action.form) ? action.form : ctx.rule().form;
    return mappingEditor(ctx, { id, text, name, value, set, targets: targetFields(ctx, formKey) });
  }
  if (key === "json" && s.type === "object" && !s.properties) {
    // a JSON body: each property a value, expression or template, like a field mapping with free names
    return mappingEditor(ctx, { id, text, name, value, set, targets: null });
  }
  if (s.type === "array" && s.items && s.items.type === "object") {
    const fields = ctx.model.fields((ctx.pkg().forms || []).find((f) => f.key === (key === "filter" ? action.form : ctx.rule().form)));
    return filterEditor(ctx, { id, text, name, value, set, fields });
  }
  if (isStringList(s) && key.endsWith("_fields")) {
    // fields that can name what the list wants: people, groups or addresses
    const kinds = { user_fields: ["user", "text"], group_lead_fields: ["group", "text"] }[key] || ["text"];
    const fields = ctx.fields().filter((f) => kinds.includes(f.valueKind) || (Array.isArray(value) && value.includes(f.key)));
    return checkList(ctx, { id, text, value, set, items: fields.map((f) => [f.key, fieldText(f)]) });
  }
  if (isStringList(s) && (key === "groups" || key === "group_leads") && (ctx.pkg().groups || []).length) {
    return checkList(ctx, { id, text, value, set, items: (ctx.pkg().groups || []).map((g) => [g.key, label(g.label, g.key)]) });
  }
  if (s.type === "string" && !s.enum) {
    const choices = choicesFor(ctx, key, action);
    if (choices) {
      const sel = h("select", { id, onchange: () => set(sel.value || undefined, { focus: id, rerender: true }) },
        h("option", { value: "" }, t("none")),
        ...choices.map(([v, txt]) => h("option", { value: v, selected: v === value }, txt)));
      if (value && !choices.some(([v]) => v === value)) sel.append(h("option", { value, selected: true }, `${value} ?`));
      return prop(id, text, sel);
    }
  }
  if (Array.isArray(s.enum)) {
    const sel = h("select", { id, onchange: () => set(sel.value === "" ? undefined : s.enum.find((v) => String(v) === sel.value),
      key === "channel" ? { rerender: true, focus: id } : {}) },
    spec.required && value !== undefined ? null : h("option", { value: "" }, t("none")),
    ...s.enum.map((v) => h("option", { value: String(v), selected: v === value }, enumText(key, v))));
    return prop(id, text, sel);
  }
  if (s.type === "object" && s.properties) {
    const inner = ordered(Object.keys(s.properties)).map((k) => control(ctx, { ...spec, id: `${id}-${k}`, key: k, schema: s.properties[k],
      value: value ? value[k] : undefined, path: [...path, k], required: (s.required || []).includes(k), secret: false }));
    return h("fieldset", { class: "rule-sub", id }, h("legend", {}, text), ...inner);
  }
  if (isStringMap(s)) return keyValues(ctx, { id, text, value, set, keyFields: key === "store" ? targetFields(ctx, ctx.rule().form) : null });
  if (isStringList(s)) {
    const input = h("input", { id, value: Array.isArray(value) ? value.join(", ") : "", placeholder: t("rule_list_hint") });
    input.addEventListener("input", () => {
      const list = input.value.split(/[,，、\n]/).map((x) => x.trim()).filter(Boolean);
      set(list.length ? list : undefined, { coalesce: id });
    });
    return prop(id, text, input);
  }
  // the rest (enums, booleans, numbers, plain text, JSON) is what schema-form.js already does
  const form = schemaForm({ properties: { [key]: { ...s, "x-label": text } } }, { [key]: value },
    (k, v) => set(v, key === "channel" ? { rerender: true, focus: id } : {}));
  const first = form.querySelector("input, select, textarea");
  if (first) first.id = id;
  form.querySelector("label")?.setAttribute("for", id);
  return form;
}

function enumText(key, v) {
  const text = t(`rule_v_${key}_${v}`);
  return text === `rule_v_${key}_${v}` ? String(v) : text;
}

function choicesFor(ctx, key, action) {
  const pkg = ctx.pkg();
  if (FORM_KEYS.includes(key)) return (pkg.forms || []).map((f) => [f.key, label(f.label, f.key)]);
  if (key === "flow") return (pkg.flows || []).map((f) => [f.key, label(f.label, f.key)]);
  if (key === "template") return (pkg.templates || []).map((tp) => [tp.key, label(tp.label, tp.key)]);
  if (key === "language") return [["zh-CN", "中文"], ["en", "English"]];
  // no groups in the package: the platform's groups are typed by key (as for the groups lists)
  if (key === "group") return (pkg.groups || []).length ? pkg.groups.map((g) => [g.key, label(g.label, g.key)]) : null;
  if (FIELD_KEYS.includes(key)) return ctx.fields().filter((f) => !f.system || key !== "field").map((f) => [f.key, fieldText(f)]);
  if (key === "task" || key === "node") {
    const flow = (pkg.flows || []).find((f) => f.key === action.flow);
    const nodes = Array.isArray(flow?.nodes) ? flow.nodes : Object.entries(flow?.nodes || {}).map(([id, n]) => ({ ...n, id }));
    return nodes.filter((n) => !["start", "end"].includes(n.type)).map((n) => [n.id, label(n.label, n.id)]);
  }
  return null;
}

// {字段} variables name a field by its label on screen and by its key in the stored template (renaming a
// field rewrites nothing). A label two fields share, or that is another field's key, stays a key.
const PLACEHOLDER = /(?<![{\\])\{([^\s{}%#"'<>]{1,100})\}(?!\})/g;

export function placeholderNames(fields) {
  const keys = new Set(fields.map((f) => f.key));
  const namesOf = (f) => [...new Set([f.label, ...(f.labels && typeof f.labels === "object" ? Object.values(f.labels) : [])])]
    .filter((n) => typeof n === "string" && n && !/[\s{}%#"'<>]/.test(n));
  const count = new Map();
  for (const f of fields) for (const n of namesOf(f)) count.set(n, (count.get(n) || 0) + 1);
  const shown = new Map(), stored = new Map();
  for (const f of fields) {
    for (const n of namesOf(f)) if (count.get(n) === 1 && (!keys.has(n) || n === f.key)) stored.set(n, f.key);
    if (stored.get(f.label) === f.key) shown.set(f.key, f.label);
  }
  const swap = (text, map) => (text || "").replace(PLACEHOLDER, (m, name) => (map.has(name) ? `{${map.get(name)}}` : m));
  return { toShown: (text) => swap(text, shown), toStored: (text) => swap(text, stored), shown };
}

// A message template: text with {字段} variables, inserted at the caret from the form's fields.
export function templateEditor(ctx, { id, text, value, set, single = false }) {
  const fields = ctx.fields();
  const names = placeholderNames(fields);
  const box = single ? h("input", { id, value: names.toShown(value || "") }) : h("textarea", { id, rows: "3" });
  if (!single) box.value = names.toShown(value || "");
  const changed = () => set(box.value === "" ? undefined : names.toStored(box.value), { coalesce: id });
  box.addEventListener("input", changed);
  const pick = h("select", { class: "expr-pick", id: `${id}-var`, "aria-label": `${text}: ${t("rule_insert_var")}`,
    onchange: () => {
      if (!pick.value) return;
      const start = box.selectionStart ?? box.value.length;
      const end = box.selectionEnd ?? start;
      box.setRangeText(`{${names.shown.get(pick.value) || pick.value}}`, start, end, "end");
      pick.value = "";
      box.focus();
      changed();
    } },
  h("option", { value: "" }, t("rule_insert_var")),
  ...fields.map((f) => h("option", { value: f.key, title: f.key }, `{${names.shown.get(f.key) || f.key}}`)));
  return h("div", { class: "prop rule-template" }, h("label", { for: id }, text), box,
    h("div", { class: "rule-template-tools" }, pick, h("small", { class: "help" }, t("rule_template_hint"))));
}

function checkList(ctx, { id, text, value, set, items }) {
  const current = Array.isArray(value) ? value : [];
  const box = h("fieldset", { class: "rule-checks", id }, h("legend", {}, text));
  items.forEach(([v, txt], j) => {
    const cb = h("input", { type: "checkbox", id: `${id}-${j}`, value: v, checked: current.includes(v),
      onchange: () => {
        const picked = [...box.querySelectorAll("input[type=checkbox]")].filter((x) => x.checked).map((x) => x.value);
        const extra = current.filter((x) => !items.some(([k]) => k === x));
        const next = [...picked, ...extra];
        set(next.length ? next : undefined);
      } });
    box.append(h("label", { class: "rule-check", for: cb.id }, cb, " ", txt));
  });
  if (!items.length) box.append(h("small", { class: "muted" }, t("none")));
  return box;
}

const modeOf = (v) => (v && typeof v === "object" && !Array.isArray(v)
  ? (Object.keys(v).length === 1 && "expr" in v ? "expr" : Object.keys(v).length === 1 && "template" in v ? "template" : "value") : "value");

// target field ← a fixed value, an expression or a template, one row per target field
function mappingEditor(ctx, { id, text, name: base, value, set, targets }) {
  const entries = Object.entries(value && typeof value === "object" ? value : {});
  const rewrite = (fn, opts = {}) => set((obj, last) => {
    const list = Object.entries(obj[last] || {});
    fn(list);
    obj[last] = Object.fromEntries(list);
  }, { rerender: true, ...opts });
  const rows = entries.map(([target, v], j) => {
    const rid = `${id}-${j}`;
    const name = `${base} ${j + 1}`;
    const field = targets ? targets.find((f) => f.key === target) : null;
    const rename = (k, opts) => rewrite((list) => { if (k && !list.some(([x], n) => x === k && n !== j)) list[j] = [k, list[j][1]]; }, opts);
    let targetSel;
    if (targets) {
      targetSel = fieldSelect({ id: `${rid}-target`, fields: targets, value: target, labelText: `${name}: ${t("rule_target")}`,
        onChange: (k) => rewrite((list) => { if (k && !list.some(([x], n) => x === k && n !== j)) list[j] = [k, null]; }, { focus: `${rid}-target` }) });
    } else {
      targetSel = h("input", { id: `${rid}-target`, value: target, "aria-label": `${name}: ${t("rule_kv_name")}` });
      targetSel.addEventListener("change", () => rename(targetSel.value.trim(), { rerender: false }));
    }
    const mode = modeOf(v);
    const modeSel = h("select", { id: `${rid}-mode`, "aria-label": `${name}: ${t("rule_source")}`,
      onchange: () => rewrite((list) => {
        list[j][1] = modeSel.value === "expr" ? { expr: "" } : modeSel.value === "template" ? { template: "" } : null;
      }, { focus: `${rid}-mode` }) },
    ...[["value", "rule_src_value"], ["expr", "rule_src_expr"], ["template", "rule_src_template"]]
      .map(([m, k]) => h("option", { value: m, selected: m === mode }, t(k))));
    const setOne = (nv, opts = {}) => set((obj, last) => { obj[last] = { ...(obj[last] || {}), [target]: nv }; }, opts);
    let input;
    if (mode === "expr") {
      input = new ExprEditor({ id: `${rid}-value`, label: `${name}: ${t("rule_src_expr")}`, value: v.expr, names: () => ctx.fields(),
        library: ctx.library, onChange: (x) => setOne({ expr: x || "" }, { coalesce: `${rid}-value` }) }).el;
    } else if (mode === "template") {
      input = templateEditor(ctx, { id: `${rid}-value`, text: `${name}: ${t("rule_src_template")}`, value: v.template,
        set: (x, opts) => setOne({ template: x || "" }, opts) });
    } else {
      input = scalarInput({ id: `${rid}-value`, field: field || (targets ? undefined : { kind: "text", valueKind: "text" }), value: v, labelText: `${name}: ${t("rule_value")}`,
        onInput: (x, meta) => setOne(x === undefined ? null : x, meta?.typing ? { coalesce: `${rid}-value` } : {}) });
    }
    return h("li", { class: "rule-map-row" }, targetSel, h("span", { "aria-hidden": "true" }, t("rule_gets")), modeSel, input,
      h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${name}`,
        onclick: () => rewrite((list) => { list.splice(j, 1); }, { focus: `${id}-add` }) }, "✕"));
  });
  const add = h("button", { type: "button", class: "small", id: `${id}-add`, onclick: () => rewrite((list) => {
    if (!targets) {
      let n = list.length + 1;
      while (list.some(([k]) => k === `key${n}`)) n += 1;
      list.push([`key${n}`, ""]);
      return;
    }
    const free = targets.find((f) => !list.some(([k]) => k === f.key));
    if (free) list.push([free.key, null]);
  }, { focus: `${id}-${entries.length}-target` }) }, `+ ${t(targets ? "rule_mapping_add" : "rule_kv_add")}`);
  return h("fieldset", { class: "rule-sub rule-mapping", id }, h("legend", {}, text), h("ol", { class: "rule-map" }, ...rows), add);
}

function filterEditor(ctx, { id, text, name: base, value, set, fields }) {
  const list = Array.isArray(value) ? value : [];
  const rows = list.map((node, j) => {
    const rid = `${id}-${j}`;
    const name = `${base} ${j + 1}`;
    const setRow = (fn, opts = {}) => set((obj, last) => { fn(obj[last][j]); }, { rerender: !opts.coalesce, ...opts });
    const remove = h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${name}`,
      onclick: () => set((obj, last) => { obj[last].splice(j, 1); }, { rerender: true, focus: `${id}-add` }) }, "✕");
    return h("li", {}, fieldTest(ctx, node, rid, name, fields, setRow, remove));
  });
  const add = h("button", { type: "button", class: "small", id: `${id}-add`, onclick: () => set((obj, last) => {
    obj[last] = [...(Array.isArray(obj[last]) ? obj[last] : []), { field: "", op: "eq" }];
  }, { rerender: true, focus: `${id}-${list.length}-field` }) }, `+ ${t("rule_filter_add")}`);
  return h("fieldset", { class: "rule-sub", id }, h("legend", {}, text), h("ol", { class: "rule-filter" }, ...rows), add);
}

// name → text rows (HTTP headers); with ``keyFields`` the name is a field of the form (store: field ← answer path)
function keyValues(ctx, { id, text, value, set, keyFields = null }) {
  const entries = Object.entries(value && typeof value === "object" ? value : {});
  const write = (list, opts) => set(list.length ? Object.fromEntries(list.filter(([k]) => k !== "")) : undefined, opts);
  const rows = entries.map(([k, v], j) => {
    const name = keyFields
      ? fieldSelect({ id: `${id}-${j}-k`, fields: keyFields, value: k, labelText: `${text} ${j + 1}: ${t("rule_target")}`, onChange: () => {} })
      : h("input", { id: `${id}-${j}-k`, value: k, "aria-label": `${text} ${j + 1}: ${t("rule_kv_name")}` });
    const val = h("input", { id: `${id}-${j}-v`, value: v, "aria-label": `${text} ${j + 1}: ${t("value")}` });
    const update = () => { entries[j] = [name.value, val.value]; write(entries.map((e) => [...e]), { coalesce: `${id}-${j}` }); };
    name.addEventListener("change", update);
    val.addEventListener("change", update);
    return h("li", { class: "rule-kv" }, name, val, h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${k}`,
      onclick: () => { const list = entries.filter((e, n) => n !== j); write(list, { rerender: true }); } }, "✕"));
  });
  const fresh = () => {
    if (keyFields) return (keyFields.find((f) => !entries.some(([k]) => k === f.key)) || { key: "" }).key;
    return `${t("rule_kv_name")}${entries.length + 1}`;
  };
  const add = h("button", { type: "button", class: "small", id: `${id}-add`, onclick: () => write([...entries, [fresh(), ""]],
    { rerender: true, focus: `${id}-${entries.length}-k` }) }, `+ ${t("rule_kv_add")}`);
  return h("fieldset", { class: "rule-sub", id }, h("legend", {}, text), h("ol", { class: "rule-filter" }, ...rows), add);
}
