// The rule designer: basics (name, form, priority), trigger picker, condition builder (or one
// expression), action list with settings from each action's schema, live problems (the package
// checks and the rule compiled as publishing would), dry run against the published records,
// undo/redo, save, publish. Every edit goes through the app's DraftStore as one undoable change.
//
// With ``?new=1`` and a rule key the draft does not have yet, the designer writes the rule's
// starting definition (the app's first form, record-created trigger, no condition, no actions)
// as an undoable change and saves it.
import "./rule-strings.js";
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { designerToolbar, titleEditor } from "./designer-shell.js";
import { publishFlow, errorList } from "./publish.js";
import { t, h, label, relabel, announce } from "./i18n.js";
import { FieldModel, processFields } from "./rule-fields.js";
import { renderTrigger } from "./rule-trigger.js";
import { renderCondition } from "./rule-conditions.js";
import { renderActions } from "./rule-actions.js";
import { dryRun } from "./rule-dryrun.js";

const root = document.getElementById("rule-designer");
const appKey = root.dataset.app;
const ruleKey = root.dataset.rule;
const store = new DraftStore(appKey);
const toolbar = designerToolbar(store, { onRender: () => scheduleCheck() });  // every state change re-checks
const els = {
  basics: document.getElementById("rule-basics-body"),
  trigger: document.getElementById("rule-trigger-body"),
  condition: document.getElementById("rule-condition-body"),
  actions: document.getElementById("rule-actions-body"),
  problems: document.getElementById("problems"),
  dry: document.getElementById("rule-dry-result"),
  state: document.getElementById("save-state"),
};
// the rule's name, edited in place in the heading (as in the name boxes below, which follow it)
const title = titleEditor(document.getElementById("rule-title"), {
  get: () => (store.package ? label(ruleOf()?.label, ruleKey) : ruleKey),
  set: (text) => ctx.edit((r) => { r.label = relabel(r.label, text); }, { coalesce: "rule-title", rerender: true }),
});

const ruleOf = (pkg = store.package) => (pkg.rules || []).find((r) => r && r.key === ruleKey);
const ruleIndex = () => (store.package.rules || []).findIndex((r) => r && r.key === ruleKey);
const formOf = (key) => (store.package.forms || []).find((f) => f.key === key);

const ctx = {
  ui: { condMode: null },
  catalogue: null,
  operators: [],
  library: null,
  model: null,
  pkg: () => store.package,
  rule: () => ruleOf(),
  fields: () => ctx.model.fields(formOf(ruleOf()?.form)),
  // what a condition may test: the form's fields, then where the record's flow stands
  conditionFields: () => [...ctx.fields(), ...processFields(store.package, ruleOf()?.form)],
  // fn(rule, package) mutates a copy; opts: coalesce (typing: one undo step, no re-render),
  // rerender (default true), focus (the id to focus after re-rendering)
  edit(fn, opts = {}) {
    store.change((pkg) => fn(ruleOf(pkg), pkg), "edit", { coalesce: opts.coalesce || null });
    if (opts.rerender === false || (opts.coalesce && opts.rerender !== true)) toolbar.render();
    else renderAll(opts.focus);
  },
  rerender: () => renderAll(),
};

// -- rendering --------------------------------------------------------------------------------

