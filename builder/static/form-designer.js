// The form designer: palette (from the widget registry), canvas with sections and tabs,
// property panel (from each widget's config JSON Schema), expression editors, live
// problems, live preview through the runtime renderer, undo/redo, publish.
//
// The canvas edits the form's ``layout`` directly: a list of field keys, sections
// ({type: "section", items}) and tabs ({type: "tabs", tabs: [{label, items}]}). While
// the designer runs every field is placed; on each change the fields are put in canvas
// order and a layout with no section or tabs is dropped (it would say nothing).
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { designerToolbar, titleEditor } from "./designer-shell.js";
import { ExprEditor } from "./expr-editor.js";
import { publishFlow, errorList, dialog } from "./publish.js";
import { schemaForm } from "./schema-form.js";
import { t, h, label, relabel, announce, advanced } from "./i18n.js";

const root = document.getElementById("form-designer");
const appKey = root.dataset.app;
const formKey = root.dataset.form;
const store = new DraftStore(appKey);
const toolbar = designerToolbar(store);
const title = titleEditor(document.getElementById("form-title"), {
  get: () => (store.package ? label(formOf()?.label, formKey) : formKey),
  set: (text) => { edit((f) => { f.label = relabel(f.label, text); }, "prop", { coalesce: "form-title" }); renderProps(); },
});
const els = {
  palette: document.getElementById("palette"),
  canvas: document.getElementById("canvas"),
  props: document.getElementById("props"),
  problems: document.getElementById("problems"),
  preview: document.getElementById("preview"),
  frame: document.getElementById("preview-frame"),
  state: document.getElementById("save-state"),
};
const MIME_WIDGET = "application/x-jimu-widget";
const MIME_MOVE = "application/x-jimu-move";
const KEY_RE = /^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$/;
const TITLE_WIDGET = "text";     // the first single-line text of a form becomes its title field

let registry = null;
let widgets = {};              // type → palette entry
let selected = null;           // {kind: "field", key} | {kind: "node", path, index}
let publishedKeys = new Set(); // field keys of the installed version: their key is stable
let problems = [];
let dragging = null;           // {kind: "widget", type} | {kind: "move", path, index}

// -- model helpers -----------------------------------------------------------------------------

const formOf = (pkg = store.package) => (pkg.forms || []).find((f) => f.key === formKey);
const isField = (item) => typeof item === "string";

function layoutOf(form) {
  const layout = JSON.parse(JSON.stringify(form.layout || []));
  const placed = new Set();
  walk(layout, (key) => placed.add(key));
  for (const f of form.fields || []) if (!placed.has(f.key)) layout.push(f.key);
  return layout;
}

function walk(list, visit) {
  for (const item of list) {
    if (isField(item)) visit(item);
    else if (item.type === "tabs") for (const tab of item.tabs || []) walk(tab.items || [], visit);
    else walk(item.items || [], visit);
  }
}

function listAt(layout, path) {
  let list = layout;
  for (let i = 0; i < path.length; i += 2) {
    const node = list[path[i]];
    const step = path[i + 1];
    list = step === "items" ? node.items : node.tabs[step].items;
  }
  return list;
}

function commit(form, layout) {
  const order = [];
  walk(layout, (k) => order.push(k));
  const byKey = Object.fromEntries((form.fields || []).map((f) => [f.key, f]));
  form.fields = [...order.filter((k) => byKey[k]).map((k) => byKey[k]),
    ...(form.fields || []).filter((f) => !order.includes(f.key))];
  if (layout.some((item) => !isField(item))) form.layout = layout;
  else delete form.layout;
}

function edit(fn, reason = "edit", opts = {}) {
  store.change((pkg) => {
    const form = formOf(pkg);
    const layout = layoutOf(form);
    fn(form, layout);
    commit(form, layout);
  }, reason, opts);
}

function fieldOf(key, form = formOf()) { return (form.fields || []).find((f) => f.key === key); }

function locate(layout, key) {
  // [path, index] of a field key in the layout
  let found = null;
  const visit = (list, path) => list.forEach((item, i) => {
    if (found) return;
    if (isField(item)) { if (item === key) found = [path, i]; }
    else if (item.type === "tabs") item.tabs.forEach((tab, j) => visit(tab.items, [...path, i, j]));
    else visit(item.items, [...path, i, "items"]);
  });
  visit(layout, []);
  return found;
}

function containers(layout) {
  // every list a field can go into: [{path, name}]
  const out = [{ path: [], name: t("top_level") }];
  const visit = (list, path, prefix) => list.forEach((item, i) => {
    if (isField(item)) return;
    if (item.type === "tabs") item.tabs.forEach((tab, j) => {
      const name = `${prefix}${t("tab")}: ${label(tab.label, String(j + 1))}`;
      out.push({ path: [...path, i, j], name });
      visit(tab.items, [...path, i, j], name + " › ");
    });
    else {
      const name = `${prefix}${t("section")}: ${label(item.label, String(i + 1))}`;
      out.push({ path: [...path, i, "items"], name });
      visit(item.items, [...path, i, "items"], name + " › ");
    }
  });
  visit(layout, [], "");
  return out;
}

function findNode(layout, node) {
  // {path, index} of a section/tabs object in the layout
  let found = null;
  const visit = (list, path) => list.forEach((item, i) => {
    if (found || isField(item)) return;
    if (item === node) { found = { path, index: i }; return; }
    if (item.type === "tabs") item.tabs.forEach((tab, j) => visit(tab.items, [...path, i, j]));
    else visit(item.items, [...path, i, "items"]);
  });
  visit(layout, []);
  return found;
}

