// The condition builder: nested all/any groups (each may be negated) of field–operator–value
// tests from the operator registry, expression tests, and aggregates (kept, edited as JSON);
// or the whole condition as one expression in the shared expression editor.
//
// A path is the list of item indexes from the root group. The root is normalised on edit:
// a lone test becomes {all: [test]}, {not: test} becomes {not: {all: [test]}}, and an empty,
// un-negated root is dropped (no condition = always).
import { ExprEditor } from "./expr-editor.js";
import { t, h, label } from "./i18n.js";
import { fieldSelect, scalarInput, listInput } from "./rule-fields.js";

const MAX_DEPTH = 4;

const isGroupBody = (n) => n && typeof n === "object" && (Array.isArray(n.all) || Array.isArray(n.any));
export const isGroup = (n) => isGroupBody(n) || (n && typeof n === "object" && isGroupBody(n.not));
const body = (n) => (isGroupBody(n) ? n : n.not);
const items = (n) => body(n).all || body(n).any;
export const isExprRoot = (c) => !!c && typeof c === "object" && typeof c.expr === "string" && Object.keys(c).length === 1;

function normalize(node) {
  if (!node || typeof node !== "object") return node;
  if ("not" in node && !isGroupBody(node.not)) return { not: { all: [normalize(node.not)] } };
  if (isGroup(node)) {
    const b = body(node);
    const key = b.all ? "all" : "any";
    b[key] = b[key].map(normalize);
  }
  return node;
}

function nodeAt(root, path) {
  let n = root;
  for (const i of path) n = items(n)[i];
  return n;
}

// ctx: {fields(), operators, library, edit(fn, opts), ui}
export function editCondition(ctx, fn, opts = {}) {
  ctx.edit((rule) => {
    let root = rule.condition;
    if (!isGroup(root)) root = { all: root ? [root] : [] };
    root = normalize(root);
    fn(root);
    if (isGroupBody(root) && items(root).length === 0) delete rule.condition;
    else rule.condition = root;
  }, opts);
}

export function opsFor(ctx, field) {
  if (!field) return ctx.operators;
  return ctx.operators.filter((op) => op.kinds.includes(field.kind));
}

/** The operator registry's value input, as this designer edits it: text and a number of days are one value. */
function inputOf(op) {
  return op.input === "text" || op.input === "days" ? "scalar" : op.input;
}

export function adaptValue(op, value) {
  if (!op || op.input === "none") return undefined;
  const input = inputOf(op);
  if (value && typeof value === "object" && !Array.isArray(value) && "expr" in value) return input === "scalar" ? value : undefined;
  if (input === "list") return Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (input === "pair") return Array.isArray(value) && value.length === 2 ? value : [null, null];
  return Array.isArray(value) ? value[0] : value;
}

export function renderCondition(ctx, rule) {
  const exprMode = isExprRoot(rule.condition) || (ctx.ui.condMode === "expr" && !rule.condition);
  // (a rule saved as one expression opens in expression mode)
  const name = "rule-cond-mode";
  const mode = h("div", { class: "rule-mode", role: "radiogroup", "aria-label": t("rule_condition") },
    ...[["builder", t("rule_mode_builder")], ["expr", t("rule_mode_expr")]].map(([value, text]) => {
      const radio = h("input", { type: "radio", name, id: `rule-cond-mode-${value}`, value,
        checked: (value === "expr") === exprMode, onchange: () => switchMode(ctx, rule, value) });
      return h("label", { for: radio.id }, radio, " ", text);
    }));
  let content;
  if (exprMode) {
    const editor = new ExprEditor({ id: "rule-cond-expr", label: t("rule_condition_expr"),
      value: isExprRoot(rule.condition) ? rule.condition.expr : "", names: () => ctx.conditionFields(), library: ctx.library,
      onChange: (v) => ctx.edit((r) => { if (v === null) delete r.condition; else r.condition = { expr: v }; },
        { coalesce: "rule-cond-expr", rerender: false }) });
    content = editor.el;
  } else {
    const root = isGroup(rule.condition) ? normalize(JSON.parse(JSON.stringify(rule.condition)))
      : { all: rule.condition ? [rule.condition] : [] };
    content = h("div", {}, items(root).length ? null : h("p", { class: "muted rule-always" }, t("rule_always")),
      group(ctx, root, [], 0));
  }
  return h("div", { class: "rule-condition" }, mode, content);
}