function renderBasics(rule) {
  const lab = typeof rule.label === "string" ? { "zh-CN": rule.label } : (rule.label || {});
  const setLabel = (lang, value) => ctx.edit((r) => {
    const cur = typeof r.label === "string" ? { "zh-CN": r.label } : { ...(r.label || {}) };
    if (value) cur[lang] = value; else delete cur[lang];
    r.label = cur.en ? cur : (cur["zh-CN"] || r.key);
  }, { coalesce: `rule-label-${lang}` });
  const zh = h("input", { id: "rule-label-zh", value: lab["zh-CN"] || "" });
  const en = h("input", { id: "rule-label-en", value: lab.en || "" });
  zh.addEventListener("input", () => { setLabel("zh-CN", zh.value.trim()); title.render(); });
  en.addEventListener("input", () => setLabel("en", en.value.trim()));
  const forms = store.package.forms || [];
  const formSel = h("select", { id: "rule-form", onchange: () => ctx.edit((r) => { r.form = formSel.value; }, { focus: "rule-form" }) },
    ...forms.map((f) => h("option", { value: f.key, selected: f.key === rule.form }, label(f.label, f.key))));
  if (!formOf(rule.form)) formSel.append(h("option", { value: rule.form || "", selected: true }, `${rule.form || ""} ?`));
  const enabled = h("input", { type: "checkbox", id: "rule-enabled", checked: rule.enabled !== false,
    onchange: () => ctx.edit((r) => { if (enabled.checked) delete r.enabled; else r.enabled = false; }, { rerender: false }) });
  const stop = h("input", { type: "checkbox", id: "rule-stop", checked: !!rule.stop,
    onchange: () => ctx.edit((r) => { if (stop.checked) r.stop = true; else delete r.stop; }, { rerender: false }) });
  const priority = h("input", { type: "number", id: "rule-priority", step: "1", value: String(rule.priority ?? 0) });
  priority.addEventListener("input", () => {
    const n = Number(priority.value);
    if (Number.isInteger(n)) ctx.edit((r) => { if (n) r.priority = n; else delete r.priority; }, { coalesce: "rule-priority" });
  });
  const prop = (id, text, control) => h("div", { class: "prop" }, h("label", { for: id }, text), control);
  els.basics.replaceChildren(
    h("div", { class: "rule-row" }, prop("rule-label-zh", t("rule_label_zh"), zh), prop("rule-label-en", t("rule_label_en"), en)),
    h("div", { class: "rule-row" }, prop("rule-form", t("rule_form"), formSel), prop("rule-priority", t("rule_priority"), priority),
      h("div", { class: "prop" }, h("span", { class: "prop-label" }, t("rule_key")), h("code", { id: "rule-key" }, rule.key))),
    h("div", { class: "rule-row" },
      h("div", { class: "prop check" }, enabled, h("label", { for: enabled.id }, t("rule_enabled"))),
      h("div", { class: "prop check" }, stop, h("label", { for: stop.id }, t("rule_stop")))));
}

function renderAll(focusId) {
  const rule = ruleOf();
  if (!rule) {
    els.basics.replaceChildren(h("p", { role: "alert", class: "field-error" }, `${t("rule_not_found")}: ${ruleKey}`));
    for (const el of [els.trigger, els.condition, els.actions]) el.replaceChildren();
    toolbar.render();
    return;
  }
  const active = document.activeElement;
  const keep = focusId || (active && active.id && root.contains(active) ? active.id : null);
  const caret = active && typeof active.selectionStart === "number" && !focusId ? active.selectionStart : null;
  title.render();
  renderBasics(rule);
  els.trigger.replaceChildren(renderTrigger(ctx, rule));
  els.condition.replaceChildren(renderCondition(ctx, rule));
  els.actions.replaceChildren(renderActions(ctx, rule));
  markProblems();
  if (keep) {
    const el = document.getElementById(keep);
    if (el) {
      el.focus();
      if (caret !== null && typeof el.setSelectionRange === "function") {
        try { el.setSelectionRange(caret, caret); } catch { /* not a text box */ }
      }
    }
  }
  toolbar.render();
}

// -- problems: the package checks for this rule, and the rule compiled as publishing would ----------

let checkTimer = null;
let checkSeq = 0;

function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkProblems, 500);
}

async function checkProblems() {
  const rule = ruleOf();
  const index = ruleIndex();
  if (!rule) return;
  const seq = ++checkSeq;
  const prefix = `/rules/${index}`;
  const found = [];
  try {
    const [pkgCheck, ruleCheck] = await Promise.all([
      post(`/apps/${enc(appKey)}/draft/validate`, { package: store.package }),
      post(`/apps/${enc(appKey)}/rules/check`, { rule }).catch((err) => ({ errors: [{ code: err.code, message: err.message, pointer: "" }] })),
    ]);
    for (const e of pkgCheck.errors || []) {
      if (e.pointer === prefix || (e.pointer || "").startsWith(`${prefix}/`)) found.push(e);
    }
    for (const e of ruleCheck.errors || []) {
      const pointer = `${prefix}${e.pointer || ""}`;
      if (!found.some((x) => x.pointer === pointer)) found.push({ ...e, pointer });  // one message per place
    }
  } catch { return; /* offline: publishing checks again */ }
  if (seq !== checkSeq) return;
  showProblems(found);
}

let problems = [];

