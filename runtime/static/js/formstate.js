// The live state of a form, in the server's order (engines/form/clean.py):
// formulas first (in dependency order), then visibility on the merged record,
// a hidden field's value dropped (the stored one on an edit page) and formulas
// computed again, then required / required_if. Pure: no DOM, so the shared
// corpus (tests/engines/form/conditions_corpus.json) runs it in Chromium and
// compares it with FormSpec.clean.
import { evaluate } from "./expr.js";

export function truthy(value) {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object" && value.constructor === Object) return Object.keys(value).length > 0;
  return true;
}

export function isEmpty(value) {
  if (value === null || value === undefined || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value.constructor === Object && Object.keys(value).length === 0;
}

export function safely(tree, vars, context, fallback) {
  try {
    return evaluate(tree, vars, context);
  } catch (err) {
    return fallback;
  }
}

function computeFormulas(spec, byKey, vars, context) {
  for (const key of spec.formula_order || []) {
    const value = safely(byKey[key].formula, vars, context, null);
    vars[key] = value === undefined ? null : value;
  }
}

export function visibleIn(field, vars, context) {
  const own = field.visible_if ? truthy(safely(field.visible_if, vars, context, true)) : true;
  return own && (field.sections || []).every((tree) => truthy(safely(tree, vars, context, true)));
}

// spec: FormSpec.client_spec(); input: field key → value as entered; existing: the stored record on an
// edit page (null on a new one). Returns {values, hidden, required, missing}.
export function formState(spec, input, context, existing = null) {
  const byKey = Object.fromEntries(spec.fields.map((f) => [f.key, f]));
  const vars = { ...input };
  computeFormulas(spec, byKey, vars, context);
  const hidden = [];
  let dropped = false;
  for (const field of spec.fields) {
    if (visibleIn(field, vars, context)) continue;
    hidden.push(field.key);
    if (field.computed) continue;
    const kept = existing ? (existing[field.key] ?? null) : null;  // a new record: nothing; an edit: what is stored
    if (vars[field.key] !== kept) {
      vars[field.key] = kept;
      dropped = true;
    }
  }
  if (dropped) computeFormulas(spec, byKey, vars, context);
  const required = [];
  const missing = [];
  for (const field of spec.fields) {
    if (field.computed || hidden.includes(field.key)) continue;
    const needed = field.required || (field.required_if ? truthy(safely(field.required_if, vars, context, false)) : false);
    if (!needed) continue;
    required.push(field.key);
    if (isEmpty(vars[field.key])) missing.push(field.key);
  }
  return { values: vars, hidden, required, missing };
}
