// The expression editor every designer shares (form conditions and formulas, flow edge
// conditions, rule conditions, report filters): a text box with a field picker, a function
// picker, autocomplete of field and function names, and live errors from the server's
// compiler with the position marked.
//
// Names, not keys: people type and read field labels (``问题类型 == "其他"``). The server's check
// (engines/expr/labels.py ``to_keys``) answers the text to store, with each label replaced by its
// field's stable key; ``onChange`` receives that, so renaming a label later rewrites nothing.
// ``showLabels`` shows a stored expression with labels again; the draft waits for checks still on
// their way before it saves (``pending`` of draft.js).
import { post } from "./api.js";
import { pending } from "./draft.js";
import { t, h, label } from "./i18n.js";

let counter = 0;
const IDENT_TAIL = /[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$/;
const IDENT = /[A-Za-z0-9_\u4e00-\u9fff]/;
const RESERVED = new Set(["true", "false", "null", "and", "or", "not", "in", "if", "else", "is"]);

// A stored expression (keys) as people read it: every key whose label reads back as that key alone
// is shown as the label (a label two fields share, or one that is a key, a function or a constant,
// shows the key). Only names outside string literals, not after "." and not called, are touched; a
// dotted key (``process.node``) is one name. Text compared with a name that has options (``==``,
// ``!=``, ``in [..]``) shows the option's label when its value is that text (``"fix"`` → ``"处理中"``),
// as the server's check turns it back (engines/expr/labels.py ``option_values``).
export function showLabels(source, names, functions = []) {
  if (typeof source !== "string" || !source) return source || "";
  const list = names.filter((n) => n && n.key);
  const keys = new Set(list.map((n) => n.key));
  const count = new Map();
  for (const n of list) {
    for (const text of allLabels(n)) if (text !== n.key) count.set(text, (count.get(text) || 0) + 1);
  }
  const fnNames = new Set(functions.map((f) => f.name || f));
  const shown = new Map();
  for (const n of list) {
    const text = (n.label || "").trim();
    if (!text || text === n.key || keys.has(text) || /["'.()[\]]/.test(text) || count.get(text) !== 1
      || fnNames.has(text) || RESERVED.has(text)) continue;
    shown.set(n.key, text);
  }
  if (!shown.size) return source;
  const byKey = new Map(list.map((n) => [n.key, n]));
  let out = "";
  let i = 0;
  let compared = null;  // the name a literal that follows is compared with
  while (i < source.length) {
    const ch = source[i];
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += source[j] === "\\" ? 2 : 1;
      const literal = source.slice(i, j + 1);
      out += optionLabel(byKey.get(compared), literal, ch) ?? literal;
      i = j + 1;
      continue;
    }
    if (IDENT.test(ch) && (i === 0 || (!IDENT.test(source[i - 1]) && source[i - 1] !== "."))) {
      let j = i;
      while (j < source.length && IDENT.test(source[j])) j += 1;
      let word = source.slice(i, j);
      const dotted = /^\.([A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*)/.exec(source.slice(j));
      if (dotted && keys.has(`${word}.${dotted[1]}`)) {
        word = `${word}.${dotted[1]}`;
        j += dotted[0].length;
      }
      const called = /^[ \t]*\(/.test(source.slice(j));
      out += shown.has(word) && !called ? shown.get(word) : word;
      const comparing = /^\s*(==|!=|not\s+in\b|in\b)/.test(source.slice(j));
      compared = keys.has(word) && !called && comparing ? word : ["in", "not"].includes(word) ? compared : null;
      i = j;
      continue;
    }
    if (ch === ")" || ch === "]") compared = null;
    out += ch;
    i += 1;
  }
  return out;
}

// the literal ``"fix"`` of a name whose options hold the value "fix", as ``"处理中"`` (its label,
// when no other option has that label and it is not another option's value)
function optionLabel(name, literal, quote) {
  if (!name || !Array.isArray(name.options) || literal.length < 2 || literal.includes("\\")) return null;
  const value = literal.slice(1, -1);
  const hit = name.options.find((o) => o.value === value);
  const text = hit ? (hit.text ?? label(hit.labels, String(hit.value))) : null;
  if (!text || text === value || text.includes(quote)) return null;
  if (name.options.some((o) => o !== hit && (o.value === text || (o.text ?? "") === text))) return null;
  return `${quote}${text}${quote}`;
}

function allLabels(n) {
  const raw = n.labels ?? n.label;
  if (raw && typeof raw === "object") return Object.values(raw).filter((v) => typeof v === "string" && v.trim()).map((v) => v.trim());
  return typeof raw === "string" && raw.trim() ? [raw.trim()] : [];
}

export class ExprEditor {
  // names(): [{key, label}] in scope; library: {functions, constants}; onChange(value)
  constructor({ label: text, value = "", names, library, onChange, id }) {
    this.id = id || `expr-${++counter}`;
    this.names = names;
    this.library = library || { functions: [], constants: [] };
    this.onChange = onChange;
    this.timer = null;
    this.active = -1;
    this.matches = [];

    this.input = h("textarea", { id: this.id, class: "expr-input", rows: "2", spellcheck: "false",
      autocomplete: "off", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": `${this.id}-list`, "aria-describedby": `${this.id}-msg` });
    this.input.value = showLabels(value || "", this.names(), this.library.functions);
    this.stored = value || "";
    this.list = h("ul", { id: `${this.id}-list`, class: "expr-suggest", role: "listbox", hidden: true });
    this.message = h("div", { id: `${this.id}-msg`, class: "expr-msg", "aria-live": "polite" });
    this.fieldPick = h("select", { class: "expr-pick", "aria-label": `${text}: ${t("insert_field")}` });
    this.funcPick = h("select", { class: "expr-pick", "aria-label": `${text}: ${t("insert_function")}` });
    this.fillPickers();
    this.el = h("div", { class: "expr-editor" },
      h("label", { for: this.id }, text),
      h("div", { class: "expr-box" }, this.input, this.list),
      h("div", { class: "expr-tools" }, this.fieldPick, this.funcPick),
      this.message);

    this.input.addEventListener("input", () => { this.suggest(); this.changed(); });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.fieldPick.addEventListener("change", () => {
      if (this.fieldPick.value) this.insert(this.fieldPick.value);
      this.fieldPick.value = "";
    });
    this.funcPick.addEventListener("change", () => {
      if (this.funcPick.value) this.insert(`${this.funcPick.value}()`, -1);
      this.funcPick.value = "";
    });
    if (this.input.value) this.check();
  }

  fillPickers() {
    this.fieldPick.replaceChildren(h("option", { value: "" }, t("insert_field")),
      ...this.names().map((n) => h("option", { value: this.nameText(n), title: n.key }, n.label || n.key)));
    this.funcPick.replaceChildren(h("option", { value: "" }, t("insert_function")),
      ...this.library.functions.map((f) => h("option", { value: f.name, title: label(f.doc) }, `${f.name}() — ${label(f.doc)}`)));
  }

  candidates() {
    return [
      ...this.names().map((n) => ({ text: this.nameText(n), hint: "", kind: "field" })),
      ...this.library.functions.map((f) => ({ text: f.name, hint: label(f.doc), kind: "function" })),
      ...(this.library.constants || []).map((c) => ({ text: c, hint: "", kind: "constant" })),
    ];
  }

  // what a field is typed as: its label where that reads back as the field, else its key
  nameText(n) {
    const shown = showLabels(n.key, this.names(), this.library.functions);
    return shown || n.key;
  }

  prefix() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = before.match(IDENT_TAIL);
    return m ? m[0] : "";
  }

  suggest() {
    const p = this.prefix();
    if (!p) return this.close();
    const low = p.toLowerCase();
    this.matches = this.candidates().filter((c) => c.text.toLowerCase().startsWith(low) && c.text !== p).slice(0, 12);
    if (!this.matches.length) return this.close();
    this.active = 0;
    this.list.replaceChildren(...this.matches.map((m, i) => h("li", {
      id: `${this.id}-opt-${i}`, role: "option", "aria-selected": i === 0 ? "true" : "false", class: `kind-${m.kind}`,
      onmousedown: (e) => { e.preventDefault(); this.accept(i); } }, h("b", {}, m.text), m.hint ? h("small", {}, ` ${m.hint}`) : null)));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `${this.id}-opt-0`);
  }

  close() {
    this.list.hidden = true;
    this.matches = [];
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  onKey(e) {
    if (this.list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = this.matches.length;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : -1) + n) % n;
      [...this.list.children].forEach((li, i) => li.setAttribute("aria-selected", i === this.active ? "true" : "false"));
      this.input.setAttribute("aria-activedescendant", `${this.id}-opt-${this.active}`);
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      this.accept(this.active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      this.close();
    }
  }

  accept(i) {
    const m = this.matches[i];
    if (!m) return;
    const p = this.prefix();
    const start = this.input.selectionStart - p.length;
    const text = m.kind === "function" ? `${m.text}()` : m.text;
    this.input.setRangeText(text, start, this.input.selectionStart, "end");
    if (m.kind === "function") this.input.selectionStart = this.input.selectionEnd = this.input.selectionStart - 1;
    this.close();
    this.changed();
    this.input.focus();
  }

  insert(text, caretOffset = 0) {
    const { selectionStart: s, selectionEnd: e } = this.input;
    const before = this.input.value.slice(0, s);
    const pad = before && !/[\s(,]$/.test(before) ? " " : "";
    this.input.setRangeText(pad + text, s, e, "end");
    const pos = this.input.selectionEnd + caretOffset;
    this.input.focus();
    this.input.setSelectionRange(pos, pos);
    this.changed();
  }

  changed() {
    clearTimeout(this.timer);
    if (!this.waiting) {
      let done;
      this.waiting = new Promise((resolve) => { done = resolve; });
      this.waiting.done = done;
      pending.add(this.waiting);
    }
    this.timer = setTimeout(() => this.check(), 250);
    if (this.onChange) this.onChange(this.input.value.trim() === "" ? null : this.input.value);
  }

  async check() {
    const source = this.input.value;
    const waiting = this.waiting;
    this.waiting = null;
    try {
      if (!source.trim()) { this.show(null); return; }
      const names = this.names();
      const result = await post("/expr/check", { source, names: names.map((n) => n.key),
        fields: names.map((n) => ({ key: n.key, label: n.labels ?? n.label,
          ...(n.options ? { options: n.options.map((o) => ({ value: o.value, label: o.labels ?? o.text })) } : {}) })) });
      if (source !== this.input.value) return;
      this.show(result.ok ? null : result.error, true);
      // the text to store: the labels typed, as their fields' keys
      if (result.ok && waiting && result.source !== undefined && this.onChange) this.onChange(result.source);
    } catch (err) { /* offline: the server checks again on publish */ } finally {
      if (waiting) { pending.delete(waiting); waiting.done(); }
    }
  }

  show(error, checked = false) {
    this.el.classList.toggle("invalid", !!error);
    this.input.setAttribute("aria-invalid", error ? "true" : "false");
    if (!error) {
      this.message.replaceChildren(checked ? h("span", { class: "expr-ok" }, "✓ " + t("expr_ok")) : "");
      return;
    }
    const src = this.input.value;
    const pos = Math.max(1, Math.min(error.position || 1, src.length + 1));
    const chars = [...src];
    this.message.replaceChildren(
      h("p", { class: "expr-error", role: "alert", "data-code": error.code },
        error.message, error.position ? ` (${t("position", { n: error.position })})` : ""),
      h("pre", { class: "expr-where", "aria-hidden": "true" }, chars.slice(0, pos - 1).join(""),
        h("mark", {}, chars[pos - 1] || " "), chars.slice(pos).join("")));
  }
}
