// One app: its forms, flows, rules, reports and dashboards (each opens its designer),
// a new form, the people settings (roles and groups), publish with the diff, the version history
// with diffs and rollback.
import { get, post, del, enc, ApiError } from "./api.js";
import { DraftStore } from "./draft.js";
import { publishFlow, diffList, dialog, keyDetail } from "./publish.js";
import { t, h, label, relabel, announce, LANG } from "./i18n.js";
import { PeopleSettings } from "./people-settings.js";

const page = document.getElementById("app-page");
const appKey = page.dataset.app;
const BASE = page.dataset.base;
const designers = JSON.parse(page.dataset.designers);
const store = new DraftStore(appKey);
const KINDS = ["forms", "flows", "rules", "reports", "dashboards"];
const people = new PeopleSettings(document.getElementById("app-people"), store);

function renderItems() {
  const pkg = store.package;
  document.getElementById("app-title").textContent = label(pkg.app.label, appKey);
  document.getElementById("kinds").replaceChildren(...KINDS.map((kind) => {
    const items = pkg[kind] || [];
    const open = designers.includes(kind);
    return h("section", { class: "kind" }, h("h3", {}, `${t(kind)} (${items.length})`,
      open ? null : h("small", { class: "muted" }, ` · ${t("designer_later")}`)),
    h("ul", { class: "kind-items" }, ...items.map((it) => h("li", { "data-key": it.key },
      // the key is an advanced detail: in the tooltip, not on the page
      open ? h("a", { href: `${BASE}apps/${enc(appKey)}/${kind}/${enc(it.key)}`, title: `${t("item_key")}: ${it.key}` }, label(it.label, it.key))
        : h("span", { title: `${t("item_key")}: ${it.key}` }, label(it.label, it.key)), " ",
      h("button", { type: "button", class: "small link-like", "data-rename": it.key, onclick: () => renameItem(kind, it) }, t("rename")),
      h("button", { type: "button", class: "small link-like danger", "data-delete": it.key, onclick: () => deleteItem(kind, it) }, t("delete"))))),
    open ? newItemButton(kind) : null);
  }));
  renderExport();
  renderState();
}

function renderState() {
  const dirty = store.dirty();
  const state = document.getElementById("save-state");
  state.textContent = dirty ? t("unsaved") : (store.info.saved ? t("has_draft") : "");
  state.classList.toggle("dirty", dirty);
  document.getElementById("btn-undo").disabled = !store.canUndo();
  document.getElementById("btn-redo").disabled = !store.canRedo();
  document.getElementById("btn-save").disabled = !dirty;
}

// Export: the published package; an app never published exports its draft (there is nothing else),
// and an unpublished draft of a published app can be exported too.
function renderExport() {
  const link = document.getElementById("export-app");
  const draftLink = document.getElementById("export-draft");
  const url = `${BASE}api/apps/${enc(appKey)}/export`;
  if (!store.info.installed_version) {
    link.href = `${url}?draft=1`;
    link.textContent = t("export_draft");
    draftLink.hidden = true;
  } else {
    link.href = url;
    link.textContent = t("export");
    draftLink.href = `${url}?draft=1`;
    draftLink.hidden = !store.info.saved;
  }
}

async function save() {
  const state = document.getElementById("save-state");
  state.textContent = t("saving");
  try {
    await store.save();
    announce(t("saved"));
    return true;
  } catch (err) {
    state.textContent = err instanceof ApiError && err.status === 409 ? t("conflict") : err.message;
    return false;
  }
}

// "+ 新建表单" (flow, rule, report, dashboard): one click creates the item and opens its designer. The
// server hands out a key no app holds; the name is the kind's word and the next free number ("表单1",
// "Form 2"), edited in place in the designer. The designer writes the starting definition itself
// (``?new=1``: each designer knows its own kind). Unsaved changes here are saved first.
function newItemButton(kind) {
  const error = h("p", { class: "field-error", id: `new-${kind}-error`, role: "alert", hidden: true });
  const button = h("button", { type: "button", class: "new-item", id: `new-${kind}`, "data-new": kind, onclick: async () => {
    button.disabled = true;
    try {
      if (store.dirty()) await store.save();
      const { key } = await get(`/apps/${enc(appKey)}/names/${kind}`);
      const params = new URLSearchParams({ new: "1", label: nextLabel(kind) });
      window.location.href = `${BASE}apps/${enc(appKey)}/${kind}/${enc(key)}?${params}`;
    } catch (err) {
      error.hidden = false;
      error.textContent = err.message;
      button.disabled = false;
    }
  } }, `+ ${t(`new_${kind}`)}`);
  return h("div", { class: "new-item-row" }, button, error);
}

// The kind's word and the first number no item of that kind is named with, in any language.
function nextLabel(kind) {
  const names = new Set();
  for (const it of store.package[kind] || []) {
    const l = it.label;
    for (const text of l && typeof l === "object" ? Object.values(l) : [l]) if (typeof text === "string") names.add(text.trim());
  }
  const word = t(`noun_${kind}`);
  const sep = LANG === "en" ? " " : "";
  let n = 1;
  while (names.has(`${word}${sep}${n}`)) n += 1;
  return `${word}${sep}${n}`;
}