function switchMode(ctx, rule, value) {
  ctx.ui.condMode = value;
  if (value === "builder" && isExprRoot(rule.condition)) {
    const expr = rule.condition.expr;
    ctx.edit((r) => { r.condition = { all: [{ expr }] }; });  // the expression becomes one test of the group
  } else if (value === "expr" && rule.condition && !isExprRoot(rule.condition)) {
    ctx.edit((r) => { delete r.condition; });
  } else ctx.rerender();
}

const pathId = (path) => (path.length ? path.join("-") : "root");
const pathName = (path) => path.map((i) => i + 1).join(".");

function group(ctx, node, path, depth) {
  const b = body(node);
  const negated = !isGroupBody(node);
  const id = `cond-${pathId(path)}`;
  const title = path.length ? `${t("rule_group_of")} ${pathName(path)}` : t("rule_condition");
  const matchSel = h("select", { id: `${id}-match`, "aria-label": `${title}: ${t("rule_all")}/${t("rule_any")}`,
    onchange: () => editCondition(ctx, (root) => {
      const g = body(nodeAt(root, path));
      const list = g.all || g.any;
      delete g.all; delete g.any;
      g[matchSel.value] = list;
    }) },
  h("option", { value: "all", selected: !!b.all }, t("rule_all")),
  h("option", { value: "any", selected: !!b.any }, t("rule_any")));
  const notBox = h("input", { type: "checkbox", id: `${id}-not`, checked: negated,
    onchange: () => editCondition(ctx, (root) => {
      const wrap = (n) => (notBox.checked ? { not: body(n) } : body(n));
      if (!path.length) {
        const next = wrap(root);
        for (const k of Object.keys(root)) delete root[k];
        Object.assign(root, next);
      } else {
        const parent = items(nodeAt(root, path.slice(0, -1)));
        parent[path[path.length - 1]] = wrap(parent[path[path.length - 1]]);
      }
    }) });
  const list = h("ol", { class: "rule-items" }, ...items(node).map((item, i) => {
    const p = [...path, i];
    return h("li", {}, isGroup(item) ? group(ctx, item, p, depth + 1) : leaf(ctx, item, p));
  }));
  const add = (make) => () => editCondition(ctx, (root) => { items(nodeAt(root, path)).push(make()); },
    { focus: `cond-${pathId([...path, items(node).length])}-field` });
  return h("fieldset", { class: `rule-group${negated ? " negated" : ""}`, id },
    h("legend", {}, title),
    h("div", { class: "rule-group-head" }, matchSel,
      h("label", { for: notBox.id, class: "rule-inline" }, notBox, " ", t("rule_not")),
      path.length ? h("button", { type: "button", class: "icon danger", "aria-label": `${t("rule_remove_group")} ${pathName(path)}`,
        onclick: () => removeAt(ctx, path) }, "✕") : null),
    list,
    h("div", { class: "rule-group-tools" },
      h("button", { type: "button", class: "small", id: `${id}-add`, onclick: add(() => ({ field: "", op: "eq" })) }, `+ ${t("rule_add_cond")}`),
      depth < MAX_DEPTH ? h("button", { type: "button", class: "small", id: `${id}-add-group`,
        onclick: add(() => ({ all: [{ field: "", op: "eq" }] })) }, `+ ${t("rule_add_group")}`) : null,
      h("button", { type: "button", class: "small", id: `${id}-add-expr`, onclick: add(() => ({ expr: "" })) }, `+ ${t("rule_add_expr")}`),
      h("button", { type: "button", class: "small", id: `${id}-add-agg`, onclick: add(() => ({
        aggregate: { fn: "count", form: ctx.rule().form, filter: [] }, op: "gt", value: 0 })) }, `+ ${t("rule_add_agg")}`)));
}

