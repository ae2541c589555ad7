// Running instances after a flow is republished: how many wait at each node of an older version,
// where each node goes on the new version (same id → same node; a removed node must be chosen),
// a check (dry run) and the move — all through /api/v1/flows/<key>/migration, which refuses an
// unsafe mapping with its reasons. Offered after publishing and from the designer's toolbar.
import { enc } from "./api.js";
import { t, h, label, announce } from "./i18n.js";
import { dialog } from "./publish.js";
import "./flow-strings.js";

const CSRF = document.querySelector("meta[name=csrf-token]")?.content || "";

async function api(method, path, body) {
  const resp = await fetch(`/api/v1${path}`, {
    method, credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": CSRF, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined });
  const data = await resp.json();
  return { ok: resp.ok, data };
}

function waitingByNode(plan) {
  const out = {};
  for (const nodes of Object.values(plan.waiting || {})) {
    for (const [node, n] of Object.entries(nodes)) out[node] = (out[node] || 0) + n;
  }
  return out;
}

// newNodes: the published version's nodes ({id, type, label}); quiet: say nothing when none wait
export async function offerMigration(flowKey, newNodes, { quiet = false } = {}) {
  const first = await api("GET", `/flows/${enc(flowKey)}/migration`);
  if (!first.ok) return;
  const counts = waitingByNode(first.data);
  if (!Object.keys(counts).length) {
    if (!quiet) announce(t("fd_mig_none"));
    return;
  }
  const targets = newNodes.filter((n) => n.type !== "start");
  const selects = {};
  const rows = Object.entries(counts).sort().map(([node, n]) => {
    const select = h("select", { "data-from": node, "aria-label": `${t("fd_mig_to")}: ${node}` },
      h("option", { value: "" }, t("fd_mig_choose")),
      ...targets.map((x) => h("option", { value: x.id }, `${label(x.label, x.id)}`)));
    select.value = first.data.proposed?.[node] || "";
    selects[node] = select;
    const old = newNodes.find((x) => x.id === node);
    return h("tr", {}, h("th", { scope: "row" }, old ? label(old.label, node) : node), h("td", {}, String(n)), h("td", {}, select));
  });
  const sla = h("select", { id: "mig-sla" }, h("option", { value: "keep" }, t("fd_mig_sla_keep")),
    h("option", { value: "recompute" }, t("fd_mig_sla_recompute")));
  const result = h("div", { id: "mig-result", "aria-live": "polite" });
  const body = h("div", { class: "migration" },
    h("p", {}, t("fd_mig_intro")),
    h("table", { class: "migration-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("fd_mig_node")), h("th", { scope: "col" }, t("fd_mig_count")),
        h("th", { scope: "col" }, t("fd_mig_to")))),
      h("tbody", {}, ...rows)),
    h("label", {}, t("fd_mig_sla"), " ", sla), result);
  const mapping = () => Object.fromEntries(Object.entries(selects).filter(([, s]) => s.value).map(([k, s]) => [k, s.value]));
  const show = (data) => {
    const problems = data.error ? (data.error.errors || [data.error]) : (data.problems || []);
    result.replaceChildren(problems.length
      ? h("ul", { class: "error-list", role: "alert" }, ...problems.map((p) => h("li", { "data-code": p.code || "" }, p.message || p.code)))
      : h("p", { class: "ok" }, t("fd_mig_ready", { n: (data.instances || []).length })));
    return !problems.length;
  };
  const dlg = dialog(t("fd_mig_title"), body, [
    h("button", { type: "button", onclick: () => dlg.close() }, t("fd_mig_later")),
    h("button", { type: "button", id: "mig-check", onclick: async () => {
      show((await api("POST", `/flows/${enc(flowKey)}/migration`, { mapping: mapping(), sla: sla.value, dry_run: true })).data);
    } }, t("fd_mig_check")),
    h("button", { type: "button", class: "primary", id: "mig-apply", onclick: async () => {
      const answer = await api("POST", `/flows/${enc(flowKey)}/migration`, { mapping: mapping(), sla: sla.value });
      if (show(answer.data) && answer.ok) {
        dlg.close();
        announce(t("fd_mig_done", { n: (answer.data.instances || []).length }));
      }
    } }, t("fd_mig_apply")),
  ]);
}
