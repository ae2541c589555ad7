// The shared draft of an app package: every designer edits it through this store.
//
// - change(fn): fn mutates a copy of the package; the previous state goes on the undo stack;
// - undo()/redo() within the session (Ctrl+Z, Ctrl+Y / Ctrl+Shift+Z);
// - save() sends the package with the revision it started from (a concurrent save is a 409); the page's
//   own saves go one after another, so a second edit saved while the first is on its way is not taken
//   for someone else's change;
// - holders: the roles the draft gives to (or takes from) users, {role: {add: [...], remove: [...]}}:
//   kept with the draft, not in the package, applied on publish; change(fn) hands them to fn too;
// - dirty() drives the unsaved-changes warning (beforeunload) and the save button;
// - publish flow: save, fetch the diff, confirm in a dialog, publish (see publish.js).
import { get, put, enc } from "./api.js";

const LIMIT = 200;
// Work still on its way that changes the draft (an expression editor's check turns the labels typed
// into field keys): save() waits for it, so what is saved is what was typed.
export const pending = new Set();

export class DraftStore extends EventTarget {
  constructor(appKey) {
    super();
    this.appKey = appKey;
    this.package = null;
    this.holders = {};
    this.currentHolders = {};   // who holds each published role now: {role: [username]}
    this.revision = 0;
    this.savedJson = "";
    this.undoStack = [];
    this.redoStack = [];
    this.info = {};
    this.saving = Promise.resolve();
  }

  async load() {
    const data = await get(`/apps/${enc(this.appKey)}/draft`);
    this._accept(data);
    this.undoStack = [];
    this.redoStack = [];
    this.emit("load");
    return this;
  }

  _accept(data) {
    this.info = data;
    this.package = data.package;
    this.holders = data.holders || {};
    this.currentHolders = data.current_holders || {};
    this.revision = data.revision;
    this.savedJson = this._snapshot();
  }

  // What undo, redo and the unsaved-changes check compare: the package and the pending holders.
  _snapshot() { return JSON.stringify({ package: this.package, holders: this.holders }); }

  _restore(json) {
    const state = JSON.parse(json);
    this.package = state.package;
    this.holders = state.holders;
  }

  emit(reason) { this.dispatchEvent(new CustomEvent("change", { detail: { reason } })); }

  // ``coalesce``: a key for edits that belong together (typing in one box), so one undo step
  // takes back the whole burst instead of one keystroke.
  change(fn, reason = "edit", { coalesce = null } = {}) {
    const before = this._snapshot();
    const next = JSON.parse(before);
    fn(next.package, next.holders);
    if (JSON.stringify(next) === before) return;
    if (!coalesce || coalesce !== this.lastCoalesce) {
      this.undoStack.push(before);
      if (this.undoStack.length > LIMIT) this.undoStack.shift();
    }
    this.lastCoalesce = coalesce;
    this.redoStack = [];
    this.package = next.package;
    this.holders = next.holders;
    this.emit(reason);
  }

  canUndo() { return this.undoStack.length > 0; }
  canRedo() { return this.redoStack.length > 0; }

  undo() {
    if (!this.canUndo()) return;
    this.lastCoalesce = null;
    this.redoStack.push(this._snapshot());
    this._restore(this.undoStack.pop());
    this.emit("undo");
  }

  redo() {
    if (!this.canRedo()) return;
    this.lastCoalesce = null;
    this.undoStack.push(this._snapshot());
    this._restore(this.redoStack.pop());
    this.emit("redo");
  }

  dirty() { return this._snapshot() !== this.savedJson; }

  // The pending holders of roles still in the draft (a role removed or renamed drops its own).
  pendingHolders() {
    const roles = new Set((this.package.roles || []).map((r) => r.key));
    return Object.fromEntries(Object.entries(this.holders || {}).filter(([k]) => roles.has(k)));
  }

  save() {
    const next = this.saving.catch(() => {}).then(() => this._save());
    this.saving = next;
    return next;
  }

  async _save() {
    while (pending.size) await Promise.all([...pending]);
    if (!this.dirty() && this.info.saved) return this.info;
    const current = this._snapshot();
    const data = await put(`/apps/${enc(this.appKey)}/draft`,
      { package: this.package, holders: this.pendingHolders(), revision: this.revision });
    this.info = data;
    this.revision = data.revision;
    this.savedJson = current;          // edits made while saving stay dirty
    this.emit("saved");
    return data;
  }

  // Keyboard shortcuts and the unsaved-changes warning, once per page.
  bindPage() {
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty()) { event.preventDefault(); event.returnValue = ""; }
    });
    document.addEventListener("keydown", (event) => {
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const inText = event.target.matches?.("input, textarea, select");
      const key = event.key.toLowerCase();
      if (key === "s") { event.preventDefault(); this.dispatchEvent(new CustomEvent("save-request")); }
      else if (key === "z" && !inText) { event.preventDefault(); event.shiftKey ? this.redo() : this.undo(); }
      else if (key === "y" && !inText) { event.preventDefault(); this.redo(); }
    });
  }
}