// Rename: a new name (label) in the UI language; the key stays, so nothing that refers to it changes.
async function renameItem(kind, item) {
  const box = h("input", { id: "rename-box", value: label(item.label, item.key) });
  const ok = await new Promise((resolve) => {
    const dlg = dialog(`${t("rename")}: ${label(item.label, item.key)}`, h("label", {}, t("item_label"), " ", box), [
      h("button", { type: "button", onclick: () => { dlg.close(); resolve(false); } }, t("cancel")),
      h("button", { type: "button", class: "primary", id: "confirm-rename", onclick: () => { dlg.close(); resolve(true); } }, t("rename"))]);
    box.focus();
  });
  const text = box.value.trim();
  if (!ok || !text) return;
  store.change((pkg) => {
    const it = (pkg[kind] || []).find((x) => x.key === item.key);
    if (it) it.label = relabel(it.label, text);
  }, "rename");
  await save();
}

// Delete: what refers to it is shown first; after deleting, the draft's check flags each of those.
async function deleteItem(kind, item) {
  let refs = [];
  try { refs = (await post(`/apps/${enc(appKey)}/references`, { kind, key: item.key, package: store.package })).references; } catch { refs = []; }
  const body = h("div", {}, refs.length
    ? [h("p", {}, t("delete_refs")), h("ul", { id: "delete-refs" }, ...refs.map((r) => h("li", { "data-pointer": r.pointer }, r.where))),
      h("p", { class: "muted" }, t("delete_refs_after"))]
    : h("p", {}, t("delete_no_refs")));
  const ok = await new Promise((resolve) => {
    const dlg = dialog(`${t("delete")}: ${label(item.label, item.key)}`, body, [
      h("button", { type: "button", onclick: () => { dlg.close(); resolve(false); } }, t("cancel")),
      h("button", { type: "button", class: "primary danger", id: "confirm-delete", onclick: () => { dlg.close(); resolve(true); } }, t("delete"))]);
  });
  if (!ok) return;
  store.change((pkg) => { pkg[kind] = (pkg[kind] || []).filter((x) => x.key !== item.key); }, "delete");
  if (await save()) announce(t("deleted") + label(item.label, item.key));
}

async function renderVersions() {
  let versions = [];
  try { versions = (await get(`/apps/${enc(appKey)}/versions`)).versions; } catch { versions = []; }
  const list = document.getElementById("version-list");
  list.replaceChildren(...versions.map((v, i) => h("li", { class: v.current ? "current" : "" },
    h("div", {}, h("strong", {}, v.version), v.current ? h("span", { class: "chip" }, t("current")) : null,
      h("small", { class: "muted" }, ` ${v.installed_at.slice(0, 16).replace("T", " ")} ${v.installed_by || ""}`)),
    h("ul", { class: "diff-lines small" }, ...v.lines.slice(0, 6).map((l) => h("li", {}, l))),
    h("div", { class: "actions" },
      versions[i + 1] ? h("button", { type: "button", class: "small", onclick: () => compare(versions[i + 1], v) },
        `${t("compare")} ${versions[i + 1].version} → ${v.version}`) : null,
      !v.current ? h("button", { type: "button", class: "small", "data-rollback": v.version, onclick: () => rollback(v) },
        t("rollback")) : null))));
}

async function compare(from, to) {
  const d = await get(`/apps/${enc(appKey)}/versions/diff?from=${from.id}&to=${to.id}`);
  document.getElementById("version-diff").replaceChildren(h("h3", {}, `${from.version} → ${to.version}`), diffList(d.lines), keyDetail(d.key_lines) || "");
}

async function rollback(v) {
  const ok = await new Promise((resolve) => {
    const dlg = dialog(`${t("rollback")}: ${v.version}`, h("p", {}, t("rollback_confirm")), [
      h("button", { type: "button", onclick: () => { dlg.close(); resolve(false); } }, t("cancel")),
      h("button", { type: "button", class: "primary", id: "confirm-rollback", onclick: () => { dlg.close(); resolve(true); } }, t("rollback"))]);
  });
  if (!ok) return;
  const result = await post(`/apps/${enc(appKey)}/versions/${v.id}/rollback`);
  announce(t("rolled_back") + result.to_version);
  await store.load();
  renderAll();
  renderVersions();
}

document.getElementById("btn-publish").addEventListener("click", async () => {
  const result = await publishFlow(store);
  if (result) { renderAll(); renderVersions(); }
});
document.getElementById("btn-undo").addEventListener("click", () => store.undo());
document.getElementById("btn-redo").addEventListener("click", () => store.redo());
document.getElementById("btn-save").addEventListener("click", save);
store.addEventListener("save-request", save);
store.addEventListener("change", (e) => {
  if (e.detail.reason === "people-label") renderState();
  else renderAll();
});

function renderAll() {
  renderItems();
  people.render();
}
document.getElementById("discard-draft").addEventListener("click", async () => {
  if (!window.confirm(t("discard_confirm"))) return;
  await del(`/apps/${enc(appKey)}/draft`);
  try { await store.load(); } catch { window.location.href = BASE; return; }
  renderAll();
});

store.bindPage();
store.load().then(() => { renderAll(); renderVersions(); });
