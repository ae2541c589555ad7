// The dry-run panel: the designer's current (unsaved, unpublished) rule run against the published
// form's records by POST /builder/api/apps/<app>/rules/dry-run — which records it would match and
// what it would do (who would be reached or assigned). Read-only on the server.
import { post, enc, ApiError } from "./api.js";
import { errorList } from "./publish.js";
import { t, h } from "./i18n.js";

function effectText(e) {
  const kind = t(`rule_e_${e.kind}`);
  const parts = [kind === `rule_e_${e.kind}` ? e.kind : kind];
  if (e.op) parts.push(e.op);
  if (e.subject || e.title) parts.push(`「${e.subject || e.title}」`);
  if (e.values && typeof e.values === "object") {
    parts.push(Object.entries(e.values).map(([k, v]) => `${k} = ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", "));
  }
  if (e.flow) parts.push(e.flow);
  if (e.form && ["create_record", "update_records"].includes(e.kind)) parts.push(`→ ${e.form}`);
  if (Array.isArray(e.would_reach)) parts.push(`${t("rule_would_reach")} ${e.would_reach.length ? e.would_reach.join(", ") : t("rule_nobody")}`);
  if (e.would_assign) parts.push(`${t("rule_would_assign")} ${e.would_assign}`);
  if (e.problem) parts.push(`⚠ ${e.problem.message || e.problem.code}`);
  return parts.join(" · ");
}

function recordTitle(record, form) {
  const key = form?.title_field || (form?.fields || []).find((f) => typeof record[f.key] === "string" && record[f.key])?.key;
  const value = key ? record[key] : "";
  return `#${record.id}${value ? ` ${value}` : ""}`;
}

export async function dryRun(box, { appKey, rule, form }) {
  box.replaceChildren(h("p", { class: "muted" }, t("rule_running")));
  box.setAttribute("aria-busy", "true");
  try {
    const res = await post(`/apps/${enc(appKey)}/rules/dry-run`, { rule, limit: 50 });
    const timed = ["time_after", "schedule"].includes(rule.trigger?.type);
    box.replaceChildren(...[
      h("p", { class: "rule-dry-summary", id: "rule-dry-summary" }, t("rule_dry_scanned", { scanned: res.scanned, total: res.total, matched: res.matched })),
      timed ? h("p", { class: "muted small" }, t("rule_dry_time_note")) : null,
      res.records.length ? h("table", { class: "rule-dry-table", id: "rule-dry-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rule_record")), h("th", { scope: "col" }, t("rule_would_do")))),
        h("tbody", {}, ...res.records.map((r) => h("tr", { "data-id": r.id },
          h("td", {}, recordTitle(r.record, form)),
          h("td", {}, h("ul", {}, ...r.effects.map((e) => h("li", { "data-kind": e.kind }, effectText(e))))))))) :
        h("p", { class: "muted" }, t("rule_dry_none")),
      res.errors.length ? h("div", {}, h("h3", {}, t("rule_dry_errors")),
        h("ul", { class: "error-list" }, ...res.errors.map((e) => h("li", { "data-code": e.code }, `#${e.id}: ${e.message}`)))) : null,
    ].filter(Boolean));
  } catch (err) {
    const known = { "builder.form_not_published": "rule_dry_unpublished", "builder.unknown_form": "rule_dry_unknown_form" };
    box.replaceChildren(err instanceof ApiError && err.errors.length
      ? errorList(err.errors)
      : h("p", { role: "alert", class: "field-error", "data-code": err.code || "" }, known[err.code] ? t(known[err.code]) : err.message));
  } finally {
    box.removeAttribute("aria-busy");
  }
}
