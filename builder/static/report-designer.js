// The report designer: pick the data source (a form of the draft), drag fields onto the dimension,
// measure and filter slots (or focus a field and press Enter to add it to the chosen slot), pick an
// aggregate per measure, a date bucket per date dimension, conditions, a chart type from the
// jimu.charts registry and its options — and see the chart live: every change posts the draft
// definition to /builder/api/apps/<app>/reports/preview, which compiles it with the report engine and
// runs it over the installed records; its coded errors are shown inline, on the item they point at.
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { publishFlow } from "./publish.js";
import { bindToolbar, titleEditor } from "./designer-shell.js";
import { relabel } from "./i18n.js";
import { schemaForm } from "./schema-form.js";
import { ExprEditor } from "./expr-editor.js";
import {
  t, h, label, announce, LANG, pair, NUMERIC, TEMPORAL, reportFields, widgetIndex, labelledOptions, keepFocus,
  createIfNew, followDraft, drawFigure, purge, codedErrors, setLabel, labelIn,
} from "./report-common.js";

const root = document.getElementById("report-designer");
const appKey = root.dataset.app;
const reportKey = root.dataset.report;
const store = new DraftStore(appKey);
const els = {
  fields: document.getElementById("rd-fields"),
  types: document.getElementById("rd-types"),
  slots: document.getElementById("rd-slots"),
  props: document.getElementById("rd-props"),
  problems: document.getElementById("rd-problems"),
  chart: document.getElementById("rd-chart"),
  chartState: document.getElementById("rd-chart-state"),
  explain: document.getElementById("rd-explain"),
  explainBody: document.getElementById("rd-explain-body"),
  title: document.getElementById("report-title"),
};
const SLOTS = ["dimensions", "measures", "filters"];
const MIME = "application/x-jimu-field";

let catalog = null;      // /api/v1/reports/catalog: charts, aggregates, operators, buckets, process fields
let widgets = {};
let fields = [];         // the fields of the report's form: [{ref, label, labels, kind, group, options}]
let target = "dimensions";
let dragging = null;     // a field ref while one is dragged
let moving = null;       // {slot, index} of a slot item dragged by its grip
let problems = [];       // the last preview's coded errors
let toolbar = null;
let library = null;
let slotsStale = false;  // the slots wait for a drag to end before showing new problems      // the expression language's functions, for the expression editors

// -- model -------------------------------------------------------------------------------------------

const reportOf = (pkg = store.package) => (pkg.reports || []).find((r) => r.key === reportKey);
const formOf = (key, pkg = store.package) => (pkg.forms || []).find((f) => f.key === key);
const fieldOf = (ref) => fields.find((f) => f.ref === ref);
const chartType = (type) => catalog.charts.find((c) => c.type === type);
const aggregate = (agg) => catalog.aggregates.find((a) => a.agg === agg);
const operator = (op) => catalog.operators.find((o) => o.op === op);

function edit(fn, reason = "edit", { quiet = false, coalesce = null } = {}) {
  store.change((pkg) => fn(reportOf(pkg), pkg), reason, { coalesce });
  if (!quiet) renderAll();
}

function refreshFields() {
  const report = reportOf();
  const form = formOf(report.form);
  fields = reportFields(form, widgets, catalog.process_fields || []);
  // the fields of a form reached through a single-link field: "<alias>.<field key>"
  for (const join of report.joins || []) {
    const link = fields.find((f) => f.ref === join.field);
    const target = formOf(linkTarget(form, join.field));
    for (const f of reportFields(target, widgets)) {
      if (f.group === "process") continue;
      joinedField(join, link, f);
    }
  }
}

function joinedField(join, link, f) {
  const prefix = link ? link.label : join.field;
  fields.push({ ...f, ref: `${join.as}.${f.ref}`, label: `${prefix} › ${f.label}`, group: `join:${join.as}`,
    labels: { "zh-CN": `${link?.labels["zh-CN"] || join.field}${f.labels["zh-CN"]}`, en: `${link?.labels.en || join.field} ${f.labels.en}` } });
}

// The form a single-link field of ``form`` points at (its widget config names it), or undefined.
function linkTarget(form, key) {
  const field = (form?.fields || []).find((f) => f.key === key);
  if (!field || widgets[field.widget]?.value_kind !== "link" || field.config?.multiple) return undefined;
  return field.config?.form;
}

const ALIAS_RE = /^[\p{L}_][\p{L}\p{N}_]{0,30}$/u;

function addJoin(key) {
  edit((r) => {
    const used = new Set((r.joins || []).map((j) => j.as));
    let alias = ALIAS_RE.test(key) && key !== "process" ? key : "j1";
    for (let n = 2; used.has(alias); n += 1) alias = `j${n}`;
    (r.joins ||= []).push({ field: key, as: alias });
  }, "join");
  announce(`${t("rd_added")}${t("rd_joined")}: ${fieldName(key)}`);
  document.getElementById(`rd-join-${cssId(key)}`)?.focus();
}

function removeJoin(alias) {
  edit((r) => {
    const inJoin = (ref) => typeof ref === "string" && ref.startsWith(`${alias}.`);
    r.joins = (r.joins || []).filter((j) => j.as !== alias);
    if (!r.joins.length) delete r.joins;
    if (r.dimensions) { r.dimensions = r.dimensions.filter((d) => !inJoin(d.field)); if (!r.dimensions.length) delete r.dimensions; }
    if (r.filters) { r.filters = r.filters.filter((f) => !inJoin(f.field)); if (!r.filters.length) delete r.filters; }
    for (const m of r.measures) {
      if (m.filter) { m.filter = m.filter.filter((f) => !inJoin(f.field)); if (!m.filter.length) delete m.filter; }
    }
    r.measures = r.measures.filter((m) => !inJoin(m.field));
    if (!r.measures.length) r.measures = [{ key: "count", agg: "count", label: pair("rd_records") }];
  }, "join");
  announce(t("rd_removed"));
}