function samePath(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

function uniqueKey(base, form) {
  const taken = new Set((form.fields || []).map((f) => f.key));
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

function newField(type, form) {
  const w = widgets[type];
  const key = uniqueKey(type.replace(/[^A-Za-z0-9_]/g, "_"), form);
  const n = key.split("_").pop();
  const zh = label(w.label?.["zh-CN"] ? w.label["zh-CN"] : w.label, type);
  const en = (w.label && w.label.en) || type;
  const example = JSON.parse(JSON.stringify(w.example || { config: {} }));
  const field = { key, label: { "zh-CN": `${zh}${n}`, en: `${en} ${n}` }, widget: type, ...example };
  // a choice starts with 选项1, 选项2 (plain options: the text is the value), never an example's options
  const schema = w.config_schema || {};
  if (schema.properties?.options) {
    const keep = Object.fromEntries(Object.entries(field.config || {}).filter(([k]) => (schema.required || []).includes(k)));
    field.config = { ...keep, options: [1, 2].map((i) => t("option_n", { n: i })) };
  }
  if (type === "link" || field.config?.form) {
    const other = (store.package.forms || []).find((f) => f.key !== formKey) || form;
    field.config = { ...field.config, form: other.key };
    delete field.config.display_field;
  }
  if (field.config && !Object.keys(field.config).length) delete field.config;
  return field;
}

// -- operations (all undoable) -------------------------------------------------------------------

function insertionPoint(layout) {
  if (selected?.kind === "field") {
    const at = locate(layout, selected.key);
    if (at) return [at[0], at[1] + 1];
  }
  if (selected?.kind === "node") {
    const node = listAt(layout, selected.path)[selected.index];
    if (node) {
      const path = node.type === "tabs" ? [...selected.path, selected.index, 0] : [...selected.path, selected.index, "items"];
      return [path, listAt(layout, path).length];
    }
  }
  return [[], layout.length];
}

function addField(type, path = null, index = null) {
  let key = null;
  edit((form, layout) => {
    const field = newField(type, form);
    key = field.key;
    form.fields = [...(form.fields || []), field];
    if (!form.title_field && type === TITLE_WIDGET) form.title_field = field.key;   // the first text names the record
    const [p, i] = path ? [path, index] : insertionPoint(layout);
    listAt(layout, p).splice(i, 0, field.key);
  }, "add");
  selected = { kind: "field", key };
  renderAll();
  focusItem();
  announce(t("added_field") + key);
}

function addContainer(kind, path = null, index = null) {
  let where = null;
  edit((form, layout) => {
    const node = kind === "tabs"
      ? { type: "tabs", tabs: [{ label: { "zh-CN": "标签1", en: "Tab 1" }, items: [] }, { label: { "zh-CN": "标签2", en: "Tab 2" }, items: [] }] }
      : { type: "section", label: { "zh-CN": "区块", en: "Section" }, columns: 2, items: [] };
    let [p, i] = path ? [path, index] : [[], layout.length];
    if (!path && selected) {
      const at = selected.kind === "field" ? locate(layout, selected.key) : [selected.path, selected.index];
      if (at) { p = at[0]; i = at[1] + 1; }
    }
    listAt(layout, p).splice(i, 0, node);
    where = { kind: "node", path: p, index: i };
  }, "add");
  selected = where;
  renderAll();
  focusItem();
}

function moveItem(fromPath, fromIndex, toPath, toIndex) {
  const inside = toPath.length > fromPath.length && samePath(toPath.slice(0, fromPath.length), fromPath)
    && toPath[fromPath.length] === fromIndex;
  if (inside) return;                                   // a section cannot go into itself
  let moved = null;
  edit((form, layout) => {
    const from = listAt(layout, fromPath);
    const to = listAt(layout, toPath);        // the target list, found before the removal shifts paths
    const [item] = from.splice(fromIndex, 1);
    let i = toIndex;
    if (from === to && fromIndex < toIndex) i -= 1;
    i = Math.max(0, Math.min(i, to.length));
    to.splice(i, 0, item);
    moved = isField(item) ? { kind: "field", key: item } : { kind: "node", ...findNode(layout, item) };
  }, "move");
  selected = moved;
  renderAll();
  focusItem();
  announce(t("moved") + (moved.kind === "field" ? moved.key : ""));
}

function step(path, index, delta) {
  const list = listAt(layoutOf(formOf()), path);
  const target = index + delta;
  if (target < 0 || target >= list.length) return;
  edit((form, layout) => {
    const l = listAt(layout, path);
    [l[index], l[target]] = [l[target], l[index]];
  }, "move");
  if (!isField(list[index])) selected = { kind: "node", path, index: target };
  renderAll();
  focusItem();
}

// What else in the draft uses these fields (conditions, flows, rules, reports): shown before deleting.
async function fieldReferences(keys) {
  const found = [];
  for (const field of keys) {
    try {
      const { references } = await post(`/apps/${enc(appKey)}/references`, { kind: "forms", key: formKey, field, package: store.package });
      // within the deleted fields, and the form's title (it passes to the next text field), nothing breaks
      found.push(...references.filter((r) => r.pointer !== `/forms/${formIndex()}/title_field`
        && !keys.some((k) => r.pointer.startsWith(`/forms/${formIndex()}/fields/${fieldIndex(k)}`))));
    } catch { /* offline: the check flags them after deleting */ }
  }
  return found;
}

function fieldIndex(key) { return (formOf().fields || []).findIndex((f) => f.key === key); }

async function removeItem(path, index) {
  const list = listAt(layoutOf(formOf()), path);
  const item = list[index];
  const doomed = [];
  if (isField(item)) doomed.push(item); else walk([item], (k) => doomed.push(k));
  const refs = await fieldReferences(doomed);
  if (refs.length) {
    const ok = await new Promise((resolve) => {
      const dlg = dialog(`${t("delete")}: ${isField(item) ? label(fieldOf(item)?.label, item) : label(item.label, t("section"))}`,
        h("div", {}, h("p", {}, t("delete_refs")), h("ul", { id: "delete-refs" }, ...refs.map((r) => h("li", { "data-pointer": r.pointer }, r.where))),
          h("p", { class: "muted" }, t("delete_refs_after"))), [
          h("button", { type: "button", onclick: () => { dlg.close(); resolve(false); } }, t("cancel")),
          h("button", { type: "button", class: "primary danger", id: "confirm-delete", onclick: () => { dlg.close(); resolve(true); } }, t("delete"))]);
    });
    if (!ok) return;
  }
  const name = isField(item) ? label(fieldOf(item)?.label, item) : label(item.label, t("section"));
  edit((form, layout) => {
    const [gone] = listAt(layout, path).splice(index, 1);
    const keys = new Set();
    if (isField(gone)) keys.add(gone); else walk([gone], (k) => keys.add(k));
    form.fields = form.fields.filter((f) => !keys.has(f.key));
    if (keys.has(form.title_field)) {            // the next text field names the record, if any
      const next = form.fields.find((f) => f.widget === TITLE_WIDGET);
      if (next) form.title_field = next.key; else delete form.title_field;
    }
  }, "delete");
  selected = null;
  renderAll();
  announce(t("deleted") + name);
  els.canvas.querySelector(".item")?.focus();
}

function duplicateItem(path, index) {
  let copyKey = null;
  edit((form, layout) => {
    const list = listAt(layout, path);
    const clone = (item) => {
      if (isField(item)) {
        const f = JSON.parse(JSON.stringify(fieldOf(item, form)));
        f.key = uniqueKey(item.replace(/_\d+$/, ""), form);
        form.fields.push(f);
        copyKey = copyKey || f.key;
        return f.key;
      }
      const node = JSON.parse(JSON.stringify(item));
      if (node.type === "tabs") node.tabs.forEach((tab) => { tab.items = tab.items.map(clone); });
      else node.items = node.items.map(clone);
      return node;
    };
    list.splice(index + 1, 0, clone(list[index]));
  }, "duplicate");
  const list = listAt(layoutOf(formOf()), path);
  selected = isField(list[index + 1]) ? { kind: "field", key: list[index + 1] } : { kind: "node", path, index: index + 1 };
  renderAll();
  focusItem();
}

// -- palette -----------------------------------------------------------------------------------

function renderPalette() {
  const groups = registry.widgets.groups.map((g) => h("section", { class: "palette-group" },
    h("h3", {}, label(g.label, g.key)),
    h("div", { class: "palette-items" }, ...g.widgets.map((w) => paletteButton(w.type, label(w.label, w.type),
      () => addField(w.type), { kind: "widget", type: w.type })))));
  const layoutGroup = h("section", { class: "palette-group" }, h("h3", {}, t("layout")),
    h("div", { class: "palette-items" },
      paletteButton("section", t("add_section"), () => addContainer("section"), { kind: "container", type: "section" }),
      paletteButton("tabs", t("add_tabs"), () => addContainer("tabs"), { kind: "container", type: "tabs" })));
  els.palette.replaceChildren(h("h2", {}, t("palette")), h("p", { class: "muted small" }, t("drag_hint")), ...groups, layoutGroup);
}

function paletteButton(type, text, onAdd, payload) {
  return h("button", { type: "button", class: "palette-item", draggable: "true", "data-widget": type,
    title: t("drag_hint"), onclick: onAdd,
    ondragstart: (e) => {
      dragging = payload;
      e.dataTransfer.setData(MIME_WIDGET, JSON.stringify(payload));
      e.dataTransfer.effectAllowed = "copy";
    },
    ondragend: () => { dragging = null; clearDropMarks(); } }, text);
}

// -- canvas ------------------------------------------------------------------------------------

function renderCanvas() {
  const form = formOf();
  const layout = layoutOf(form);
  title.render();
  const errorsByKey = problemsByField();
  const hadFocus = els.canvas.contains(document.activeElement);   // a redraw (live checks) keeps the keyboard's place
  els.canvas.replaceChildren(h("h2", { class: "visually-hidden" }, t("canvas")),
    zone(layout, [], errorsByKey, true));
  if (hadFocus) focusItem();
}

function zone(list, path, errorsByKey, top = false, columns = 1) {
  const box = h("div", { class: `zone cols-${columns}${top ? " top" : ""}`, role: "list",
    "data-path": JSON.stringify(path) });
  list.forEach((item, i) => box.append(isField(item) ? fieldCard(item, path, i, errorsByKey) : nodeCard(item, path, i, errorsByKey)));
  if (!list.length) box.append(h("p", { class: "zone-empty" }, t("empty_drop")));
  box.addEventListener("dragover", (e) => onDragOver(e, box, path));
  box.addEventListener("dragleave", (e) => { if (!box.contains(e.relatedTarget)) box.classList.remove("drop-here"); });
  box.addEventListener("drop", (e) => onDrop(e, box, path));
  return box;
}

function tools(path, i, name, count) {
  return h("div", { class: "item-tools" },
    h("button", { type: "button", class: "icon", "aria-label": `${t("move_up")} ${name}`, title: t("move_up"), disabled: i === 0,
      onclick: (e) => { e.stopPropagation(); step(path, i, -1); } }, "↑"),
    h("button", { type: "button", class: "icon", "aria-label": `${t("move_down")} ${name}`, title: t("move_down"), disabled: i === count - 1,
      onclick: (e) => { e.stopPropagation(); step(path, i, 1); } }, "↓"),
    h("button", { type: "button", class: "icon", "aria-label": `${t("duplicate")} ${name}`, title: t("duplicate"),
      onclick: (e) => { e.stopPropagation(); duplicateItem(path, i); } }, "⊕"),
    h("button", { type: "button", class: "icon danger", "aria-label": `${t("delete")} ${name}`, title: t("delete"),
      onclick: (e) => { e.stopPropagation(); removeItem(path, i); } }, "✕"));
}

function itemKeys(el, path, i) {
  el.addEventListener("keydown", (e) => {
    if (e.target !== el) return;
    if (e.altKey && e.key === "ArrowUp") { e.preventDefault(); step(path, i, -1); }
    else if (e.altKey && e.key === "ArrowDown") { e.preventDefault(); step(path, i, 1); }
    else if (e.key === "Delete") { e.preventDefault(); removeItem(path, i); }
    else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); el.click(); }
  });
  el.addEventListener("dragstart", (e) => {
    e.stopPropagation();
    dragging = { kind: "move", path, index: i };
    e.dataTransfer.setData(MIME_MOVE, JSON.stringify(dragging));
    e.dataTransfer.effectAllowed = "move";
    el.classList.add("dragging");
  });
  el.addEventListener("dragend", () => { dragging = null; el.classList.remove("dragging"); clearDropMarks(); });
}

