// Publishing, shared by every designer: save the draft, show the diff, confirm, publish.
import { get, post, enc, ApiError } from "./api.js";
import { t, h, label, announce, extend } from "./i18n.js";

extend({
  "pub_give_role": ["授予角色 {role}: {users}", "Give the role {role} to {users}"],
  "pub_take_role": ["收回角色 {role}: {users}", "Take the role {role} from {users}"],
  "pub_keys": ["按标识列出的变更", "The changes by key"],
});

// The keys behind the names, for who needs them: a closed "advanced" detail under the diff.
export function keyDetail(keyLines) {
  if (!keyLines || !keyLines.length) return null;
  return h("details", { class: "advanced" }, h("summary", {}, t("advanced")),
    h("p", { class: "muted small" }, t("pub_keys")), h("ul", { class: "diff-lines small" }, ...keyLines.map((l) => h("li", {}, h("code", {}, l)))));
}

// The roles the draft gives or takes, as lines of the diff (they apply when the draft is published).
export function holderLines(store) {
  const roles = new Map((store.package.roles || []).map((r) => [r.key, label(r.label, r.key)]));
  const lines = [];
  for (const [key, change] of Object.entries(store.pendingHolders())) {
    if (change.add?.length) lines.push(t("pub_give_role", { role: roles.get(key), users: change.add.join(", ") }));
    if (change.remove?.length) lines.push(t("pub_take_role", { role: roles.get(key), users: change.remove.join(", ") }));
  }
  return lines;
}

export function dialog(title, body, actions) {
  const dlg = h("dialog", { class: "builder-dialog", "aria-labelledby": "dlg-title" },
    h("h2", { id: "dlg-title" }, title), body, h("div", { class: "dialog-actions" }, ...actions));
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
  return dlg;
}

export function diffList(lines) {
  return h("ul", { class: "diff-lines" }, ...(lines.length ? lines : [t("no_changes")]).map((l) => h("li", {}, l)));
}

// Each problem as one sentence in the UI language that names its object (builder/messages.py words
// it on the server); a click goes to the object. Codes and pointers stay in data attributes.
export function errorList(errors, onPick) {
  return h("ul", { class: "error-list", role: "alert" }, ...errors.map((e) => h("li", { "data-code": e.code || "", "data-pointer": e.pointer || "" },
    onPick && e.pointer ? h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); onPick(e); } }, e.message || e.code) : (e.message || e.code || ""),
    e.position ? ` (${t("position", { n: e.position })})` : "")));
}

// Returns the publish result, or null when the user cancels; errors are shown in a dialog.
export async function publishFlow(store, { onErrors } = {}) {
  try {
    await store.save();
    const diff = await get(`/apps/${enc(store.appKey)}/draft/diff`);
    const ok = await new Promise((resolve) => {
      const dlg = dialog(`${t("diff_title")}: ${diff.from_version || "—"} → ${diff.to_version}`, h("div", {}, diffList([...diff.lines, ...holderLines(store)]), keyDetail(diff.key_lines)), [
        h("button", { type: "button", onclick: () => { dlg.close(); resolve(false); } }, t("cancel")),
        h("button", { type: "button", class: "primary", id: "confirm-publish",
          onclick: () => { dlg.close(); resolve(true); } }, t("publish_confirm")),
      ]);
    });
    if (!ok) return null;
    const result = await post(`/apps/${enc(store.appKey)}/publish`, { revision: store.revision });
    await store.load();
    announce(t("publish_ok") + result.to_version);
    return result;
  } catch (err) {
    if (err instanceof ApiError && err.errors.length) {
      if (onErrors) onErrors(err.errors);
      const dlg = dialog(t("fix_errors"), errorList(err.errors), [
        h("button", { type: "button", onclick: () => dlg.close() }, t("close"))]);
    } else {
      const dlg = dialog(t("errors"), h("p", { role: "alert" }, err.message), [
        h("button", { type: "button", onclick: () => dlg.close() }, t("close"))]);
    }
    return null;
  }
}