const cssId = (key) => [...key].map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : `_${c.codePointAt(0).toString(16)}`)).join("");

function usedKeys(report) {
  return new Set([...(report.dimensions || []).map((d) => d.key || d.field), ...(report.measures || []).map((m) => m.key)]);
}

function uniqueKey(report, base) {
  const used = usedKeys(report);
  const clean = base.replace(/[^\w\u4e00-\u9fff]/g, "_");
  let key = clean;
  for (let n = 2; used.has(key); n += 1) key = `${clean}_${n}`;
  return key;
}

function aggLabel(agg) {
  const a = aggregate(agg);
  return a ? a.label : { "zh-CN": agg, en: agg };
}

function measureLabel(agg, field) {
  if (!field) return pair("rd_records");
  const al = aggLabel(agg);
  return { "zh-CN": `${field.labels["zh-CN"] || field.ref}${al["zh-CN"]}`, en: `${al.en} of ${field.labels.en || field.ref}` };
}

function defaultFilter(field) {
  if (TEMPORAL.has(field.kind)) return { field: field.ref, op: "within_days", value: 30 };
  if (field.options) return { field: field.ref, op: "eq", value: field.options[0]?.value ?? "" };
  if (NUMERIC.has(field.kind)) return { field: field.ref, op: "gte", value: 0 };
  return { field: field.ref, op: "contains", value: "" };
}

// The new item a field makes in a slot (a date dimension is bucketed by day, a number is summed ...).
function makeItem(report, slot, field) {
  if (slot === "dimensions") {
    const dim = { field: field.ref, label: field.labels };
    if (TEMPORAL.has(field.kind)) dim.bucket = "day";
    if (usedKeys(report).has(field.ref)) dim.key = uniqueKey(report, field.ref);
    return dim;
  }
  if (slot === "measures") {
    const agg = NUMERIC.has(field.kind) ? "sum" : "count_distinct";
    return { key: uniqueKey(report, `${agg}_${field.ref}`), agg, field: field.ref, label: measureLabel(agg, field) };
  }
  return defaultFilter(field);
}

function addTo(slot, ref, before = null) {
  const field = fieldOf(ref);
  if (!field) return;
  let index = 0;
  edit((report) => {
    const list = (report[slot] ||= []);
    index = before === null ? list.length : before;
    list.splice(index, 0, makeItem(report, slot, field));
  }, "add");
  announce(`${t("rd_added")}${field.label} → ${t(`rd_${slot}`)}`);
  document.querySelector(`#slot-${slot} .slot-item[data-index="${index}"]`)?.focus();
}

// A slot item dragged by its grip: to another place in its slot, or into another slot (as that
// slot's kind of item; a record count has no field, so it stays a measure).
function moveDragged(src, slot, before) {
  const item = reportOf()[src.slot]?.[src.index];
  if (!item) return;
  if (src.slot === slot) {
    let to = before === null ? reportOf()[slot].length - 1 : before > src.index ? before - 1 : before;
    to = Math.max(0, to);
    if (to === src.index) return;
    edit((r) => { r[slot].splice(to, 0, ...r[slot].splice(src.index, 1)); }, "move");
    document.querySelector(`#slot-${slot} .slot-item[data-index="${to}"]`)?.focus();
    return;
  }
  const field = item.field && fieldOf(item.field);
  if (!field || (src.slot === "measures" && reportOf().measures.length === 1)) return;
  let index = 0;
  edit((r) => {
    r[src.slot].splice(src.index, 1);
    if (!r[src.slot].length && src.slot !== "measures") delete r[src.slot];
    const list = (r[slot] ||= []);
    index = before === null ? list.length : before;
    list.splice(index, 0, makeItem(r, slot, field));
  }, "move");
  announce(`${t("moved")}${field.label} → ${t(`rd_${slot}`)}`);
  document.querySelector(`#slot-${slot} .slot-item[data-index="${index}"]`)?.focus();
}

function addCount() {
  edit((report) => {
    report.measures.push({ key: uniqueKey(report, "count"), agg: "count", label: pair("rd_records") });
  }, "add");
  document.querySelector("#slot-measures .slot-item:last-child")?.focus();
}

function removeItem(slot, i) {
  edit((report) => {
    report[slot].splice(i, 1);
    if (!report[slot].length && slot !== "measures") delete report[slot];
  }, "remove");
  announce(t("rd_removed"));
  const items = document.querySelectorAll(`#slot-${slot} .slot-item`);
  (items[Math.min(i, items.length - 1)] || document.getElementById(`slot-${slot}`))?.focus();
}

function moveItem(slot, i, delta) {
  const j = i + delta;
  edit((report) => {
    const list = report[slot];
    if (j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j], list[i]];
  }, "move");
  document.querySelector(`#slot-${slot} .slot-item[data-index="${j}"]`)?.focus();
}

// -- fields panel ------------------------------------------------------------------------------------

