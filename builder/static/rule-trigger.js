// The trigger picker: every trigger type the rule registry lists (engines/rule/triggers.py),
// grouped, with the settings each one takes — watched fields, from/to values, the sub-table,
// a cron schedule, "N hours after a date field" on wall-clock or business-calendar time,
// and the flow and task of task/flow events.
import { t, h, label } from "./i18n.js";
import { fieldSelect, fieldText, listInput, scalarInput } from "./rule-fields.js";

const GROUPS = [
  ["rule_group_record", ["record_created", "record_updated", "record_saved", "record_deleted", "record_restored", "field_changed"]],
  ["rule_group_row", ["row_added", "row_updated", "row_removed"]],
  ["rule_group_time", ["time_after", "schedule"]],
  ["rule_group_flow", ["task_created", "task_completed", "task_overdue", "flow_started", "flow_ended"]],
  ["rule_group_manual", ["manual"]],
];
const UNITS = ["minutes", "hours", "days"];
const CRON_PRESETS = [["rule_cron_daily", "0 9 * * *"], ["rule_cron_workdays", "0 9 * * 1-5"],
  ["rule_cron_hourly", "0 * * * *"], ["rule_cron_monday", "0 9 * * 1"]];
// what a trigger keeps when the type changes: nothing but the type
const KEEP = { time_after: ["field", "calendar"], field_changed: ["field"] };

const triggerText = (type) => {
  const text = t(`rule_t_${type}`);
  return text === `rule_t_${type}` ? type : text;
};

export function renderTrigger(ctx, rule) {
  const trig = rule.trigger || { type: "record_created" };
  const known = ctx.catalogue.triggers || GROUPS.flatMap(([, types]) => types);
  const grouped = new Set(GROUPS.flatMap(([, types]) => types));
  const select = h("select", { id: "rule-trigger-type", onchange: () => ctx.edit((r) => {
    const old = r.trigger || {};
    const next = { type: select.value };
    for (const k of KEEP[select.value] || []) if (k in old) next[k] = old[k];
    if (select.value === "time_after") {
      if (!next.field) next.field = "created_at";
      next.hours = 2;
    }
    if (select.value === "schedule") { next.cron = "0 9 * * *"; next.tz = "Asia/Shanghai"; }
    r.trigger = next;
  }, { focus: "rule-trigger-type" }) },
  ...GROUPS.map(([g, types]) => h("optgroup", { label: t(g) },
    ...types.filter((tp) => known.includes(tp)).map((tp) => h("option", { value: tp, selected: tp === trig.type }, triggerText(tp))))),
  ...known.filter((tp) => !grouped.has(tp)).map((tp) => h("option", { value: tp, selected: tp === trig.type }, triggerText(tp))));
  const settings = h("div", { class: "rule-trigger-settings" }, ...settingsFor(ctx, trig));
  return h("div", { class: "rule-trigger" },
    h("div", { class: "prop" }, h("label", { for: select.id }, t("rule_trigger_type")), select), settings);
}

function setTrigger(ctx, fn, opts) {
  ctx.edit((r) => { r.trigger = r.trigger || { type: "record_created" }; fn(r.trigger); }, opts);
}

function prop(id, text, control) {
  return h("div", { class: "prop" }, h("label", { for: id }, text), control);
}

function settingsFor(ctx, trig) {
  const fields = ctx.fields();
  switch (trig.type) {
    case "record_updated":
    case "record_saved":
      return [fieldChecks(ctx, trig, fields.filter((f) => !f.system))];
    case "field_changed": {
      const field = fields.find((f) => f.key === trig.field);
      // from/to: one value, or for a field with options any of several (ticked)
      const valueBox = (which, text) => (field?.options ? listInput : scalarInput)({ id: `rule-trigger-${which}`, field,
        value: trig[which], labelText: text, onInput: (v, meta) => setTrigger(ctx, (tr) => {
          const one = Array.isArray(v) ? (v.length === 0 ? undefined : v.length === 1 ? v[0] : v) : v;
          if (one === undefined) delete tr[which]; else tr[which] = one;
        }, meta?.typing ? { coalesce: `rule-trigger-${which}`, rerender: false } : { rerender: false }) });
      return [
        prop("rule-trigger-field", t("rule_field"), fieldSelect({ id: "rule-trigger-field", fields: fields.filter((f) => !f.system),
          value: trig.field, labelText: t("rule_field"),
          onChange: (k) => setTrigger(ctx, (tr) => { tr.field = k; delete tr.from; delete tr.to; }, { focus: "rule-trigger-field" }) })),
        h("div", { class: "rule-row" }, prop("rule-trigger-from", t("rule_from"), valueBox("from", t("rule_from"))),
          prop("rule-trigger-to", t("rule_to"), valueBox("to", t("rule_to")))),
      ];
    }
    case "row_added":
    case "row_updated":
    case "row_removed":
      return [prop("rule-trigger-subtable", t("rule_subtable"), fieldSelect({ id: "rule-trigger-subtable",
        fields: fields.filter((f) => f.widget === "subtable"), value: trig.subtable, labelText: t("rule_subtable"),
        onChange: (k) => setTrigger(ctx, (tr) => { if (k) tr.subtable = k; else delete tr.subtable; }, { focus: "rule-trigger-subtable" }) }))];
    case "time_after":
      return timeAfter(ctx, trig, fields);
    case "schedule":
      return schedule(ctx, trig);
    case "task_created":
    case "task_completed":
    case "task_overdue":
    case "flow_started":
    case "flow_ended":
      return flowEvent(ctx, trig);
    default:
      return [];
  }
}