function fieldCard(key, path, i, errorsByKey) {
  const f = fieldOf(key);
  const w = widgets[f.widget];
  const name = label(f.label, key);
  const sel = selected?.kind === "field" && selected.key === key;
  const errs = errorsByKey[key] || [];
  const count = listAt(layoutOf(formOf()), path).length;
  const el = h("div", { class: `item field-card${sel ? " selected" : ""}${errs.length ? " has-problem" : ""}`, role: "listitem",
    tabindex: "0", draggable: "true", "data-key": key, "aria-current": sel ? "true" : null,
    "aria-label": `${name} (${w ? label(w.label, f.widget) : f.widget})`,
    onclick: () => { selected = { kind: "field", key }; renderCanvas(); renderProps(); focusItem(); } },
  h("span", { class: "grip", "aria-hidden": "true" }, "⠿"),
  h("span", { class: "item-label" }, name, f.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
  h("span", { class: "item-type" }, w ? label(w.label, f.widget) : f.widget),
  f.visible_if ? h("span", { class: "item-flag", title: f.visible_if }, "if") : null,
  f.formula ? h("span", { class: "item-flag", title: f.formula }, "ƒ") : null,
  errs.length ? h("span", { class: "item-problem", title: errs.map((e) => e.message).join("\n") }, `⚠ ${errs.length}`) : null,
  tools(path, i, name, count));
  itemKeys(el, path, i);
  return el;
}

function nodeCard(node, path, i, errorsByKey) {
  const sel = selected?.kind === "node" && samePath(selected.path, path) && selected.index === i;
  const count = listAt(layoutOf(formOf()), path).length;
  const isTabs = node.type === "tabs";
  const name = isTabs ? t("tabs") : `${t("section")}: ${label(node.label, "")}`;
  const select = () => { selected = { kind: "node", path, index: i }; renderCanvas(); renderProps(); focusItem(); };
  const head = h("div", { class: "node-head", tabindex: "0", draggable: "true", role: "button",
    "aria-label": name, "aria-pressed": sel ? "true" : "false", onclick: select },
  h("span", { class: "grip", "aria-hidden": "true" }, "⠿"), h("strong", {}, name),
  !isTabs ? h("span", { class: "item-type" }, `${node.columns || 1} ${t("columns")}`) : null,
  node.visible_if ? h("span", { class: "item-flag", title: node.visible_if }, "if") : null,
  tools(path, i, name, count));
  itemKeys(head, path, i);
  const body = isTabs
    ? h("div", { class: "tab-bodies" }, ...node.tabs.map((tab, j) => h("div", { class: "tab-body" },
      h("div", { class: "tab-title" }, `${t("tab")}: ${label(tab.label, String(j + 1))}`),
      zone(tab.items, [...path, i, j], errorsByKey))))
    : zone(node.items, [...path, i, "items"], errorsByKey, false, node.columns || 1);
  return h("div", { class: `item node-card ${node.type}${sel ? " selected" : ""}`, role: "listitem",
    "data-node": JSON.stringify([...path, i]) }, head, body);
}

function focusItem() {
  let el = null;
  if (selected?.kind === "field") el = els.canvas.querySelector(`.field-card[data-key="${CSS.escape(selected.key)}"]`);
  else if (selected?.kind === "node") el = els.canvas.querySelector(`[data-node='${JSON.stringify([...selected.path, selected.index])}'] > .node-head`);
  el?.focus();
}

// drag and drop: where in a zone the pointer is → an index

function dropIndex(box, x, y) {
  // reading order in a grid of columns: above a card's row, or in its row left of its middle
  const items = [...box.children].filter((c) => c.classList.contains("item"));
  for (let i = 0; i < items.length; i++) {
    const r = items[i].getBoundingClientRect();
    if (r.width > box.clientWidth * 0.8) {          // a full-width card: one column, or a section
      if (y < r.top + r.height / 2) return i;
      continue;
    }
    if (y < r.top || (y <= r.bottom && x < r.left + r.width / 2)) return i;
  }
  return items.length;
}

function clearDropMarks() {
  els.canvas.querySelectorAll(".drop-here").forEach((z) => z.classList.remove("drop-here"));
  els.canvas.querySelectorAll(".drop-before").forEach((z) => z.classList.remove("drop-before"));
}

function onDragOver(e, box, path) {
  const types = [...e.dataTransfer.types];
  if (!types.includes(MIME_WIDGET) && !types.includes(MIME_MOVE)) return;
  e.preventDefault();
  e.stopPropagation();
  e.dataTransfer.dropEffect = types.includes(MIME_MOVE) ? "move" : "copy";
  clearDropMarks();
  box.classList.add("drop-here");
  const i = dropIndex(box, e.clientX, e.clientY);
  const items = [...box.children].filter((c) => c.classList.contains("item"));
  items[i]?.classList.add("drop-before");
}

function onDrop(e, box, path) {
  e.preventDefault();
  e.stopPropagation();
  clearDropMarks();
  const index = dropIndex(box, e.clientX, e.clientY);
  const widget = e.dataTransfer.getData(MIME_WIDGET);
  const move = e.dataTransfer.getData(MIME_MOVE);
  if (widget) {
    const p = JSON.parse(widget);
    if (p.kind === "container") addContainer(p.type, path, index);
    else addField(p.type, path, index);
  } else if (move) {
    const m = JSON.parse(move);
    moveItem(m.path, m.index, path, index);
  }
}

// -- property panel -----------------------------------------------------------------------------

function fieldNames(excludeKey = null) {
  return (formOf().fields || []).filter((f) => f.key !== excludeKey)
    .map((f) => ({ key: f.key, label: label(f.label, f.key), labels: f.label }));
}

function textProp(id, text, value, onChange, attrs = {}) {
  const input = h("input", { id, value: value ?? "", ...attrs });
  input.addEventListener("input", () => onChange(input.value));
  return h("div", { class: "prop" }, h("label", { for: id }, text), input);
}

function checkProp(id, text, value, onChange) {
  const box = h("input", { id, type: "checkbox", checked: !!value });
  box.addEventListener("change", () => onChange(box.checked));
  return h("div", { class: "prop check" }, box, h("label", { for: id }, text));
}

function generatedPair(zh, en) {
  const n = /(\d+)$/.exec(zh || "");
  return !!n && typeof en === "string" && /^[A-Za-z][A-Za-z -]* \d+$/.test(en) && en.endsWith(` ${n[1]}`);
}

function labelProps(prefix, value, set, texts = [t("label_zh"), t("label_en")]) {
  const cur = typeof value === "string" ? { "zh-CN": value } : { ...(value || {}) };
  const update = (lang) => (v) => {
    const next = { ...cur };
    // a new field's generated pair ("单行文本1" / "Single-line text 1"): renaming it in Chinese drops the
    // generated English, so English readers see the new name instead of "Single-line text 1"
    if (lang === "zh-CN" && generatedPair(cur["zh-CN"], cur.en)) {
      delete next.en;
      const enBox = document.getElementById(`${prefix}-en`);
      if (enBox) enBox.value = "";
    }
    if (v) next[lang] = v; else delete next[lang];
    for (const k of Object.keys(cur)) if (!(k in next)) delete cur[k];
    Object.assign(cur, next);
    set(Object.keys(next).length ? (Object.keys(next).length === 1 && next["zh-CN"] ? next["zh-CN"] : next) : null);
  };
  return [textProp(`${prefix}-zh`, texts[0], cur["zh-CN"], update("zh-CN"), { lang: "zh-CN" }),
    textProp(`${prefix}-en`, texts[1], cur.en, update("en"), { lang: "en" })];
}

function setProp(key, prop, value, coalesce) {
  edit((form) => {
    const f = fieldOf(key, form);
    if (value === null || value === undefined || value === false || value === "") delete f[prop];
    else f[prop] = value;
  }, "prop", { coalesce });
  renderCanvas();
}

function exprEditor(id, text, value, onChange, exclude) {
  return new ExprEditor({ id, label: text, value, names: () => fieldNames(exclude),
    library: registry.expressions, onChange }).el;
}

function renderProps() {
  const form = formOf();
  els.props.replaceChildren();
  if (selected?.kind === "field" && fieldOf(selected.key)) return renderFieldProps(fieldOf(selected.key));
  if (selected?.kind === "node") {
    const node = listAt(layoutOf(form), selected.path)[selected.index];
    if (node) return renderNodeProps(node, selected.path, selected.index);
  }
  selected = null;
  els.props.append(h("h2", {}, t("form_props")),
    ...labelProps("form-label", form.label, (v) => { edit((f) => { f.label = v || f.key; }, "prop", { coalesce: "form-label" }); title.render(); }, [t("form_label") + " (中文)", t("form_label") + " (English)"]),
    (() => {
      const sel = h("select", { id: "form-title-field" }, h("option", { value: "" }, t("none")),
        ...(form.fields || []).map((f) => h("option", { value: f.key, selected: form.title_field === f.key }, label(f.label, f.key))));
      sel.addEventListener("change", () => edit((f) => { if (sel.value) f.title_field = sel.value; else delete f.title_field; }, "prop"));
      return h("div", { class: "prop" }, h("label", { for: "form-title-field" }, t("title_field")), sel);
    })(),
    h("p", { class: "muted" }, t("no_selection")));
}

function renderFieldProps(f) {
  const key = f.key;
  const w = widgets[f.widget];
  const locked = publishedKeys.has(key);
  const keyInput = h("input", { id: "prop-key", value: key, disabled: locked, "aria-describedby": "prop-key-note" });
  const keyNote = h("small", { id: "prop-key-note", class: "help" }, locked ? t("key_locked") : "");
  keyInput.addEventListener("change", () => {
    const next = keyInput.value.trim();
    if (next === key) return;
    if (!KEY_RE.test(next) || fieldOf(next)) { keyInput.setAttribute("aria-invalid", "true"); keyNote.textContent = "✕ " + next; return; }
    edit((form, layout) => {
      fieldOf(key, form).key = next;
      const at = locate(layout, key);
      if (at) listAt(layout, at[0])[at[1]] = next;
      if (form.title_field === key) form.title_field = next;
    }, "prop");
    selected = { kind: "field", key: next };
    renderAll();
  });
  const layout = layoutOf(formOf());
  const here = locate(layout, key);
  const moveSel = h("select", { id: "prop-move" }, ...containers(layout).map((c, i) =>
    h("option", { value: String(i), selected: here && samePath(c.path, here[0]) }, c.name)));
  moveSel.addEventListener("change", () => {
    const target = containers(layoutOf(formOf()))[Number(moveSel.value)];
    const at = locate(layoutOf(formOf()), key);
    moveItem(at[0], at[1], target.path, listAt(layoutOf(formOf()), target.path).length);
    document.getElementById("prop-move")?.focus();
  });
  const rows = w?.storage === "children";
  const config = w ? schemaForm(w.config_schema, f.config || {}, (k, v) => {
    edit((form) => {
      const fd = fieldOf(key, form);
      fd.config = { ...(fd.config || {}) };
      if (v === undefined) delete fd.config[k]; else fd.config[k] = v;
      if (!Object.keys(fd.config).length) delete fd.config;
    }, "prop");
    renderCanvas();
  }, { choices: configChoices(f), exclude: rows ? ["fields"] : [] }) : h("p", {}, f.widget);
  const validation = schemaForm(registry.field?.validation, f.validation || {}, (k, v) => {
    edit((form) => {
      const fd = fieldOf(key, form);
      fd.validation = { ...(fd.validation || {}) };
      if (v === undefined || v === false) delete fd.validation[k]; else fd.validation[k] = v;
      if (!Object.keys(fd.validation).length) delete fd.validation;
    }, "prop");
  });
  // the widget may be swapped for another that stores the same kind of value (select ↔ radio ...)
  const swaps = Object.values(widgets).filter((x) => w && x.storage === w.storage && x.value_kind === w.value_kind && !x.computed);
  const widgetSel = h("select", { id: "prop-widget", disabled: swaps.length < 2 },
    ...(swaps.length ? swaps : [{ type: f.widget, label: f.widget }]).map((x) =>
      h("option", { value: x.type, selected: x.type === f.widget }, label(x.label, x.type))));
  widgetSel.addEventListener("change", () => {
    const next = widgets[widgetSel.value];
    edit((form) => {
      const fd = fieldOf(key, form);
      fd.widget = next.type;
      const allowed = Object.keys(next.config_schema?.properties || {});
      const config = Object.fromEntries(Object.entries(fd.config || {}).filter(([k]) => allowed.includes(k)));
      if (Object.keys(config).length) fd.config = config; else delete fd.config;
    }, "prop");
    renderAll();
    document.getElementById("prop-widget")?.focus();
  });
  els.props.append(
    h("h2", {}, t("properties"), h("span", { class: "item-type" }, w ? label(w.label, f.widget) : f.widget)),
    h("div", { class: "prop" }, h("label", { for: "prop-widget" }, t("widget")), widgetSel),
    ...labelProps("prop-label", f.label, (v) => setProp(key, "label", v || key, `label:${key}`)),
    h("div", { class: "prop-row" },
      checkProp("prop-required", t("required"), f.required, (v) => setProp(key, "required", v)),
      checkProp("prop-read_only", t("read_only"), f.read_only, (v) => setProp(key, "read_only", v)),
      checkProp("prop-filterable", t("filterable"), f.filterable, (v) => setProp(key, "filterable", v))),
    exprEditor("prop-visible_if", t("visible_if"), f.visible_if, (v) => setProp(key, "visible_if", v, `vis:${key}`), key),
    exprEditor("prop-required_if", t("required_if"), f.required_if, (v) => setProp(key, "required_if", v, `req:${key}`), key),
    exprEditor("prop-formula", t("formula"), f.formula, (v) => setProp(key, "formula", v, `fx:${key}`), key),
    exprEditor("prop-default_expr", t("default_expr"), f.default_expr, (v) => setProp(key, "default_expr", v, `def:${key}`), key),
    ...labelProps("prop-help", f.help, (v) => setProp(key, "help", v, `help:${key}`), [t("help_zh"), t("help_en")]),
    ...labelProps("prop-placeholder", f.placeholder, (v) => setProp(key, "placeholder", v, `ph:${key}`), [t("placeholder_zh"), t("placeholder_en")]),
    h("div", { class: "prop" }, h("label", { for: "prop-move" }, t("move_to")), moveSel),
    h("h3", {}, t("config")), ...(rows ? [subFields(key)] : []), config,   // (append would print a null)
    h("h3", {}, t("validation")), validation,
    // the key is generated; a power user may still change it here (a newcomer never sees it)
    advanced("prop-advanced", h("div", { class: "prop" }, h("label", { for: "prop-key" }, t("key")), keyInput, keyNote)));
}

// The fields of a sub-table's rows: label and widget, one row each; their generated keys only under 高级.
function subFields(key) {
  const box = h("div", { class: "prop subfields" });
  const choices = Object.values(widgets).filter((x) => ["column", "multi"].includes(x.storage) && !x.computed);
  const setRows = (fn) => {
    edit((form) => {
      const fd = fieldOf(key, form);
      fd.config = { ...(fd.config || {}), fields: [...((fd.config || {}).fields || [])] };
      fn(fd.config.fields);
    }, "prop");
  };
  const render = () => {
    const list = (fieldOf(key).config || {}).fields || [];
    const keys = [];
    box.replaceChildren(h("label", {}, t("row_fields")), h("ol", { class: "options" }, ...list.map((c, i) => {
      const keyIn = h("input", { value: c.key, "aria-label": `${t("row_fields")} ${i + 1} ${t("key")}` });
      const labelIn = h("input", { value: label(c.label, ""), "aria-label": `${t("row_fields")} ${i + 1} ${t("label_zh")}` });
      const widgetSel = h("select", { "aria-label": `${t("row_fields")} ${i + 1} ${t("widget")}` },
        ...choices.map((x) => h("option", { value: x.type, selected: x.type === c.widget }, label(x.label, x.type))));
      keyIn.addEventListener("change", () => { if (KEY_RE.test(keyIn.value)) setRows((rs) => { rs[i] = { ...rs[i], key: keyIn.value }; }); });
      labelIn.addEventListener("change", () => setRows((rs) => { rs[i] = { ...rs[i], label: labelIn.value || rs[i].key }; }));
      widgetSel.addEventListener("change", () => setRows((rs) => {
        const ex = widgets[widgetSel.value].example || {};
        rs[i] = { key: rs[i].key, label: rs[i].label, widget: widgetSel.value, ...(ex.config && Object.keys(ex.config).length ? { config: ex.config } : {}) };
      }));
      keys.push(h("div", { class: "prop" }, h("label", {}, label(c.label, c.key)), keyIn));
      return h("li", {}, labelIn, widgetSel,
        h("button", { type: "button", class: "icon", disabled: i === 0, "aria-label": `${t("move_up")} ${c.key}`,
          onclick: () => { setRows((rs) => { [rs[i - 1], rs[i]] = [rs[i], rs[i - 1]]; }); render(); } }, "↑"),
        h("button", { type: "button", class: "icon", disabled: list.length === 1, "aria-label": `${t("remove")} ${c.key}`,
          onclick: () => { setRows((rs) => { rs.splice(i, 1); }); render(); } }, "✕"));
    })), h("button", { type: "button", class: "small", onclick: () => {
      setRows((rs) => {
        const taken = new Set(rs.map((r) => r.key));
        let n = rs.length + 1;
        while (taken.has(`col_${n}`)) n += 1;
        rs.push({ key: `col_${n}`, label: `${t("value")}${n}`, widget: "text" });
      });
      render();
      box.querySelector("ol.options li:last-child input")?.focus();
    } }, "+ " + t("add_row_field")), advanced(`subfields-keys-${key}`, h("div", { class: "subfield-keys" }, ...keys)));
  };
  render();
  return box;
}

// Config properties that name something in the app: offered as selects.
function configChoices(f) {
  const forms = (store.package.forms || []).map((x) => [x.key, label(x.label, x.key)]);
  const target = (store.package.forms || []).find((x) => x.key === f.config?.form);
  const targetFields = (target?.fields || []).map((x) => [x.key, label(x.label, x.key)]);
  return { form: forms, display_field: targetFields };
}

function nodeMoveControl(path, index) {
  // keyboard parity with dragging: put this section or tab set into another container
  const own = [...path, index];
  const targets = containers(layoutOf(formOf())).filter((c) =>
    !(c.path.length > path.length && samePath(c.path.slice(0, own.length), own)));
  const sel = h("select", { id: "node-move" }, h("option", { value: "" }, "—"),
    ...targets.map((c, i) => h("option", { value: String(i) }, c.name)));
  sel.addEventListener("change", () => {
    if (sel.value === "") return;
    const target = targets[Number(sel.value)];
    moveItem(path, index, target.path, listAt(layoutOf(formOf()), target.path).length);
  });
  return h("div", { class: "prop" }, h("label", { for: "node-move" }, t("move_to")), sel);
}

function renderNodeProps(node, path, index) {
  const setNode = (fn, coalesce) => {
    edit((form, layout) => fn(listAt(layout, path)[index]), "prop", { coalesce });
    renderCanvas();
  };
  if (node.type === "tabs") {
    els.props.append(h("h2", {}, t("tabs")), nodeMoveControl(path, index),
      ...node.tabs.flatMap((tab, j) => [h("h3", {}, `${t("tab")} ${j + 1}`),
        ...labelProps(`tab-${j}`, tab.label, (v) => setNode((n) => { n.tabs[j].label = v || `${j + 1}`; }, `tab:${j}`)),
        h("button", { type: "button", class: "small", disabled: node.tabs.length === 1,
          onclick: () => { setNode((n) => { const [gone] = n.tabs.splice(j, 1); n.tabs[Math.max(0, j - 1)].items.push(...gone.items); }); renderProps(); } }, `${t("remove")} ${t("tab")} ${j + 1}`)]),
      h("p", {}, h("button", { type: "button", onclick: () => {
        setNode((n) => n.tabs.push({ label: { "zh-CN": `标签${n.tabs.length + 1}`, en: `Tab ${n.tabs.length + 1}` }, items: [] }));
        renderProps();
      } }, "+ " + t("add_tab"))));
    return;
  }
  const cols = h("select", { id: "sec-columns" }, ...[1, 2, 3, 4].map((n) => h("option", { value: String(n), selected: (node.columns || 1) === n }, String(n))));
  cols.addEventListener("change", () => setNode((n) => { n.columns = Number(cols.value); }));
  els.props.append(h("h2", {}, t("section")),
    ...labelProps("sec-label", node.label, (v) => setNode((n) => { if (v) n.label = v; else delete n.label; }, "sec-label")),
    h("div", { class: "prop" }, h("label", { for: "sec-columns" }, t("columns")), cols),
    checkProp("sec-collapsed", t("collapsed"), node.collapsed, (v) => setNode((n) => { if (v) n.collapsed = true; else delete n.collapsed; })),
    exprEditor("sec-visible_if", t("visible_if"), node.visible_if, (v) => setNode((n) => { if (v) n.visible_if = v; else delete n.visible_if; }, "sec-vis")),
    nodeMoveControl(path, index));
}

// -- problems, preview, status ---------------------------------------------------------------------

function formIndex() { return (store.package.forms || []).findIndex((f) => f.key === formKey); }

function problemsByField() {
  const out = {};
  const base = `/forms/${formIndex()}/fields/`;
  const fields = formOf().fields || [];
  for (const p of problems) {
    if (!p.pointer?.startsWith(base)) continue;
    const j = Number(p.pointer.slice(base.length).split("/")[0]);
    if (fields[j]) (out[fields[j].key] ||= []).push(p);
  }
  return out;
}

let validateTimer = null;
function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(async () => {
    try {
      const res = await post(`/apps/${enc(appKey)}/draft/validate`, { package: store.package });
      problems = res.errors;
    } catch { return; }
    const mine = problems.filter((p) => p.pointer?.startsWith(`/forms/${formIndex()}`));
    els.problems.hidden = !mine.length;
    els.problems.replaceChildren(h("h2", {}, `${t("errors")} (${mine.length})`), errorList(mine, pickProblem));
    renderCanvas();
  }, 500);
}