function renderFields() {
  const report = reportOf();
  const formSelect = h("select", { id: "rd-form" }, ...(store.package.forms || []).map((f) =>
    h("option", { value: f.key, selected: f.key === report.form }, label(f.label, f.key))));
  if (!formOf(report.form)) formSelect.append(h("option", { value: report.form, selected: true }, `${report.form} ?`));
  formSelect.addEventListener("change", () => {
    const form = formSelect.value;
    edit((r) => {
      r.form = form;
      delete r.dimensions; delete r.filters; delete r.filter_expr; delete r.joins; delete r.sort; delete r.top;
      r.measures = [{ key: "count", agg: "count", label: pair("rd_records") }];
      if (r.options?.date_field) delete r.options.date_field;
    }, "form");
  });
  const targets = h("div", { class: "rd-targets", role: "radiogroup", "aria-label": t("rd_add_to") },
    h("span", { class: "small muted", id: "rd-target-help" }, t("rd_add_to")),
    ...SLOTS.map((slot) => h("label", { class: "rd-target" },
      h("input", { type: "radio", name: "rd-target", id: `rd-target-${slot}`, value: slot, checked: target === slot,
        onchange: () => { target = slot; } }), t(`rd_${slot}`))));
  const form = formOf(report.form);
  const joined = new Map((report.joins || []).map((j) => [j.field, j]));
  const links = fields.filter((f) => f.group === "form" && linkTarget(form, f.ref));
  const joinGroups = (report.joins || []).map((j) => [`join:${j.as}`,
    `${t("rd_joined")}: ${fieldName(j.field)} (${label(formOf(linkTarget(form, j.field))?.label, linkTarget(form, j.field) || "?")})`]);
  const groups = [["form", t("rd_form_fields")], ...joinGroups, ["system", t("rd_system_fields")], ["process", t("rd_process_fields")]];
  const joinBox = links.length ? h("section", { class: "rd-field-group rd-joins" }, h("h3", {}, t("rd_joins")),
    h("p", { class: "small muted" }, t("rd_joins_help")),
    ...links.map((f) => {
      const j = joined.get(f.ref);
      const target = formOf(linkTarget(form, f.ref));
      return h("button", { type: "button", class: "small rd-join", id: `rd-join-${cssId(f.ref)}`, "data-field": f.ref,
        "aria-pressed": j ? "true" : "false", onclick: () => (j ? removeJoin(j.as) : addJoin(f.ref)) },
      `${j ? "− " : "+ "}${f.label} → ${label(target?.label, linkTarget(form, f.ref))}`);
    })) : null;
  els.fields.replaceChildren(
    h("h2", {}, t("rd_fields")),
    h("div", { class: "prop" }, h("label", { for: "rd-form" }, t("rd_form")), formSelect,
      h("small", { class: "help" }, t("rd_change_form"))),
    targets,
    joinBox,
    ...groups.map(([group, title]) => {
      const items = fields.filter((f) => f.group === group);
      if (!items.length) return null;
      return h("section", { class: "rd-field-group" }, h("h3", {}, title),
        h("ul", { class: "rd-field-list" }, ...items.map((f) => h("li", {}, fieldButton(f)))));
    }));
}

function fieldButton(f) {
  const btn = h("button", { type: "button", class: "rd-field palette-item", draggable: "true", "data-field": f.ref,
    "data-kind": f.kind, title: t("drag_hint"), "aria-describedby": "rd-target-help" },
  h("span", { class: "rd-field-name" }, f.label), h("small", { class: "muted" }, ` ${f.kind}`));
  btn.addEventListener("click", () => addTo(target, f.ref));
  btn.addEventListener("dragstart", (e) => {
    dragging = f.ref;
    e.dataTransfer.setData(MIME, f.ref);
    e.dataTransfer.setData("text/plain", f.ref);
    e.dataTransfer.effectAllowed = "copy";
  });
  btn.addEventListener("dragend", () => {
    dragging = null;
    clearDrop();
    if (slotsStale) { slotsStale = false; keepFocus(() => { renderSlots(); renderProps(); }); }
  });
  return btn;
}

function clearDrop() {
  for (const el of document.querySelectorAll(".slot.drop-here")) el.classList.remove("drop-here");
}

// -- chart types --------------------------------------------------------------------------------------

function renderTypes() {
  const report = reportOf();
  els.types.replaceChildren(h("legend", {}, t("rd_chart_type")),
    ...catalog.charts.map((c) => h("label", { class: `rd-type${c.type === report.type ? " checked" : ""}`, "data-type": c.type },
      h("input", { type: "radio", name: "rd-type", id: `rd-type-${c.type}`, value: c.type, checked: c.type === report.type,
        onchange: () => setType(c.type) }),
      h("span", {}, label(c.label, c.type)),
      h("small", { class: "muted rd-type-counts" }, `${t("rd_dimensions")} ${span(c.dimensions)} · ${t("rd_measures")} ${span(c.measures)}`))));
}

function span([lo, hi]) { return lo === hi ? `${lo}` : `${lo}-${hi}`; }

function setType(type) {
  const c = chartType(type);
  edit((report) => {
    report.type = type;
    const allowed = Object.keys(c.options_schema?.properties || {});
    if (report.options) {
      for (const k of Object.keys(report.options)) if (!allowed.includes(k)) delete report.options[k];
      if (!Object.keys(report.options).length) delete report.options;
    }
  }, "type");
  document.getElementById(`rd-type-${type}`)?.focus();
}

// -- slots -------------------------------------------------------------------------------------------

function problemsAt(prefix) {
  return problems.filter((p) => p.pointer === prefix || p.pointer?.startsWith(`${prefix}/`));
}

function itemProblems(prefix) {
  const mine = /^\/(dimensions|measures|filters)$/.test(prefix) ? problems.filter((p) => p.pointer === prefix) : problemsAt(prefix);
  return mine.length ? h("p", { class: "item-problem", role: "note" }, ...mine.map((p) => h("span", { "data-code": p.code },
    h("code", {}, p.code), " ", p.message))) : null;
}

function grip(slot, i, name) {
  const el = h("span", { class: "grip", draggable: "true", title: t("drag_hint"), "aria-hidden": "true", "data-grip": `${slot}:${i}` }, "⠿");
  el.addEventListener("dragstart", (e) => {
    moving = { slot, index: i };
    e.dataTransfer.setData("text/plain", name);
    e.dataTransfer.effectAllowed = "move";
  });
  el.addEventListener("dragend", () => {
    moving = null;
    clearDrop();
    if (slotsStale) { slotsStale = false; keepFocus(() => { renderSlots(); renderProps(); }); }
  });
  return el;
}