function fieldChecks(ctx, trig, fields) {
  const watched = Array.isArray(trig.fields) ? trig.fields : [];
  return h("fieldset", { class: "rule-checks", id: "rule-trigger-fields" }, h("legend", {}, t("rule_watch_fields")),
    ...fields.map((f, i) => {
      const cb = h("input", { type: "checkbox", id: `rule-trigger-fields-${i}`, checked: watched.includes(f.key),
        onchange: () => setTrigger(ctx, (tr) => {
          const next = fields.filter((x, j) => (j === i ? cb.checked : (tr.fields || []).includes(x.key))).map((x) => x.key);
          if (next.length) tr.fields = next; else delete tr.fields;
        }, { rerender: false }) });
      return h("label", { class: "rule-check", for: cb.id }, cb, " ", fieldText(f));
    }));
}

function timeAfter(ctx, trig, fields) {
  const unit = UNITS.find((u) => typeof trig[u] === "number") || "hours";
  const amount = typeof trig[unit] === "number" ? trig[unit] : 0;
  const before = amount < 0;
  const write = (fn, opts) => setTrigger(ctx, (tr) => {
    const cur = { unit: UNITS.find((u) => typeof tr[u] === "number") || "hours" };
    cur.n = Math.abs(tr[cur.unit] || 0);
    cur.before = (tr[cur.unit] || 0) < 0;
    fn(cur);
    for (const u of UNITS) delete tr[u];
    tr[cur.unit] = cur.before ? -cur.n : cur.n;
  }, opts);
  const dateFields = fields.filter((f) => ["date", "datetime"].includes(f.valueKind));
  const n = h("input", { id: "rule-trigger-amount", type: "number", min: "0", step: "any", value: String(Math.abs(amount)),
    "aria-label": t("rule_amount") });
  n.addEventListener("input", () => {
    const v = Number(n.value);
    if (n.value !== "" && Number.isFinite(v)) write((c) => { c.n = Math.abs(v); }, { coalesce: "rule-trigger-amount", rerender: false });
  });
  const unitSel = h("select", { id: "rule-trigger-unit", "aria-label": t("rule_unit"),
    onchange: () => write((c) => { c.unit = unitSel.value; }, { focus: "rule-trigger-unit" }) },
  ...UNITS.map((u) => h("option", { value: u, selected: u === unit }, t(`rule_${u}`))));
  const dirSel = h("select", { id: "rule-trigger-direction", "aria-label": t("rule_direction"),
    onchange: () => write((c) => { c.before = dirSel.value === "before"; }, { focus: "rule-trigger-direction" }) },
  h("option", { value: "after", selected: !before }, t("rule_after")),
  h("option", { value: "before", selected: before }, t("rule_before")));
  const calendars = (ctx.pkg().calendars || []).filter((c) => c && c.key);
  const calSel = h("select", { id: "rule-trigger-calendar", onchange: () => setTrigger(ctx, (tr) => {
    if (calSel.value) tr.calendar = calSel.value; else delete tr.calendar;
  }, { focus: "rule-trigger-calendar" }) },
  h("option", { value: "" }, t("rule_wall_clock")),
  ...calendars.map((c) => h("option", { value: c.key, selected: c.key === trig.calendar }, t("rule_on_calendar") + label(c.label, c.key))));
  if (trig.calendar && !calendars.some((c) => c.key === trig.calendar)) calSel.append(h("option", { value: trig.calendar, selected: true }, `${trig.calendar} ?`));
  const field = fields.find((f) => f.key === trig.field);
  return [
    h("div", { class: "rule-row rule-time" },
      prop("rule-trigger-field", t("rule_date_field"), fieldSelect({ id: "rule-trigger-field", fields: dateFields, value: trig.field,
        labelText: t("rule_date_field"), onChange: (k) => setTrigger(ctx, (tr) => { if (k) tr.field = k; else delete tr.field; }, { focus: "rule-trigger-field" }) })),
      prop("rule-trigger-direction", t("rule_direction"), dirSel),
      prop("rule-trigger-amount", t("rule_amount"), n),
      prop("rule-trigger-unit", t("rule_unit"), unitSel)),
    prop("rule-trigger-calendar", t("rule_calendar"), calSel),
    h("p", { class: "muted rule-summary", id: "rule-trigger-summary" }, t("rule_time_summary", {
      field: field ? field.label : (trig.field || "?"), dir: t(before ? "rule_before" : "rule_after"),
      n: String(Math.abs(amount)), unit: t(`rule_${unit}`) })),
  ];
}