function pickProblem(problem) {
  const base = `/forms/${formIndex()}/fields/`;
  if (!problem.pointer.startsWith(base)) return;
  const j = Number(problem.pointer.slice(base.length).split("/")[0]);
  const f = (formOf().fields || [])[j];
  if (!f) return;
  selected = { kind: "field", key: f.key };
  renderCanvas();
  renderProps();
  const prop = problem.pointer.slice(base.length).split("/")[1];
  (document.getElementById(`prop-${prop}`) || els.canvas.querySelector(".selected"))?.focus();
}

let previewTimer = null;
function schedulePreview() {
  if (els.preview.hidden) return;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    try {
      const resp = await fetch(`${document.querySelector("meta[name=builder-api]").content}/apps/${enc(appKey)}/preview`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "text/html",
          "X-CSRF-Token": document.querySelector("meta[name=csrf-token]").content },
        body: JSON.stringify({ form: formOf() }) });
      if (resp.ok) {
        els.frame.srcdoc = await resp.text();
        document.getElementById("preview-errors").replaceChildren();
      } else {
        const body = await resp.json();
        document.getElementById("preview-errors").replaceChildren(errorList(body.error.errors || [body.error]));
      }
    } catch (err) { /* the next change retries */ }
  }, 400);
}

function renderAll() {
  const gone = !formOf();              // its creation was undone: nothing to draw until it is redone
  for (const el of [els.canvas, els.props, els.palette]) el.hidden = gone;
  document.getElementById("form-gone")?.remove();
  if (gone) {
    els.canvas.before(h("p", { id: "form-gone", class: "flash", role: "status" }, t("form_gone")));
    toolbar.render();
    return;
  }
  renderCanvas();
  renderProps();
  toolbar.render();
}

