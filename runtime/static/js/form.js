// Live behaviour of a runtime form: visibility, required markers and formula previews.
//
// The page embeds FormSpec.client_spec() (fields with the JSON syntax trees of
// visible_if / required_if / formula, and the formulas' dependency order) and an
// evaluation context. formstate.js decides in the server's order (formulas, then
// visibility, then required) with expr.js — the browser twin of engines/expr — and
// both are checked against shared corpora, so the browser never has a second copy
// of the rules. The server re-checks everything on save; this only keeps the page
// honest while typing.
import { formState, safely, truthy } from "./formstate.js";

const form = document.querySelector("[data-jimu-form]");
const spec = JSON.parse(document.getElementById("form-spec").textContent);
const context = JSON.parse(document.getElementById("form-context").textContent);

function readField(field) {
  const inputs = form.querySelectorAll(`[name="${CSS.escape(field.key)}"]`);
  if (!inputs.length) return null;
  const first = inputs[0];
  const file = [...inputs].find((i) => i.type === "file");
  if (file) {  // files kept (checked) plus files chosen: a list, or null when none
    const kept = [...inputs].filter((i) => i.type === "checkbox" && i.checked).map((i) => i.value);
    const chosen = [...file.files].map((f) => f.name);
    return kept.length + chosen.length ? [...kept, ...chosen] : null;
  }
  if (first.tagName === "OUTPUT") return first.dataset.value ? JSON.parse(first.dataset.value) : null;
  if (first.type === "checkbox" && inputs.length > 1) {
    return [...inputs].filter((i) => i.checked).map((i) => i.value);
  }
  if (first.type === "checkbox") return first.checked;
  if (first.type === "radio") {
    const checked = [...inputs].find((i) => i.checked);
    return checked ? checked.value : null;
  }
  if (first.tagName === "SELECT" && first.multiple) return [...first.selectedOptions].map((o) => o.value);
  const raw = first.value;
  if (raw === "") return null;
  if (first.dataset.subtable !== undefined) {
    try { return JSON.parse(raw); } catch { return raw; }
  }
  const numeric = first.type === "number" || first.inputMode === "decimal" || first.inputMode === "numeric";
  if (numeric && raw.trim() !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

function values() {
  const out = {};
  for (const field of spec.fields) out[field.key] = readField(field);
  return out;
}

function show(field, visible) {
  const box = form.querySelector(`[data-field="${CSS.escape(field.key)}"]`);
  if (!box) return;
  box.hidden = !visible;
  // hidden inputs are not submitted; the server would drop them anyway
  for (const input of box.querySelectorAll("input, select, textarea")) input.disabled = !visible;
}

function markRequired(field, required) {
  const box = form.querySelector(`[data-field="${CSS.escape(field.key)}"]`);
  if (!box) return;
  const star = box.querySelector(".req");
  if (star) star.hidden = !required;
  for (const input of box.querySelectorAll("input, select, textarea")) {
    input.setAttribute("aria-required", required ? "true" : "false");
  }
}

function display(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e6) / 1e6);
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (typeof value === "object" && typeof value.toJSON === "function") return value.toJSON();
  return String(value);
}

// on an edit page a hidden field keeps its stored value (the server keeps it too): the values at load
const stored = form && form.querySelector('[name="row_version"]') ? values() : null;

function refresh() {
  const state = formState(spec, values(), context, stored);
  for (const field of spec.fields) {
    if (!field.formula) continue;
    const value = state.values[field.key];
    const out = form.querySelector(`output[name="${CSS.escape(field.key)}"]`);
    if (out) {
      out.textContent = display(value);
      out.dataset.value = JSON.stringify(value === undefined ? null : value);
    }
  }
  for (const section of form.querySelectorAll("[data-visible-if]")) {
    const visible = truthy(safely(JSON.parse(section.dataset.visibleIf), state.values, context, true));
    section.hidden = !visible;
  }
  for (const field of spec.fields) {
    show(field, !state.hidden.includes(field.key));
    markRequired(field, state.required.includes(field.key));
  }
}

if (form) {
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  refresh();
  form.dataset.ready = "true";
}