function showProblems(errors) {
  problems = errors;
  els.problems.hidden = !errors.length;
  els.problems.replaceChildren(h("h2", {}, `${t("rule_problems")} (${errors.length})`), errorList(errors, pick));
  markProblems();
}

// the controls the problems are about get a red outline and aria-invalid (again after each re-render)
function markProblems() {
  for (const el of root.querySelectorAll(".has-problem")) {
    el.classList.remove("has-problem");
    el.removeAttribute("aria-invalid");
  }
  for (const e of problems) {
    const el = targetOf(e.pointer);
    if (!el) continue;
    el.classList.add("has-problem");
    if (el.matches("input, select, textarea")) el.setAttribute("aria-invalid", "true");
  }
}

// A problem's JSON pointer → the control it is about (the nearest one that exists), focused.
export function targetOf(pointer) {
  const parts = (pointer || "").split("/").slice(1);
  if (parts[0] === "rules") parts.splice(0, 2);
  const [head, ...rest] = parts;
  const ids = [];
  if (head === "trigger") ids.push(`rule-trigger-${rest[0] || "type"}`, "rule-trigger-type");
  else if (head === "condition") {
    const path = rest.filter((x) => /^\d+$/.test(x));
    ids.push(`cond-${path.join("-")}-field`, `cond-${path.join("-")}-expr`, `cond-${path.join("-")}-match`, "cond-root-match",
      "rule-cond-expr");
  } else if (head === "actions") {
    if (rest.length > 1) ids.push(`action-${rest.slice(0, 3).join("-")}`, `action-${rest.slice(0, 2).join("-")}`);
    ids.push(rest.length ? `action-${rest[0]}` : "rule-add-action", "rule-add-action");
  } else if (head === "label") ids.push("rule-label-zh");
  else if (head === "form") ids.push("rule-form");
  else if (head === "priority") ids.push("rule-priority");
  return ids.map((id) => document.getElementById(id)).find(Boolean) || null;
}

const FOCUSABLE = "input, select, textarea, button, [tabindex]";

function pick(error) {
  let el = targetOf(error.pointer);
  if (!el) return;
  if (!el.matches(FOCUSABLE)) el = el.querySelector(FOCUSABLE) || el;
  el.scrollIntoView({ block: "center" });
  el.focus();
}

// -- start ------------------------------------------------------------------------------------

async function createIfNew() {
  const params = new URLSearchParams(window.location.search);
  if (ruleOf() || params.get("new") !== "1") return;
  const form = (store.package.forms || [])[0];
  if (!form) {
    els.basics.replaceChildren(h("p", { role: "alert", class: "field-error", id: "rule-no-forms" }, t("rule_no_forms")));
    return;
  }
  store.change((pkg) => {
    pkg.rules = [...(pkg.rules || []), { key: ruleKey, version: 1, label: params.get("label") || ruleKey, form: form.key,
      trigger: { type: "record_created" }, actions: [] }];
  }, "create");
  await store.save();
  params.delete("new");
  params.delete("label");
  const query = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (query ? `?${query}` : ""));
  announce(t("rule_created") + ruleKey);
}

async function start() {
  const [registry] = await Promise.all([get("/registries"), store.load()]);
  ctx.catalogue = registry.rules || { operators: [], actions: [] };
  ctx.operators = ctx.catalogue.operators || [];
  ctx.library = registry.expressions || { functions: [], constants: [] };
  ctx.model = new FieldModel(registry);
  await createIfNew();
  if (!(store.package.forms || []).length && !ruleOf()) return;
  toolbar.bind();
  store.addEventListener("change", (e) => {
    if (["undo", "redo", "load"].includes(e.detail.reason)) renderAll();
  });
  document.getElementById("btn-publish").addEventListener("click", async () => {
    const result = await publishFlow(store, { onErrors: (errs) => showProblems(errs) });
    if (result) {
      renderAll();
      els.state.textContent = `${t("publish_ok")}${result.to_version}`;
    }
  });
  document.getElementById("btn-dry-run").addEventListener("click", () => {
    const rule = ruleOf();
    if (rule) dryRun(els.dry, { appKey, rule, form: formOf(rule.form) });
  });
  renderAll();
}

start().catch((err) => {
  els.basics.replaceChildren(h("p", { role: "alert", class: "field-error" }, err.message));
});