// -- start ---------------------------------------------------------------------------------------

async function start() {
  [registry] = await Promise.all([get("/registries"), store.load()]);
  for (const g of registry.widgets.groups) for (const w of g.widgets) widgets[w.type] = w;
  await loadPublishedKeys();
  await createIfNew();
  if (!formOf()) {
    els.canvas.replaceChildren(h("p", { role: "alert" }, `${formKey}?`));
    return;
  }
  toolbar.bind();
  store.addEventListener("change", (e) => {
    const reason = e.detail.reason;
    if (["undo", "redo", "load"].includes(reason)) {
      if (selected?.kind === "field" && !fieldOf(selected.key)) selected = null;
      renderAll();
    } else toolbar.render();
    if (reason !== "saved") { scheduleValidate(); schedulePreview(); }
  });
  document.getElementById("btn-preview").addEventListener("click", (e) => {
    els.preview.hidden = !els.preview.hidden;
    e.currentTarget.setAttribute("aria-pressed", els.preview.hidden ? "false" : "true");
    schedulePreview();
  });
  document.getElementById("btn-publish").addEventListener("click", async () => {
    const result = await publishFlow(store, { onErrors: (errs) => { problems = errs; renderCanvas(); } });
    if (result) {
      await loadPublishedKeys();
      renderAll();
      els.state.replaceChildren(`${t("publish_ok")}${result.to_version} · `,
        h("a", { href: root.dataset.runtime, id: "open-runtime" }, t("open_runtime")));
    }
  });
  renderPalette();
  renderAll();
  scheduleValidate();
}