function itemTools(slot, i, count, name) {
  return h("span", { class: "item-tools" },
    h("button", { type: "button", class: "icon", "aria-label": `${t("move_up")} ${name}`, disabled: i === 0,
      onclick: () => moveItem(slot, i, -1) }, "↑"),
    h("button", { type: "button", class: "icon", "aria-label": `${t("move_down")} ${name}`, disabled: i === count - 1,
      onclick: () => moveItem(slot, i, 1) }, "↓"),
    h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${name}`,
      onclick: () => removeItem(slot, i) }, "✕"));
}

function slotSection(slot, items, hint, extra = null) {
  const own = problems.filter((p) => p.pointer === `/${slot}`);   // e.g. a chart type taking fewer dimensions
  const section = h("section", { class: `slot card${own.length ? " has-problem" : ""}`, id: `slot-${slot}`, "data-slot": slot,
    tabindex: "-1", "aria-labelledby": `slot-${slot}-title` },
  h("h2", { id: `slot-${slot}-title` }, t(`rd_${slot}`),
    h("small", { class: "muted" }, ` (${items.length})`)),
  items.length ? h("ol", { class: "slot-items" }, ...items) : h("p", { class: "zone-empty" }, hint), extra,
  own.length ? itemProblems(`/${slot}`) : null);
  section.addEventListener("dragover", (e) => {
    if (!dragging && !moving) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = moving ? "move" : "copy";
    section.classList.add("drop-here");
  });
  section.addEventListener("dragleave", (e) => { if (!section.contains(e.relatedTarget)) section.classList.remove("drop-here"); });
  section.addEventListener("drop", (e) => {
    e.preventDefault();
    const over = e.target.closest?.(".slot-item");
    const before = over && section.contains(over) ? Number(over.dataset.index) : null;
    const src = moving;
    const ref = dragging || (!src && e.dataTransfer.getData(MIME));
    dragging = null;
    moving = null;
    clearDrop();
    if (src) moveDragged(src, slot, before);
    else if (ref) addTo(slot, ref, before);
  });
  return section;
}

function renderSlots() {
  slotsStale = false;
  const report = reportOf();
  const dims = report.dimensions || [];
  const measures = report.measures || [];
  const filters = report.filters || [];
  els.slots.replaceChildren(
    slotSection("dimensions", dims.map((d, i) => dimensionItem(d, i, dims.length)), t("rd_drop_dimension")),
    slotSection("measures", measures.map((m, i) => measureItem(m, i, measures.length)), t("rd_drop_measure"),
      h("div", { class: "rd-slot-actions" },
        h("button", { type: "button", class: "small", id: "rd-add-count", onclick: addCount }, `+ ${t("rd_add_count")}`),
        h("button", { type: "button", class: "small", id: "rd-add-formula", onclick: addFormula }, `+ ${t("rd_add_formula")}`))),
    slotSection("filters", filters.map((f, i) => filterItem(f, i, filters.length)), t("rd_drop_filter"),
      filterExprEditor(report)));
}

function fieldName(ref) { return fieldOf(ref)?.label || ref; }

// A condition in the expression language over the form's fields, translated to SQL by the engine.
function filterExprEditor(report) {
  const editor = new ExprEditor({ id: "rd-filter-expr", label: t("rd_filter_expr"), value: report.filter_expr || "",
    names: () => fields.filter((f) => f.group !== "process").map((f) => ({ key: f.ref, label: f.label, labels: f.labels })),
    library, onChange: (value) => edit((r) => {
      if (value && value.trim()) r.filter_expr = value; else delete r.filter_expr;
    }, "filter_expr", { quiet: true, coalesce: "rd-filter-expr" }) });
  return h("div", { class: "rd-expr" }, editor.el, itemProblems("/filter_expr"));
}

// A measure computed from the measures before it (per group, after aggregation): done / total.
function addFormula() {
  const report = reportOf();
  const earlier = (report.measures || []).map((m) => m.key);
  edit((r) => {
    r.measures.push({ key: uniqueKey(r, "formula"), formula: earlier.length > 1 ? `${earlier[1]} / ${earlier[0]}` : earlier[0] || "0",
      label: pair("rd_formula"), format: earlier.length > 1 ? "percent" : "number" });
  }, "add");
  document.querySelector("#slot-measures .slot-item:last-child")?.focus();
}

function dimensionItem(d, i, count) {
  const field = fieldOf(d.field);
  const name = fieldName(d.field);
  const pointer = `/dimensions/${i}`;
  let bucket = null;
  if (!field || TEMPORAL.has(field.kind) || d.bucket) {
    const id = `dim-${i}-bucket`;
    const select = h("select", { id, onchange: () => edit((r) => {
      if (select.value) r.dimensions[i].bucket = select.value; else delete r.dimensions[i].bucket;
    }, "bucket") }, h("option", { value: "" }, t("rd_no_bucket")),
    ...catalog.buckets.map((b) => h("option", { value: b, selected: d.bucket === b }, t(`bucket_${b}`))));
    bucket = h("span", { class: "rd-inline" }, h("label", { for: id, class: "small" }, t("rd_bucket")), select);
  }
  return h("li", { class: `slot-item${problemsAt(pointer).length ? " has-problem" : ""}`, tabindex: "0", "data-index": String(i),
    "data-field": d.field, "aria-label": `${t("rd_dimensions")} ${i + 1}: ${name}`, onkeydown: (e) => itemKeys(e, "dimensions", i) },
  h("div", { class: "rd-item-head" }, grip("dimensions", i, name), h("span", { class: "item-label" }, name), bucket,
    itemTools("dimensions", i, count, name)),
  itemProblems(pointer));
}

function measureItem(m, i, count) {
  const pointer = `/measures/${i}`;
  const field = m.field ? fieldOf(m.field) : null;
  const name = m.field ? fieldName(m.field) : m.formula !== undefined ? t("rd_formula") : m.agg ? t("rd_records") : m.key;
  const head = [grip("measures", i, name), h("span", { class: "item-label" }, name)];
  if (m.agg) {
    const id = `m-${i}-agg`;
    const choices = catalog.aggregates.filter((a) => {
      if (!m.field) return !a.needs_field;
      if (a.agg === "percent_of_total") return false;
      return a.needs_field && (!a.numeric || (field && NUMERIC.has(field.kind))) || a.agg === "count";
    });
    const select = h("select", { id, onchange: () => setAgg(i, select.value) },
      ...choices.map((a) => h("option", { value: a.agg, selected: a.agg === m.agg }, label(a.label, a.agg))));
    if (!choices.some((a) => a.agg === m.agg)) select.append(h("option", { value: m.agg, selected: true }, m.agg));
    head.push(h("span", { class: "rd-inline" }, h("label", { for: id, class: "small" }, t("rd_aggregate")), select));
  }
  const body = [];
  if (m.agg === "percent_of_total") {
    const id = `m-${i}-of`;
    const earlier = (reportOf().measures || []).slice(0, i).filter((x) => x.agg === "count" || x.agg === "sum");
    const select = h("select", { id, onchange: () => edit((r) => { r.measures[i].of = select.value; }, "of") },
      h("option", { value: "" }, t("none")),
      ...earlier.map((x) => h("option", { value: x.key, selected: x.key === m.of }, label(x.label, x.key))));
    body.push(h("div", { class: "rd-inline" }, h("label", { for: id, class: "small" }, t("rd_share_of")), select));
  }
  if (m.formula !== undefined) {
    const earlier = (reportOf().measures || []).slice(0, i);
    const editor = new ExprEditor({ id: `m-${i}-formula`, label: t("rd_formula"), value: m.formula,
      names: () => earlier.map((x) => ({ key: x.key, label: label(x.label, x.key) })), library,
      onChange: (value) => edit((r) => { r.measures[i].formula = value; }, "formula", { quiet: true, coalesce: `m-${i}-formula` }) });
    const fmt = h("select", { id: `m-${i}-format`, onchange: () => edit((r) => {
      if (fmt.value) r.measures[i].format = fmt.value; else delete r.measures[i].format;
    }, "format") }, h("option", { value: "" }, t("none")),
    ...["number", "integer", "percent", "duration"].map((f) => h("option", { value: f, selected: m.format === f }, t(`fmt_${f}`))));
    body.push(editor.el, h("div", { class: "rd-inline" }, h("label", { for: `m-${i}-format`, class: "small" }, t("rd_format")), fmt));
  }
  const labelId = `m-${i}-label`;
  const labelBox = h("input", { id: labelId, value: labelIn(m.label, LANG) || "", placeholder: m.key,
    oninput: () => edit((r) => { const v = setLabel(r.measures[i].label, labelBox.value); if (v) r.measures[i].label = v; else delete r.measures[i].label; },
      "label", { quiet: true, coalesce: labelId }) });
  body.push(h("div", { class: "rd-inline" }, h("label", { for: labelId, class: "small" }, t("rd_measure_label")), labelBox));
  if (m.agg && m.agg !== "percent_of_total") {
    const conds = m.filter || [];
    body.push(h("div", { class: "rd-conditions" },
      conds.length ? h("p", { class: "small muted" }, t("rd_condition")) : null,
      ...conds.map((c, j) => filterRow(`m-${i}-c-${j}`, c,
        (next, opts) => edit((r) => { r.measures[i].filter[j] = next; }, "condition", opts),
        () => edit((r) => { r.measures[i].filter.splice(j, 1); if (!r.measures[i].filter.length) delete r.measures[i].filter; }, "condition"),
        `${pointer}/filter/${j}`)),
      h("button", { type: "button", class: "small", id: `m-${i}-add-cond`, onclick: () => {
        const first = fields.find((f) => f.options) || fields[0];
        edit((r) => { (r.measures[i].filter ||= []).push(defaultFilter(first)); }, "condition");
        document.getElementById(`m-${i}-c-${conds.length}-field`)?.focus();
      } }, `+ ${t("rd_add_condition")}`)));
  }
  return h("li", { class: `slot-item${problemsAt(pointer).length ? " has-problem" : ""}`, tabindex: "0", "data-index": String(i),
    "data-key": m.key, "data-field": m.field || "", "aria-label": `${t("rd_measures")} ${i + 1}: ${name}`,
    onkeydown: (e) => itemKeys(e, "measures", i) },
  h("div", { class: "rd-item-head" }, ...head, itemTools("measures", i, count, name)), ...body, itemProblems(pointer));
}

function setAgg(i, agg) {
  edit((r) => {
    const m = r.measures[i];
    const old = measureLabel(m.agg, fieldOf(m.field));
    const wasDefault = JSON.stringify(m.label) === JSON.stringify(old);
    m.agg = agg;
    if (agg === "percent_of_total") {
      delete m.field; delete m.filter;
      m.of = (r.measures.slice(0, i).find((x) => x.agg === "count" || x.agg === "sum") || {}).key;
      if (!m.of) delete m.of;
    } else delete m.of;
    if (wasDefault) m.label = agg === "percent_of_total" ? aggLabel(agg) : measureLabel(agg, fieldOf(m.field));
  }, "aggregate");
  document.getElementById(`m-${i}-agg`)?.focus();
}

function filterItem(f, i, count) {
  const pointer = `/filters/${i}`;
  const name = fieldName(f.field);
  return h("li", { class: `slot-item${problemsAt(pointer).length ? " has-problem" : ""}`, tabindex: "0", "data-index": String(i),
    "data-field": f.field, "aria-label": `${t("rd_filters")} ${i + 1}: ${name}`, onkeydown: (e) => itemKeys(e, "filters", i) },
  h("div", { class: "rd-item-head" }, grip("filters", i, name), h("span", { class: "item-label" }, name),
    itemTools("filters", i, count, name)),
  filterRow(`f-${i}`, f, (next, opts) => edit((r) => { r.filters[i] = next; }, "filter", opts), null, pointer),
  itemProblems(pointer));
}

function itemKeys(e, slot, i) {
  if (e.target !== e.currentTarget) return;
  if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); removeItem(slot, i); }
  else if (e.altKey && e.key === "ArrowUp") { e.preventDefault(); moveItem(slot, i, -1); }
  else if (e.altKey && e.key === "ArrowDown") { e.preventDefault(); moveItem(slot, i, 1); }
}

// One condition {field, op, value}: field, operator and a value control shaped by the operator.
function filterRow(prefix, flt, set, remove, pointer) {
  const field = fieldOf(flt.field);
  const fieldSel = h("select", { id: `${prefix}-field`, "aria-label": t("dd_filter_field") },
    ...fields.map((f) => h("option", { value: f.ref, selected: f.ref === flt.field }, f.label)));
  if (!field) fieldSel.append(h("option", { value: flt.field, selected: true }, `${flt.field} ?`));
  fieldSel.addEventListener("change", () => {
    const next = fieldOf(fieldSel.value);
    set(defaultFilter(next));
  });
  const opSel = h("select", { id: `${prefix}-op`, "aria-label": t("rd_operator") },
    ...catalog.operators.map((o) => h("option", { value: o.op, selected: o.op === flt.op }, label(o.label, o.op))));
  opSel.addEventListener("change", () => set({ field: flt.field, op: opSel.value, ...defaultValue(opSel.value, field) }));
  const value = valueControl(prefix, flt, field, set);
  return h("div", { class: "rd-filter", "data-pointer": pointer }, fieldSel, opSel, value,
    remove ? h("button", { type: "button", class: "icon danger", "aria-label": t("remove"), onclick: remove }, "✕") : null);
}

function defaultValue(op, field) {
  const shape = operator(op)?.value;
  if (shape === "none") return {};
  if (shape === "days") return { value: 30 };
  if (shape === "list") return { value: field?.options ? [field.options[0].value] : [] };
  if (shape === "pair") return { value: ["", ""] };
  if (shape === "one" && field?.options) return { value: field.options[0].value };
  return { value: "" };
}

function typed(field, raw) {
  if (field && NUMERIC.has(field.kind) && raw !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

function inputFor(id, field, value, onInput, aria) {
  const type = field && TEMPORAL.has(field.kind) ? "date" : field && NUMERIC.has(field.kind) ? "number" : "text";
  const box = h("input", { id, type, value: value ?? "", "aria-label": aria });
  box.addEventListener(type === "text" ? "input" : "change", () => onInput(typed(field, box.value)));
  return box;
}

function valueControl(prefix, flt, field, set) {
  const shape = operator(flt.op)?.value;
  const id = `${prefix}-value`;
  const setQuiet = (value) => {
    flt = { ...flt, value };
    set(flt, { quiet: true, coalesce: id });
  };
  if (shape === "none") return null;
  if (shape === "days") {
    const box = h("input", { id, type: "number", min: "1", value: flt.value ?? 30, "aria-label": t("rd_days"), class: "rd-days" });
    box.addEventListener("change", () => set({ ...flt, value: box.value === "" ? "" : Number(box.value) }));
    return h("span", { class: "rd-inline" }, box, h("span", { class: "small" }, t("rd_days")));
  }
  if (shape === "pair") {
    const v = Array.isArray(flt.value) ? flt.value : ["", ""];
    const a = inputFor(`${id}-0`, field, v[0], (x) => set({ ...flt, value: [x, v[1]] }), t("rd_from"));
    const b = inputFor(`${id}-1`, field, v[1], (x) => set({ ...flt, value: [v[0], x] }), t("rd_to"));
    return h("span", { class: "rd-inline" }, a, "–", b);
  }
  if (shape === "list" && field?.options) {
    const chosen = new Set(Array.isArray(flt.value) ? flt.value : []);
    return h("span", { class: "rd-checks", id, role: "group", "aria-label": t("rd_value") }, ...field.options.map((o, k) => {
      const box = h("input", { type: "checkbox", id: `${id}-${k}`, "data-value": JSON.stringify(o.value), checked: chosen.has(o.value), onchange: () => {
        const next = field.options.map((x) => x.value).filter((x, n) => (n === k ? box.checked : chosen.has(x)));
        set({ ...flt, value: next });
      } });
      return h("label", { class: "small" }, box, label(o.label, String(o.value)));
    }));
  }
  if (shape === "list") {
    const box = h("input", { id, value: Array.isArray(flt.value) ? flt.value.join(", ") : "", "aria-label": t("rd_value"),
      placeholder: "a, b, c" });
    box.addEventListener("input", () => setQuiet(box.value.split(/[,，]/).map((x) => typed(field, x.trim())).filter((x) => x !== "")));
    return box;
  }
  if (shape === "one" && field?.options) {
    const select = h("select", { id, "aria-label": t("rd_value") },
      ...field.options.map((o) => h("option", { value: JSON.stringify(o.value), selected: o.value === flt.value }, label(o.label, String(o.value)))));
    select.addEventListener("change", () => set({ ...flt, value: JSON.parse(select.value) }));
    return select;
  }
  if (shape === "one" && field && (TEMPORAL.has(field.kind) || NUMERIC.has(field.kind))) {
    return inputFor(id, field, flt.value, (x) => set({ ...flt, value: x }), t("rd_value"));
  }
  const box = h("input", { id, value: flt.value ?? "", "aria-label": t("rd_value") });
  box.addEventListener("input", () => setQuiet(typed(field, box.value)));
  return box;
}

// -- properties ---------------------------------------------------------------------------------------

function renderProps() {
  const report = reportOf();
  const c = chartType(report.type);
  const lab = (lang, id) => {
    const box = h("input", { id, value: labelIn(report.label, lang) });
    box.addEventListener("input", () => edit((r) => {
      const v = setLabel(r.label, box.value, lang);
      if (v) r.label = v; else delete r.label;
    }, "label", { quiet: true, coalesce: id }));
    box.addEventListener("change", renderTitle);
    return box;
  };
  const keys = [...(report.dimensions || []).map((d) => d.key || d.field), ...(report.measures || []).map((m) => m.key)];
  const sort = (report.sort || [])[0];
  const sortBy = h("select", { id: "rd-sort-by", onchange: () => edit((r) => {
    if (sortBy.value) r.sort = [{ by: sortBy.value, dir: sortDir.value }]; else delete r.sort;
  }, "sort") }, h("option", { value: "" }, t("none")), ...keys.map((k) => h("option", { value: k, selected: sort?.by === k }, k)));
  const sortDir = h("select", { id: "rd-sort-dir", "aria-label": t("rd_sort"), onchange: () => edit((r) => {
    if (r.sort) r.sort[0].dir = sortDir.value;
  }, "sort") }, h("option", { value: "asc", selected: sort?.dir !== "desc" }, t("rd_asc")),
  h("option", { value: "desc", selected: sort?.dir === "desc" }, t("rd_desc")));
  const limit = h("input", { id: "rd-limit", type: "number", min: "1", max: "10000", value: report.limit ?? "",
    onchange: () => edit((r) => { if (limit.value) r.limit = Number(limit.value); else delete r.limit; }, "limit") });
  const topN = h("input", { id: "rd-top-n", type: "number", min: "1", max: "1000", value: report.top?.n ?? "",
    onchange: () => edit((r) => {
      if (topN.value) r.top = { ...(r.top || {}), n: Number(topN.value) }; else delete r.top;
    }, "top") });
  const topOthers = h("input", { id: "rd-top-others", type: "checkbox", checked: !!report.top?.others, disabled: !report.top,
    onchange: () => edit((r) => { if (r.top) { if (topOthers.checked) r.top.others = true; else delete r.top.others; } }, "top") });
  // how long the chart's data may be served from the cache (report spec cache_seconds; 0 = never)
  const cache = h("input", { id: "rd-cache-seconds", type: "number", min: "0", max: "86400", step: "1",
    placeholder: "300", value: report.cache_seconds ?? "", "aria-describedby": "rd-cache-help",
    onchange: () => edit((r) => {
      if (cache.value === "") delete r.cache_seconds; else r.cache_seconds = Number(cache.value);
    }, "cache") });
  const dateFields = fields.filter((f) => TEMPORAL.has(f.kind)).map((f) => [f.ref, f.label]);
  const options = c ? schemaForm(labelledOptions(c.options_schema), report.options || {}, (key, value) => edit((r) => {
    r.options ||= {};
    if (value === undefined) delete r.options[key]; else r.options[key] = value;
    if (!Object.keys(r.options).length) delete r.options;
  }, "options"), { choices: { date_field: dateFields } }) : null;
  els.props.replaceChildren(
    h("h2", {}, t("properties")),
    h("div", { class: "prop" }, h("label", { for: "rd-label-zh" }, `${t("rd_report_label")} (${t("rd_in_zh")})`), lab("zh-CN", "rd-label-zh")),
    h("div", { class: "prop" }, h("label", { for: "rd-label-en" }, `${t("rd_report_label")} (${t("rd_in_en")})`), lab("en", "rd-label-en")),
    h("p", { class: "small muted" }, `${t("item_key")}: `, h("code", {}, report.key)),
    h("h3", {}, `${t("rd_options")}: ${c ? label(c.label, c.type) : report.type}`), options,
    ...(problemsAt("/options").length ? [itemProblems("/options")] : []),
    h("h3", {}, t("rd_sort")),
    h("div", { class: "prop" }, h("label", { for: "rd-sort-by" }, t("rd_sort_by")), h("div", { class: "pair" }, sortBy, sortDir)),
    h("div", { class: "prop" }, h("label", { for: "rd-limit" }, t("rd_limit")), limit),
    h("div", { class: "prop" }, h("label", { for: "rd-top-n" }, t("rd_top")), topN),
    h("div", { class: "prop check" }, topOthers, h("label", { for: "rd-top-others" }, t("rd_top_others"))),
    ...(problemsAt("/top").length ? [itemProblems("/top")] : []),
    h("h3", {}, t("rd_cache")),
    h("div", { class: "prop" }, h("label", { for: "rd-cache-seconds" }, t("rd_cache_seconds")), cache,
      h("small", { class: "help", id: "rd-cache-help" }, t("rd_cache_help"))),
    ...(problemsAt("/cache_seconds").length ? [itemProblems("/cache_seconds")] : []));
}

let title = null;            // the report's name, edited in place in the heading
function renderTitle() {
  title ||= titleEditor(els.title, { get: () => label(reportOf()?.label, reportKey),
    set: (text) => edit((r) => { r.label = relabel(r.label, text); }, "edit", { coalesce: "report-title" }) });
  title.render();
}

// -- live chart -------------------------------------------------------------------------------------

let chartTimer = null;
let chartSeq = 0;
function scheduleChart() {
  clearTimeout(chartTimer);
  chartSeq += 1;             // an answer still on its way is for an older definition: drop it
  els.chart.dataset.state = "pending";
  chartTimer = setTimeout(runChart, 300);
}

async function runChart() {
  const seq = ++chartSeq;
  const definition = reportOf();
  if (!definition) return;
  els.chartState.textContent = t("rd_loading");
  els.chart.dataset.state = "loading";
  let result = null;
  let errors = [];
  try {
    result = await post(`/apps/${enc(appKey)}/reports/preview`, { report: definition, lang: LANG });
  } catch (err) {
    errors = err.errors?.length ? err.errors : [{ code: err.code || "error", message: err.message }];
  }
  if (seq !== chartSeq || !reportOf()) return;  // a later change is on its way (or the report was undone)
  const changed = JSON.stringify(problems) !== JSON.stringify(errors);
  problems = errors;
  if (changed) {
    renderProblems();
    if (dragging || moving) slotsStale = true;   // not under a field being dragged: after the drop
    else keepFocus(() => { renderSlots(); renderProps(); });
  }
  if (errors.length) {
    purge(els.chart);
    els.chart.replaceChildren(h("p", { class: "tile-error" },
      errors.some((e) => e.code === "report.unknown_form") ? t("rd_form_unpublished") : t("rd_problems")));
    els.chart.dataset.state = "error";
    els.chart.dataset.rows = "[]";
    els.chartState.textContent = "";
    return;
  }
  els.chart.dataset.rows = JSON.stringify(result.rows);
  els.chart.dataset.type = result.type;
  // a form only in the draft: drawn on sample records of its fields (never another app's records)
  els.chart.dataset.sample = result.sample ? "1" : "";
  renderExplain(result.explain);
  if (result.empty) {
    purge(els.chart);
    els.chart.replaceChildren(h("p", { class: "tile-empty" }, t("rd_empty")));
    els.chart.dataset.state = "empty";
  } else {
    let plot = els.chart.querySelector(".plot");   // drawn again in place: newPlot replaces the old figure
    if (!plot) {
      plot = h("div", { class: "plot" });
      els.chart.replaceChildren(plot);
    }
    await drawFigure(plot, result.figure);
    if (seq !== chartSeq) return;
    els.chart.dataset.state = "ok";
  }
  els.chartState.textContent = result.sample ? t("rd_sample") : "";
}

// how the database runs the chart's query: the indexes it uses, the forms it reads whole, the plan
function renderExplain(explain) {
  els.explain.hidden = !explain;
  if (!explain) return;
  const none = t("rd_none");
  const items = [
    [t("rd_indexes"), explain.indexes.join(", ") || none, "indexes"],
    [t("rd_full_scans"), explain.full_scans.join(", ") || none, "scans"],
  ];
  if (explain.rows_estimate !== null && explain.rows_estimate !== undefined) {
    items.push([t("rd_rows_estimate"), String(explain.rows_estimate), "rows"]);
  }
  els.explainBody.replaceChildren(
    h("dl", {}, ...items.flatMap(([term, value, name]) => [h("dt", {}, term), h("dd", { "data-explain": name }, value)])),
    h("pre", { class: "rd-plan" }, explain.plan.join("\n")));
}

function renderProblems() {
  els.problems.hidden = !problems.length;
  els.problems.replaceChildren(h("h2", {}, `${t("rd_problems")} (${problems.length})`), codedErrors(problems, pickProblem));
}

function pickProblem(problem) {
  const m = /^\/(dimensions|measures|filters)\/(\d+)/.exec(problem.pointer || "");
  if (m) document.querySelector(`#slot-${m[1]} .slot-item[data-index="${m[2]}"]`)?.focus();
  else if (problem.pointer?.startsWith("/type")) document.querySelector("#rd-types input:checked")?.focus();
  else if (problem.pointer?.startsWith("/form")) document.getElementById("rd-form")?.focus();
  else if (/^\/(dimensions|measures|filters)$/.test(problem.pointer || "")) document.getElementById(`slot${problem.pointer.replace("/", "-")}`)?.focus();
}

// -- start --------------------------------------------------------------------------------------------

function renderAll() {
  refreshFields();
  keepFocus(() => {
    renderFields();
    renderTypes();
    renderSlots();
    renderProps();
  });
  renderTitle();
  toolbar.render();
}

function starting(text) {
  const form = (store.package.forms || [])[0];
  return { key: reportKey, version: 1, label: { "zh-CN": text, en: text }, type: "bar", form: form ? form.key : "",
    measures: [{ key: "count", agg: "count", label: pair("rd_records") }] };
}

async function start() {
  let registry;
  [registry, catalog] = await Promise.all([get("/registries"), fetch(root.dataset.catalog, {
    credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => r.json()), store.load()]);
  widgets = widgetIndex(registry);
  library = registry.expressions;
  if (registry.charts) catalog.charts = registry.charts;  // the builder's registry call lists the same types
  toolbar = bindToolbar(store);
  if (!(await createIfNew(store, "reports", reportKey, starting))) {
    els.slots.replaceChildren(h("p", { role: "alert", class: "field-error" }, `${t("rd_not_found")}: ${reportKey}`));
    return;
  }
  followDraft(store, toolbar, { exists: () => reportOf(), renderAll, refresh: scheduleChart, holder: els.slots, placeholderId: "rd-missing" });
  document.getElementById("btn-publish").addEventListener("click", async () => {
    const result = await publishFlow(store, { onErrors: (errs) => {
      const mine = errs.filter((x) => x.pointer?.startsWith(`/reports/${(store.package.reports || []).indexOf(reportOf())}`));
      problems = mine.map((x) => ({ ...x, pointer: x.pointer.replace(/^\/reports\/\d+/, "") }));
      renderProblems();
    } });
    if (result) {
      renderAll();
      document.getElementById("save-state").textContent = `${t("publish_ok")}${result.to_version}`;
    }
  });
  renderAll();
  scheduleChart();
  root.dataset.ready = "1";
}

start().catch((err) => {
  els.slots.replaceChildren(h("p", { role: "alert", class: "field-error" }, err.message));
});