function schedule(ctx, trig) {
  const cron = h("input", { id: "rule-trigger-cron", value: trig.cron || "", spellcheck: "false", class: "mono" });
  cron.addEventListener("input", () => setTrigger(ctx, (tr) => { tr.cron = cron.value.trim(); }, { coalesce: "rule-trigger-cron", rerender: false }));
  const preset = h("select", { id: "rule-trigger-cron-preset", "aria-label": t("rule_cron_preset"),
    onchange: () => { if (preset.value) setTrigger(ctx, (tr) => { tr.cron = preset.value; }, { focus: "rule-trigger-cron" }); } },
  h("option", { value: "" }, t("rule_cron_preset")),
  ...CRON_PRESETS.map(([k, v]) => h("option", { value: v }, `${t(k)} — ${v}`)));
  const tz = h("input", { id: "rule-trigger-tz", value: trig.tz || "", placeholder: "UTC" });
  tz.addEventListener("input", () => setTrigger(ctx, (tr) => { if (tz.value.trim()) tr.tz = tz.value.trim(); else delete tr.tz; },
    { coalesce: "rule-trigger-tz", rerender: false }));
  const per = h("input", { type: "checkbox", id: "rule-trigger-per-record", checked: trig.per_record !== false,
    onchange: () => setTrigger(ctx, (tr) => { if (per.checked) delete tr.per_record; else tr.per_record = false; }, { rerender: false }) });
  return [h("div", { class: "rule-row" }, prop("rule-trigger-cron", t("rule_cron"), cron), preset),
    prop("rule-trigger-tz", t("rule_tz"), tz),
    h("div", { class: "prop check" }, per, h("label", { for: per.id }, t("rule_per_record")))];
}

function nodesOf(flow) {
  const nodes = flow?.nodes;
  if (Array.isArray(nodes)) return nodes.map((n) => ({ id: n.id, label: label(n.label, n.id), type: n.type }));
  if (nodes && typeof nodes === "object") return Object.entries(nodes).map(([id, n]) => ({ id, label: label(n.label, id), type: n.type }));
  return [];
}

function flowEvent(ctx, trig) {
  const flows = (ctx.pkg().flows || []).filter((f) => f && f.key && (!f.form || f.form === ctx.rule().form));
  const flowSel = h("select", { id: "rule-trigger-flow", onchange: () => setTrigger(ctx, (tr) => {
    if (flowSel.value) tr.flow = flowSel.value; else delete tr.flow;
    delete tr.task;
  }, { focus: "rule-trigger-flow" }) },
  h("option", { value: "" }, t("rule_any_flow")),
  ...flows.map((f) => h("option", { value: f.key, selected: f.key === trig.flow }, label(f.label, f.key))));
  if (trig.flow && !flows.some((f) => f.key === trig.flow)) flowSel.append(h("option", { value: trig.flow, selected: true }, `${trig.flow} ?`));
  const out = [prop("rule-trigger-flow", t("rule_flow"), flowSel)];
  if (trig.type.startsWith("task_")) {
    const nodes = nodesOf(flows.find((f) => f.key === trig.flow)).filter((n) => !["start", "end", "exclusive", "parallel"].includes(n.type));
    const taskSel = h("select", { id: "rule-trigger-task", onchange: () => setTrigger(ctx, (tr) => {
      if (taskSel.value) tr.task = taskSel.value; else delete tr.task;
    }, { focus: "rule-trigger-task" }) },
    h("option", { value: "" }, t("rule_any_task")),
    ...nodes.map((n) => h("option", { value: n.id, selected: n.id === trig.task }, n.label === n.id ? n.id : `${n.label} (${n.id})`)));
    if (trig.task && !nodes.some((n) => n.id === trig.task)) taskSel.append(h("option", { value: trig.task, selected: true }, `${trig.task} ?`));
    out.push(prop("rule-trigger-task", t("rule_task"), taskSel));
  }
  return out;
}