function removeAt(ctx, path) {
  editCondition(ctx, (root) => { items(nodeAt(root, path.slice(0, -1))).splice(path[path.length - 1], 1); });
}

function leaf(ctx, node, path) {
  const id = `cond-${pathId(path)}`;
  const name = t("rule_cond_n", { n: pathName(path) });
  const remove = h("button", { type: "button", class: "icon danger", "aria-label": `${t("rule_remove_cond")} ${pathName(path)}`,
    onclick: () => removeAt(ctx, path) }, "✕");
  const set = (fn, opts) => editCondition(ctx, (root) => fn(nodeAt(root, path)), opts);
  if ("aggregate" in node) return aggregateTest(ctx, node, id, name, set, remove);
  if ("expr" in node && !("field" in node)) {
    const editor = new ExprEditor({ id: `${id}-expr`, label: `${name}: ${t("rule_mode_expr")}`, value: node.expr,
      names: () => ctx.conditionFields(), library: ctx.library,
      onChange: (v) => set((n) => { n.expr = v || ""; }, { coalesce: `${id}-expr`, rerender: false }) });
    return h("div", { class: "rule-leaf expr" }, editor.el, remove);
  }
  return fieldTest(ctx, node, id, name, ctx.conditionFields(), set, remove);
}

// One {field, op, value} test; also used by action filters (over another form's fields).
export function fieldTest(ctx, node, id, name, fields, set, remove) {
  const field = fields.find((f) => f.key === node.field);
  const ops = opsFor(ctx, field);
  const op = ctx.operators.find((o) => o.type === node.op);
  const fieldSel = fieldSelect({ id: `${id}-field`, fields, value: node.field, labelText: `${name}: ${t("rule_field")}`,
    onChange: (key) => set((n) => {
      n.field = key || "";
      const f = fields.find((x) => x.key === key);
      const valid = opsFor(ctx, f);
      if (!valid.some((o) => o.type === n.op)) n.op = (valid.find((o) => o.type === "eq") || valid[0] || { type: "eq" }).type;
      const v = adaptValue(ctx.operators.find((o) => o.type === n.op), undefined);
      if (v === undefined) delete n.value; else n.value = v;
    }, { focus: `${id}-op` }) });
  const opSel = h("select", { id: `${id}-op`, "aria-label": `${name}: ${t("rule_operator")}`,
    onchange: () => set((n) => {
      n.op = opSel.value;
      const v = adaptValue(ctx.operators.find((o) => o.type === n.op), n.value);
      if (v === undefined) delete n.value; else n.value = v;
    }, { focus: `${id}-op` }) },
  ...ops.map((o) => h("option", { value: o.type, selected: o.type === node.op }, label(o.label, o.type))));
  if (node.op && !ops.some((o) => o.type === node.op)) opSel.append(h("option", { value: node.op, selected: true }, `${node.op} ?`));
  const parts = [fieldSel, opSel];
  const isExpr = node.value && typeof node.value === "object" && !Array.isArray(node.value) && "expr" in node.value;
  const input = op ? inputOf(op) : "scalar";
  const typing = (v, meta) => set((n) => { if (v === undefined) delete n.value; else n.value = v; },
    meta?.typing ? { coalesce: `${id}-value`, rerender: false } : { focus: `${id}-value` });
  if (input === "scalar" && isExpr) {
    const editor = new ExprEditor({ id: `${id}-vexpr`, label: `${name}: ${t("rule_value_expr")}`, value: node.value.expr,
      names: () => ctx.fields(), library: ctx.library,
      onChange: (v) => set((n) => { n.value = { expr: v || "" }; }, { coalesce: `${id}-vexpr`, rerender: false }) });
    parts.push(editor.el);
  } else if (input === "scalar") {
    parts.push(scalarInput({ id: `${id}-value`, field, value: node.value, labelText: `${name}: ${t("rule_value")}`, onInput: typing }));
  } else if (input === "list") {
    parts.push(listInput({ id: `${id}-value`, field, value: node.value, labelText: `${name}: ${t("rule_value")}`, onInput: typing }));
  } else if (input === "pair") {
    const pair = Array.isArray(node.value) ? node.value : [null, null];
    const one = (i, text) => scalarInput({ id: `${id}-value-${i}`, field, value: pair[i] ?? undefined, labelText: `${name}: ${text}`,
      onInput: (v, meta) => set((n) => {
        const next = Array.isArray(n.value) && n.value.length === 2 ? [...n.value] : [null, null];
        next[i] = v === undefined ? null : v;
        n.value = next;
      }, meta?.typing ? { coalesce: `${id}-value-${i}`, rerender: false } : {}) });
    parts.push(h("span", { class: "rule-pair" }, one(0, t("rule_value_from")), "–", one(1, t("rule_value_to"))));
  }
  if (input === "scalar") {
    parts.push(h("button", { type: "button", class: "icon", id: `${id}-fx`, "aria-pressed": isExpr ? "true" : "false",
      title: t("rule_value_expr"), "aria-label": `${name}: ${t("rule_value_expr")}`,
      onclick: () => set((n) => { if (isExpr) delete n.value; else n.value = { expr: "" }; },
        { focus: isExpr ? `${id}-value` : `${id}-vexpr` }) }, "ƒx"));
  }
  return h("div", { class: "rule-leaf field-test", id }, ...parts, remove);
}

