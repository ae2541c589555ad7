// The shared draft of an app package: every designer edits it through this store.
//
// - change(fn): fn mutates a copy of the package; the previous state goes on the undo stack;
// - undo()/redo() within the session (Ctrl+Z, Ctrl+Y / Ctrl+Shift+Z);
// - save() sends the package with the revision it started from (a concurrent save is a 409);
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
    this.revision = 0;
    this.savedJson = "";
    this.undoStack = [];
    this.redoStack = [];
    this.info = {};
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
    this.revision = data.revision;
    this.savedJson = JSON.stringify(data.package);
  }

  emit(reason) { this.dispatchEvent(new CustomEvent("change", { detail: { reason } })); }

  // ``coalesce``: a key for edits that belong together (typing in one box), so one undo step
  // takes back the whole burst instead of one keystroke.
  change(fn, reason = "edit", { coalesce = null } = {}) {
    const before = JSON.stringify(this.package);
    const next = JSON.parse(before);
    fn(next);
    if (JSON.stringify(next) === before) return;
    if (!coalesce || coalesce !== this.lastCoalesce) {
      this.undoStack.push(before);
      if (this.undoStack.length > LIMIT) this.undoStack.shift();
    }
    this.lastCoalesce = coalesce;
    this.redoStack = [];
    this.package = next;
    this.emit(reason);
  }

  canUndo() { return this.undoStack.length > 0; }
  canRedo() { return this.redoStack.length > 0; }

  undo() {
    if (!this.canUndo()) return;
    this.lastCoalesce = null;
    this.redoStack.push(JSON.stringify(this.package));
    this.package = JSON.parse(this.undoStack.pop());
    this.emit("undo");
  }

  redo() {
    if (!this.canRedo()) return;
    this.lastCoalesce = null;
    this.undoStack.push(JSON.stringify(this.package));
    this.package = JSON.parse(this.redoStack.pop());
    this.emit("redo");
  }

  dirty() { return JSON.stringify(this.package) !== this.savedJson; }

  async save() {
    while (pending.size) await Promise.all([...pending]);
    if (!this.dirty() && this.info.saved) return this.info;
    const data = await put(`/apps/${enc(this.appKey)}/draft`, { package: this.package, revision: this.revision });
    const current = JSON.stringify(this.package);
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