// ``?new=1&label=...`` from the app page's "+ 新建表单": the form (no fields yet) is this designer's first
// (undoable) change, saved at once; its name is edited in place in the title.
async function createIfNew() {
  const params = new URLSearchParams(window.location.search);
  if (formOf() || params.get("new") !== "1") return;
  store.change((pkg) => {
    pkg.forms = [...(pkg.forms || []), { key: formKey, version: 1, label: params.get("label") || formKey, fields: [] }];
  }, "create");
  title.render();   // the name at once, not the key, while the first save is on its way
  await toolbar.save();
  // the address drops "new=1" only once the item is saved: a reload before then creates it again
  history.replaceState(null, "", window.location.pathname + (params.get("lang") ? `?lang=${enc(params.get("lang"))}` : ""));
}

async function loadPublishedKeys() {
  publishedKeys = new Set();
  if (!store.info.installed_version) return;  // never published: nothing to ask for (a 404 in the console)
  try {
    const resp = await fetch(`${document.querySelector("meta[name=builder-api]").content}/apps/${enc(appKey)}/export`,
      { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) return;
    const pkg = await resp.json();
    const form = (pkg.forms || []).find((f) => f.key === formKey);
    for (const f of form?.fields || []) publishedKeys.add(f.key);
  } catch { /* not published yet */ }
}

start().catch((err) => {
  els.canvas.replaceChildren(h("p", { role: "alert", class: "field-error" }, err.message));
});
