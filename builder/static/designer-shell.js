// What every designer (form, flow, rule, report, dashboard) wires the same way around its DraftStore:
// the save state in the toolbar (#save-state), Undo/Redo/Save draft (#btn-undo, #btn-redo, #btn-save;
// the buttons' state follows the store), and DraftStore.bindPage — Ctrl+Z/Y/S and the warning before
// leaving with unsaved changes; going back through the crumbs saves the draft first. The toolbar itself
// is builder/templates/builder/_designer_bar.html.
// Publishing, the "?new=1" start and everything else stay in each designer: they differ.
import { ApiError } from "./api.js";
import { t, h, announce } from "./i18n.js";

// ``designerToolbar(store, opts)`` → {render, save, bind}. ``render()`` shows the save state and
// enables the buttons (then calls ``opts.onRender``); ``save()`` saves the draft, showing "saving",
// then "saved" or the error (a 409 as the conflict message); ``bind()`` wires the buttons and keys.
// ``opts.onSaved`` runs after a successful save. A failed save keeps its message (a 409 says someone
// else saved) until the next change redraws the state, so the builder sees why nothing was saved.
export function designerToolbar(store, { onRender, onSaved } = {}) {
  const state = document.getElementById("save-state");
  const render = () => {
    const dirty = store.dirty();
    state.textContent = dirty ? t("unsaved") : (store.info.saved ? t("saved") : "");
    state.classList.toggle("dirty", dirty);
    document.getElementById("btn-undo").disabled = !store.canUndo();
    document.getElementById("btn-redo").disabled = !store.canRedo();
    document.getElementById("btn-save").disabled = !dirty;
    onRender?.();
  };
  const save = async () => {
    state.textContent = t("saving");
    try {
      await store.save();
      announce(t("saved"));
      onSaved?.();
    } catch (err) {
      state.textContent = err instanceof ApiError && err.status === 409 ? t("conflict") : err.message;
      return;
    }
    render();
  };
  const bind = () => {
    store.bindPage();
    // back to the app (or the builder) from the crumbs: the draft is saved on the way, not left behind
    for (const link of document.querySelectorAll(".designer-bar .crumbs a")) {
      link.addEventListener("click", async (e) => {
        if (!store.dirty() || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        await save();
        if (!store.dirty()) window.location.href = link.href;
      });
    }
    store.addEventListener("save-request", save);
    document.getElementById("btn-undo").addEventListener("click", () => store.undo());
    document.getElementById("btn-redo").addEventListener("click", () => store.redo());
    document.getElementById("btn-save").addEventListener("click", save);
  };
  return { render, save, bind };
}

// The toolbar, wired at once.
export function bindToolbar(store, opts) {
  const toolbar = designerToolbar(store, opts);
  toolbar.bind();
  return toolbar;
}

// The item's name in the page's heading, edited in place: the heading holds an input that looks like it
// (#<heading id>-input). ``get()`` gives the name to show; ``set(text)`` stores a non-empty new name (each
// keystroke; the designer coalesces them into one undo step). Enter or Escape leaves the box; left empty,
// it shows the name again. ``render()`` redraws the name unless the box is being typed in.
export function titleEditor(heading, { get, set }) {
  const box = h("input", { id: `${heading.id}-input`, class: "title-edit", "aria-label": t("item_name_edit"),
    title: t("item_name_edit"), autocomplete: "off", spellcheck: "false" });
  box.addEventListener("input", () => { const text = box.value.trim(); if (text) set(text); });
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === "Escape") { e.preventDefault(); box.blur(); } });
  box.addEventListener("blur", () => { box.value = get(); });
  heading.replaceChildren(box);
  const render = () => { if (document.activeElement !== box) box.value = get(); };
  render();
  return { render, box };
}