// {aggregate: {fn, form, field, filter, within_days, date_field}, op, value}: "the number (or sum) of
// <form> records matching <filters> in the last N days <op> <value>", counted in SQL by the runtime.
// Filter values may be expressions over the current record (ƒx), e.g. 客户 = the record's 客户.
function aggregateTest(ctx, node, id, name, set, remove) {
  const agg = node.aggregate && typeof node.aggregate === "object" ? node.aggregate : {};
  const forms = ctx.pkg().forms || [];
  const form = forms.find((f) => f.key === agg.form);
  const fields = ctx.model.fields(form);
  const setAgg = (fn, opts) => set((n) => { n.aggregate = n.aggregate && typeof n.aggregate === "object" ? n.aggregate : {}; fn(n.aggregate); }, opts);
  const fnSel = h("select", { id: `${id}-fn`, "aria-label": `${name}: ${t("rule_agg_fn")}`,
    onchange: () => setAgg((a) => { a.fn = fnSel.value; if (a.fn === "count") delete a.field; }, { focus: `${id}-fn` }) },
  h("option", { value: "count", selected: (agg.fn || "count") === "count" }, t("rule_agg_count")),
  h("option", { value: "sum", selected: agg.fn === "sum" }, t("rule_agg_sum")));
  const formSel = h("select", { id: `${id}-form`, "aria-label": `${name}: ${t("rule_p_form")}`,
    onchange: () => setAgg((a) => { a.form = formSel.value; a.filter = []; delete a.field; delete a.date_field; }, { focus: `${id}-form` }) },
  ...forms.map((f) => h("option", { value: f.key, selected: f.key === agg.form }, label(f.label, f.key))));
  const sumField = agg.fn === "sum" ? fieldSelect({ id: `${id}-sum`, fields: fields.filter((f) => f.kind === "number"),
    value: agg.field, labelText: `${name}: ${t("rule_agg_field")}`,
    onChange: (k) => setAgg((a) => { if (k) a.field = k; else delete a.field; }, { focus: `${id}-sum` }) }) : null;
  const days = h("input", { id: `${id}-days`, type: "number", min: "1", step: "1", value: agg.within_days ?? "",
    placeholder: t("rule_agg_all_time"), "aria-label": `${name}: ${t("rule_agg_days")}` });
  days.addEventListener("input", () => {
    const v = Number(days.value);
    setAgg((a) => { if (days.value === "" || !(v > 0)) delete a.within_days; else a.within_days = v; }, { coalesce: `${id}-days`, rerender: false });
  });
  const dateSel = fieldSelect({ id: `${id}-date`, fields: fields.filter((f) => ["date", "datetime"].includes(f.valueKind)),
    value: agg.date_field, labelText: `${name}: ${t("rule_agg_date")}`, empty: t("rule_agg_date_default"),
    onChange: (k) => setAgg((a) => { if (k) a.date_field = k; else delete a.date_field; }, { focus: `${id}-date` }) });
  const filters = Array.isArray(agg.filter) ? agg.filter : [];
  const rows = filters.map((f, j) => {
    const rid = `${id}-filter-${j}`;
    const rname = `${name} ${t("rule_p_filter")} ${j + 1}`;
    const setRow = (fn, opts = {}) => setAgg((a) => fn(a.filter[j]), opts);
    const rm = h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${rname}`,
      onclick: () => setAgg((a) => { a.filter.splice(j, 1); }, { focus: `${id}-filter-add` }) }, "✕");
    return h("li", {}, fieldTest(ctx, f, rid, rname, fields, setRow, rm));
  });
  const addFilter = h("button", { type: "button", class: "small", id: `${id}-filter-add`,
    onclick: () => setAgg((a) => { a.filter = [...(Array.isArray(a.filter) ? a.filter : []), { field: "", op: "eq" }]; },
      { focus: `${id}-filter-${filters.length}-field` }) }, `+ ${t("rule_filter_add")}`);
  const numberField = { kind: "number", valueKind: "number" };
  const ops = ctx.operators.filter((o) => o.kinds.includes("number") && ["scalar", "pair"].includes(o.input));
  const op = ops.find((o) => o.type === node.op);
  const opSel = h("select", { id: `${id}-op`, "aria-label": `${name}: ${t("rule_operator")}`,
    onchange: () => set((n) => { n.op = opSel.value; n.value = adaptValue(ctx.operators.find((o) => o.type === n.op), n.value); }, { focus: `${id}-op` }) },
  ...ops.map((o) => h("option", { value: o.type, selected: o.type === node.op }, label(o.label, o.type))));
  const typing = (i) => (v, meta) => set((n) => {
    if (i === null) n.value = v === undefined ? 0 : v;
    else { const pair = Array.isArray(n.value) ? [...n.value] : [null, null]; pair[i] = v ?? null; n.value = pair; }
  }, meta?.typing ? { coalesce: `${id}-value${i ?? ""}`, rerender: false } : {});
  const value = op?.input === "pair"
    ? h("span", { class: "rule-pair" },
      scalarInput({ id: `${id}-value-0`, field: numberField, value: node.value?.[0] ?? undefined, labelText: `${name}: ${t("rule_value_from")}`, onInput: typing(0) }), "–",
      scalarInput({ id: `${id}-value-1`, field: numberField, value: node.value?.[1] ?? undefined, labelText: `${name}: ${t("rule_value_to")}`, onInput: typing(1) }))
    : scalarInput({ id: `${id}-value`, field: numberField, value: node.value, labelText: `${name}: ${t("rule_value")}`, onInput: typing(null) });
  return h("fieldset", { class: "rule-sub rule-agg", id },
    h("legend", {}, `${name}: ${t("rule_aggregate")}`),
    h("div", { class: "rule-leaf" }, fnSel, formSel, sumField, h("span", {}, t("rule_agg_within")), days, h("span", {}, t("rule_agg_days_unit")),
      h("span", {}, t("rule_agg_by")), dateSel, remove),
    h("ol", { class: "rule-filter" }, ...rows), addFilter,
    h("div", { class: "rule-leaf" }, h("span", {}, t("rule_agg_result")), opSel, value));
}
