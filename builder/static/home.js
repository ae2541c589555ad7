// The builder's home: apps with what they contain, create an app, import a package
// (the upgrade diff is shown first; applying confirms exactly that file).
import { get, post, call, enc, ApiError } from "./api.js";
import { t, h, label, announce } from "./i18n.js";
import { diffList, errorList } from "./publish.js";

const BASE = document.querySelector("meta[name=builder-api]").content.replace(/api$/, "");
const list = document.getElementById("app-list");
const KINDS = ["forms", "flows", "rules", "reports", "dashboards"];

async function loadApps() {
  const { apps } = await get("/apps");
  list.replaceChildren(...apps.map((a) => h("li", { class: "app-card card" },
    h("h3", {}, h("a", { href: `${BASE}apps/${enc(a.key)}` }, label(a.label, a.key))),
    h("p", { class: "muted" }, h("code", {}, a.key), " · ",
      a.installed ? `${t("installed")} ${a.version}` : t("draft_only"),
      a.has_draft && a.installed ? ` · ${t("has_draft")}` : ""),
    h("p", { class: "counts" }, ...KINDS.map((k) => h("span", { class: "chip" }, `${t(k)} ${a.counts[k]}`))))));
  if (!apps.length) list.append(h("li", { class: "empty" }, t("no_changes")));
  list.removeAttribute("aria-busy");
}

// A new app needs only its name: its key is made from the name (a taken one gets _2, _3 ...), or typed
// under 高级 (advanced).
const keyFrom = (text) => text.trim().replace(/[^A-Za-z0-9_\u4e00-\u9fff]/g, "_").replace(/^(\d)/, "_$1").slice(0, 56);

document.getElementById("new-app").addEventListener("submit", async (e) => {
  e.preventDefault();
  const typed = document.getElementById("new-app-key").value.trim();
  const text = document.getElementById("new-app-label").value.trim();
  const error = document.getElementById("new-app-error");
  const base = typed || keyFrom(text) || "app";
  for (let n = 1; n <= 20; n++) {
    const key = n === 1 ? base : `${base}_${n}`;
    try {
      await post("/apps", { key, label: text || key });
      window.location.href = `${BASE}apps/${enc(key)}`;
      return;
    } catch (err) {
      if (!typed && err.code === "builder.app_exists") continue;   // a made-up key: try the next
      error.hidden = false;
      error.textContent = err.message;
      return;
    }
  }
});

document.getElementById("import-app").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = document.getElementById("import-file").files[0];
  const out = document.getElementById("import-result");
  if (!file) return;
  const form = () => { const fd = new FormData(); fd.append("package", file); return fd; };
  try {
    const dry = await call("POST", "/import?dry_run=1", undefined, { form: form() });
    if (!dry.ok) throw new ApiError(422, { error: dry.error });
    const p = dry.plan;
    const apply = h("button", { type: "button", class: "primary", id: "apply-import", onclick: async () => {
      apply.disabled = true;
      try {
        const done = await call("POST", `/import?confirm=${dry.confirm}${p.action === "downgrade" ? "&allow_downgrade=1" : ""}`, undefined, { form: form() });
        out.replaceChildren(h("p", { class: "flash" }, `${done.plan.app} ${done.plan.to_version} ✓`));
        announce(`${done.plan.app} ${done.plan.to_version}`);
        loadApps();
      } catch (err) { out.append(h("p", { class: "field-error", role: "alert" }, err.message)); }
    } }, t("apply"));
    out.replaceChildren(h("h3", {}, `${p.app}: ${p.from_version || "—"} → ${p.to_version} (${t(`action_${p.action}`)})`),
      diffList(dry.lines), h("div", { class: "actions" }, apply,
        h("button", { type: "button", onclick: () => out.replaceChildren() }, t("cancel"))));
  } catch (err) {
    const errors = err.errors?.length ? err.errors : (err.body?.error?.errors || []);
    out.replaceChildren(h("p", { class: "field-error", role: "alert" }, err.message), errors.length ? errorList(errors) : "");
  }
});

loadApps();
