// The app page's people settings: the draft's roles (per-form verbs, row scope and field levels,
// the builder flag) and groups
// (members, lead), edited through the DraftStore like every designer (undo/redo, save, publish).
//
// The package says what each role may do; who *holds* it is this server's business (the users page),
// and the draft can give or take it too: the holders typed here are kept with the draft (not in the
// package), shown pending, and applied on publish — so a role is given before the first publish and
// nobody is edited twice. Group members are usernames; publishing resolves them to users.
import { get, enc } from "./api.js";
import { ExprEditor } from "./expr-editor.js";
import { t, h, label, extend, announce, LANG } from "./i18n.js";

extend({
  "ppl_people": ["人员与权限", "People and permissions"],
  "ppl_people_hint": ["角色决定谁能对哪些表单做什么, 在角色下添加拥有它的用户 (发布时生效); 小组可作为任务和分配的对象。",
    "A role says what its holders may do with each form; add the users who hold it under the role (applied when you publish); a group can receive tasks and assignments."],
  "ppl_holders": ["拥有此角色的用户", "Users with this role"], "ppl_no_holders": ["还没有用户拥有此角色", "Nobody holds this role yet"],
  "ppl_add_holder": ["添加用户", "Add user"], "ppl_remove_holder": ["移除用户", "Remove user"],
  "ppl_keep_holder": ["保留", "Keep"],
  "ppl_pending_add": ["待发布", "pending publish"], "ppl_pending_remove": ["发布后移除", "removed on publish"],
  "ppl_already_holder": ["已拥有此角色", "Already holds this role"],
  "ppl_holders_hint": ["添加或移除的用户在发布后生效。", "Users added or removed here take effect when you publish."],
  "ppl_roles": ["角色", "Roles"], "ppl_groups": ["小组", "Groups"],
  "ppl_no_roles": ["还没有角色: 没有角色时, 只有管理员能使用此应用的表单。", "No roles yet: without one, only administrators can use this app's forms."],
  "ppl_no_groups": ["还没有小组", "No groups yet"],
  "ppl_new_role": ["新建角色", "New role"], "ppl_new_group": ["新建小组", "New group"],
  "ppl_role_name": ["角色名称", "Role name"], "ppl_role_key": ["角色标识 (留空则自动生成)", "Role key (blank: generated)"],
  "ppl_group_name": ["小组名称", "Group name"], "ppl_group_key": ["小组标识 (留空则自动生成)", "Group key (blank: generated)"],
  "ppl_advanced": ["高级", "Advanced"], "ppl_key": ["标识", "Key"],
  "ppl_need_name": ["请先填写名称", "Give it a name first"],
  "ppl_remove_role": ["删除角色", "Remove role"], "ppl_remove_group": ["删除小组", "Remove group"],
  "ppl_builder_flag": ["可进入应用设计器 (设计者)", "May open the app builder (designer)"],
  "ppl_permissions": ["表单权限", "Form permissions"], "ppl_form_col": ["表单", "Form"], "ppl_all_verbs": ["全部", "All"],
  "ppl_verb_create": ["新建", "Create"], "ppl_verb_read": ["查看", "Read"], "ppl_verb_update": ["修改", "Update"], "ppl_verb_delete": ["删除", "Delete"],
  "ppl_gone_form": ["表单已不存在", "form no longer in the app"],
  "ppl_no_forms_yet": ["应用还没有表单; 新建表单后可在此授权。", "The app has no forms yet; add one to grant it here."],
  "ppl_members": ["成员", "Members"], "ppl_no_members": ["还没有成员", "No members yet"], "ppl_add_member": ["添加成员", "Add member"],
  "ppl_member_name": ["用户名", "Username"], "ppl_lead": ["组长", "Lead"], "ppl_remove_member": ["移除成员", "Remove member"],
  "ppl_bad_key": ["标识只能含字母、数字、下划线或汉字, 且不能以数字开头, 也不能重复", "A key holds letters, digits, _ or Chinese characters, does not start with a digit and is not taken"],
  "ppl_unknown_user": ["没有这个用户 (发布时将忽略)", "No such user (ignored when publishing)"],
  "ppl_already_member": ["已是成员", "Already a member"],
  "ppl_role_added": ["已添加角色 ", "Added role "], "ppl_group_added": ["已添加小组 ", "Added group "],
  "ppl_access": ["数据范围与字段", "Rows and fields"],
  "ppl_access_hint": ["持有此角色的人能看到、修改哪些记录, 哪些字段对他们隐藏或只读。多个角色叠加时取最宽的。",
    "Which records the holders may read and change, and which fields are hidden or read-only for them. Several roles add up to the widest."],
  "ppl_rows": ["记录范围", "Rows"], "ppl_scope_all": ["全部记录", "All records"],
  "ppl_scope_own": ["自己的记录", "Own records"], "ppl_scope_groups": ["本小组的记录", "My groups' records"],
  "ppl_scope_condition": ["符合条件的记录", "Records matching a condition"],
  "ppl_owner_field": ["谁的记录", "Whose record"], "ppl_creator": ["创建人", "Creator"],
  "ppl_group_field": ["小组字段", "Group field"], "ppl_no_group_field": ["表单没有小组字段", "The form has no group field"],
  "ppl_condition": ["条件 (表达式)", "Condition (expression)"],
  "ppl_fields": ["字段", "Fields"], "ppl_field_open": ["可见可改", "Visible and editable"],
  "ppl_field_read_only": ["只读", "Read-only"], "ppl_field_hidden": ["隐藏", "Hidden"],
});

export const VERBS = ["create", "read", "update", "delete"];
// the expression functions a row condition may call (current_user(), has_role(...)), fetched once
let library = null;
let loading = null;
const KEY_RE = /^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*$/;

function labelMap(value) {
  if (value && typeof value === "object") return { "zh-CN": value["zh-CN"] || "", en: value.en || "" };
  return { "zh-CN": typeof value === "string" ? value : "", en: "" };
}

// {"zh-CN": zh, "en": en} without the empty side; the key when both are empty.
function packLabel(map, key) {
  const out = {};
  if (map["zh-CN"].trim()) out["zh-CN"] = map["zh-CN"].trim();
  if (map.en.trim()) out.en = map.en.trim();
  return Object.keys(out).length ? out : key;
}

export class PeopleSettings {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.users = new Map();   // username -> display name, from the user search
  }

  change(fn, coalesce = null) { this.store.change(fn, "people", { coalesce }); }

  render() {
    const focused = document.activeElement;
    const active = focused?.id;
    const caret = focused?.tagName === "INPUT" && focused.type === "text" ? focused.selectionStart : null;
    const pkg = this.store.package;
    this.root.replaceChildren(
      h("h2", { id: "people-title" }, t("ppl_people")),
      h("p", { class: "muted small" }, t("ppl_people_hint")),
      h("div", { class: "people-cols" },
        h("section", { id: "roles-editor", "aria-labelledby": "roles-title" },
          h("h3", { id: "roles-title" }, `${t("ppl_roles")} (${(pkg.roles || []).length})`),
          (pkg.roles || []).length ? null : h("p", { class: "muted small" }, t("ppl_no_roles")),
          ...(pkg.roles || []).map((role, i) => this.roleCard(role, i)),
          this.newForm("role")),
        h("section", { id: "groups-editor", "aria-labelledby": "groups-title" },
          h("h3", { id: "groups-title" }, `${t("ppl_groups")} (${(pkg.groups || []).length})`),
          (pkg.groups || []).length ? null : h("p", { class: "muted small" }, t("ppl_no_groups")),
          ...(pkg.groups || []).map((group, i) => this.groupCard(group, i)),
          this.newForm("group"))));
    const again = active && document.getElementById(active);
    if (again) {
      again.focus();
      if (caret !== null && again.setSelectionRange) again.setSelectionRange(caret, caret);
    }
  }

  // -- labels ------------------------------------------------------------------------------------
  labelInputs(kind, item, i) {
    const map = labelMap(item.label);
    const box = (lang, name) => {
      const id = `${kind}-${i}-label-${lang === "en" ? "en" : "zh"}`;
      const input = h("input", { id, value: map[lang], oninput: (e) => {
        // reason "people-label": the page does not re-render under the caret (nor mid IME composition)
        this.store.change((pkg) => {
          const target = pkg[`${kind}s`][i];
          const next = labelMap(target.label);
          next[lang] = e.target.value;
          target.label = packLabel(next, target.key);
        }, "people-label", { coalesce: id });
      } });
      return h("span", { class: "people-field" }, h("label", { for: id }, name), input);
    };
    return h("div", { class: "people-labels" }, box("zh-CN", t("label_zh")), box("en", t("label_en")));
  }

  // -- roles -------------------------------------------------------------------------------------
  roleCard(role, i) {
    const forms = this.store.package.forms || [];
    const perms = role.permissions || {};
    const builderId = `role-${i}-builder`;
    const stale = Object.keys(perms).filter((k) => !forms.some((f) => f.key === k));
    const matrix = forms.length || stale.length ? h("table", { class: "perm-matrix", id: `role-${i}-perms` },
      h("caption", { class: "visually-hidden" }, `${t("ppl_permissions")}: ${label(role.label, role.key)}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("ppl_form_col")),
        ...VERBS.map((v) => h("th", { scope: "col" }, t(`ppl_verb_${v}`))),
        h("th", { scope: "col" }, t("ppl_all_verbs")))),
      h("tbody", {}, ...forms.map((form, fi) => {
        const granted = perms[form.key] || [];
        const name = label(form.label, form.key);
        const all = h("input", { type: "checkbox", id: `role-${i}-perm-${fi}-all`, "aria-label": `${name} · ${t("ppl_all_verbs")}`,
          checked: VERBS.every((v) => granted.includes(v)), onchange: (e) => this.setVerbs(i, form.key, e.target.checked ? VERBS : []) });
        return h("tr", { "data-form": form.key }, h("th", { scope: "row", title: `${t("ppl_key")}: ${form.key}` }, name),
          ...VERBS.map((v) => h("td", {}, h("input", { type: "checkbox", id: `role-${i}-perm-${fi}-${v}`, "data-verb": v,
            "aria-label": `${name} · ${t(`ppl_verb_${v}`)}`, checked: granted.includes(v),
            onchange: (e) => this.setVerbs(i, form.key, e.target.checked ? [...granted, v] : granted.filter((x) => x !== v)) }))),
          h("td", {}, all));
      }),
      // grants on a form no longer in the app (publishing refuses them): shown so they can be removed
      ...stale.map((k) => h("tr", { "data-form": k, class: "stale" },
        h("th", { scope: "row" }, h("code", {}, k), " ", h("small", { class: "field-error" }, t("ppl_gone_form"))),
        h("td", { colspan: String(VERBS.length) }, perms[k].join(", ")),
        h("td", {}, h("button", { type: "button", class: "icon", "aria-label": `${t("remove")} ${k}`,
          onclick: () => this.setVerbs(i, k, []) }, "✕")))))) : h("p", { class: "muted small" }, t("ppl_no_forms_yet"));
    return h("fieldset", { class: "people-card", "data-role": role.key },
      h("legend", {}, label(role.label, role.key)),
      this.labelInputs("role", role, i),
      h("p", {}, h("input", { type: "checkbox", id: builderId, checked: !!role.builder,
        onchange: (e) => this.change((pkg) => { pkg.roles[i].builder = e.target.checked; }) }),
      " ", h("label", { for: builderId }, t("ppl_builder_flag"))),
      h("h4", {}, t("ppl_permissions")), matrix,
      this.accessEditor(role, i, forms),
      this.holdersEditor(role, i),
      this.keyDetail("role", role, i),
      h("p", { class: "actions" }, h("button", { type: "button", class: "small danger", id: `role-${i}-remove`,
        onclick: () => this.remove("roles", i) }, `${t("ppl_remove_role")} ${label(role.label, role.key)}`)));
  }

  setVerbs(i, formKey, verbs) {
    this.change((pkg) => {
      const role = pkg.roles[i];
      const permissions = { ...(role.permissions || {}) };
      const ordered = VERBS.filter((v) => verbs.includes(v));
      if (ordered.length) permissions[formKey] = ordered; else delete permissions[formKey];
      role.permissions = permissions;
      if (!ordered.length) {  // a row scope or field rule on a form the role may not use is refused
        for (const part of ["rows", "fields"]) {
          if (role[part]) { delete role[part][formKey]; if (!Object.keys(role[part]).length) delete role[part]; }
        }
      }
    });
  }

  // -- rows and fields (the permission policy's row scope and field levels) -----------------------
  accessEditor(role, i, forms) {
    const granted = forms.filter((f) => (role.permissions || {})[f.key]?.length);
    if (!granted.length) return null;
    return h("div", { class: "perm-access", id: `role-${i}-access` },
      h("h4", {}, t("ppl_access")), h("p", { class: "muted small" }, t("ppl_access_hint")),
      ...granted.map((form) => this.formAccess(role, i, form, forms.indexOf(form))));
  }

  formAccess(role, i, form, fi) {
    const name = label(form.label, form.key);
    const scope = (role.rows || {})[form.key] || { scope: "all" };
    const fields = (form.fields || []).filter((f) => f && f.key);
    const ofWidget = (w) => fields.filter((f) => f.widget === w);
    const base = `role-${i}-access-${fi}`;
    const kinds = ["all", "own", "groups", "condition"];
    const scopeSelect = h("select", { id: `${base}-scope`, "data-form": form.key,
      onchange: (e) => this.setScope(i, form.key, this.scopeFor(e.target.value, form)) },
      ...kinds.map((k) => h("option", { value: k, selected: scope.scope === k }, t(`ppl_scope_${k}`))));
    let detail = null;
    if (scope.scope === "own") {
      detail = h("span", { class: "people-field" }, h("label", { for: `${base}-field` }, t("ppl_owner_field")),
        h("select", { id: `${base}-field`, onchange: (e) => this.setScope(i, form.key,
          e.target.value ? { scope: "own", field: e.target.value } : { scope: "own" }) },
        h("option", { value: "", selected: !scope.field }, t("ppl_creator")),
        ...ofWidget("user").map((f) => h("option", { value: f.key, selected: scope.field === f.key }, label(f.label, f.key)))));
    } else if (scope.scope === "groups") {
      const groupFields = ofWidget("group");
      detail = groupFields.length ? h("span", { class: "people-field" },
        h("label", { for: `${base}-field` }, t("ppl_group_field")),
        h("select", { id: `${base}-field`, onchange: (e) => this.setScope(i, form.key, { scope: "groups", field: e.target.value }) },
          ...groupFields.map((f) => h("option", { value: f.key, selected: scope.field === f.key }, label(f.label, f.key)))))
        : h("small", { class: "field-error" }, t("ppl_no_group_field"));
    } else if (scope.scope === "condition") {
      // typed and read with the form's field names, stored with their keys (the expression editor's check)
      loading ??= get("/registries").then((r) => { library = r.expressions || {}; this.render(); }).catch(() => {});
      const id = `${base}-condition`;
      const store = (v) => this.store.change((pkg) => {
        pkg.roles[i].rows = { ...(pkg.roles[i].rows || {}), [form.key]: { scope: "condition", condition: v } };
      }, "people-label", { coalesce: id });
      detail = h("span", { class: "people-field" }, new ExprEditor({ id, label: t("ppl_condition"),
        value: scope.condition || "", library: library || undefined, onChange: store,
        names: () => fields.map((f) => ({ key: f.key, label: label(f.label, f.key), labels: f.label })) }).el);
    }
    const levels = ((role.fields || {})[form.key]) || {};
    const fieldRows = fields.map((f, k) => {
      const id = `${base}-f-${k}`;
      return h("tr", { "data-field": f.key }, h("th", { scope: "row" }, h("label", { for: id }, label(f.label, f.key))),
        h("td", {}, h("select", { id, onchange: (e) => this.setFieldLevel(i, form.key, f.key, e.target.value) },
          ...[["", "ppl_field_open"], ["read_only", "ppl_field_read_only"], ["hidden", "ppl_field_hidden"]].map(
            ([v, text]) => h("option", { value: v, selected: (levels[f.key] || "") === v }, t(text))))));
    });
    return h("details", { class: "perm-form", "data-form": form.key, open: true },
      h("summary", {}, name),
      h("p", {}, h("label", { for: `${base}-scope` }, t("ppl_rows")), " ", scopeSelect, " ", detail),
      fields.length ? h("table", { class: "perm-fields" },
        h("caption", { class: "visually-hidden" }, `${t("ppl_fields")}: ${name}`),
        h("tbody", {}, ...fieldRows)) : null);
  }

  scopeFor(kind, form) {
    if (kind === "groups") {
      const g = (form.fields || []).find((f) => f && f.widget === "group");
      return { scope: "groups", field: g ? g.key : "" };
    }
    if (kind === "condition") return { scope: "condition", condition: "" };
    return { scope: kind };
  }

  setScope(i, formKey, scope) {
    this.change((pkg) => {
      const role = pkg.roles[i];
      const rows = { ...(role.rows || {}) };
      if (scope.scope === "all") delete rows[formKey]; else rows[formKey] = scope;
      if (Object.keys(rows).length) role.rows = rows; else delete role.rows;
    });
  }

  setFieldLevel(i, formKey, fieldKey, level) {
    this.change((pkg) => {
      const role = pkg.roles[i];
      const fields = { ...(role.fields || {}) };
      const levels = { ...(fields[formKey] || {}) };
      if (level) levels[fieldKey] = level; else delete levels[fieldKey];
      if (Object.keys(levels).length) fields[formKey] = levels; else delete fields[formKey];
      if (Object.keys(fields).length) role.fields = fields; else delete role.fields;
    });
  }

  // -- holders: who is given the role (kept with the draft, applied on publish) --------------------
  holdersEditor(role, i) {
    const current = this.store.currentHolders[role.key] || [];
    const change = (this.store.holders || {})[role.key] || {};
    const adding = change.add || [], removing = change.remove || [];
    const names = [...current, ...adding.filter((n) => !current.includes(n))];
    const inputId = `role-${i}-holder-input`;
    const listId = `role-${i}-holder-users`;
    const note = h("p", { class: "field-error", role: "alert", id: `role-${i}-holder-error`, hidden: true });
    const input = h("input", { id: inputId, list: listId, autocomplete: "off",
      oninput: (e) => this.suggest(e.target.value, listId),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.addHolder(i, input.value, note); } } });
    const chip = (name, j) => {
      const state = adding.includes(name) && !current.includes(name) ? "add" : removing.includes(name) ? "remove" : "";
      return h("li", { class: `chip${state ? ` pending-${state}` : ""}`, "data-holder": name, "data-pending": state },
        this.userText(name),
        state ? h("small", { class: "pending-badge" }, t(`ppl_pending_${state}`)) : null,
        h("button", { type: "button", class: "icon", id: `role-${i}-holder-${j}-toggle`,
          "aria-label": `${t(state === "remove" ? "ppl_keep_holder" : "ppl_remove_holder")} ${name}`,
          title: t(state === "remove" ? "ppl_keep_holder" : "ppl_remove_holder"),
          onclick: () => this.setHolder(role.key, name, state === "remove" || (state === "" ? false : null)) },
        state === "remove" ? "↺" : "×"));
    };
    return h("div", { class: "role-holders", id: `role-${i}-holders` },
      h("h4", { id: `role-${i}-holders-title` }, `${t("ppl_holders")} (${names.length - removing.length})`),
      names.length ? h("ul", { class: "member-list", "aria-labelledby": `role-${i}-holders-title` }, ...names.map(chip))
        : h("p", { class: "muted small" }, t("ppl_no_holders")),
      h("div", { class: "people-add" },
        h("label", { for: inputId }, t("ppl_member_name")), input, h("datalist", { id: listId }),
        h("button", { type: "button", class: "small", id: `role-${i}-add-holder`,
          onclick: () => this.addHolder(i, input.value, note) }, `+ ${t("ppl_add_holder")}`)),
      note,
      adding.length || removing.length ? h("p", { class: "muted small" }, t("ppl_holders_hint")) : null);
  }

  // ``hold``: true gives the role to ``name`` (or keeps it), false takes it away, null drops a pending gift.
  setHolder(roleKey, name, hold) {
    this.change((pkg, holders) => {
      const current = (this.store.currentHolders[roleKey] || []).includes(name);
      const entry = holders[roleKey] || {};
      const without = (list) => (list || []).filter((x) => x !== name);
      entry.add = without(entry.add);
      entry.remove = without(entry.remove);
      if (hold === true && !current) entry.add.push(name);
      if (hold === false && current) entry.remove.push(name);
      for (const part of ["add", "remove"]) if (!entry[part].length) delete entry[part];
      if (Object.keys(entry).length) holders[roleKey] = entry; else delete holders[roleKey];
    });
  }

  async addHolder(i, text, note) {
    const name = text.trim();
    if (!name) return;
    const role = this.store.package.roles[i];
    const change = (this.store.holders || {})[role.key] || {};
    const held = (this.store.currentHolders[role.key] || []).includes(name) && !(change.remove || []).includes(name);
    if (held || (change.add || []).includes(name)) {
      note.hidden = false; note.textContent = `${t("ppl_already_holder")}: ${name}`;
      return;
    }
    if (!(await this.known(name))) { note.hidden = false; note.textContent = `${t("ppl_unknown_user")}: ${name}`; return; }
    this.setHolder(role.key, name, true);
    announce(`${t("ppl_add_holder")}: ${name}`);
    document.getElementById(`role-${i}-holder-input`)?.focus();
  }

  // -- groups ------------------------------------------------------------------------------------
  groupCard(group, i) {
    const members = group.members || [];
    const leadId = `group-${i}-lead`;
    const inputId = `group-${i}-member-input`;
    const listId = `group-${i}-users`;
    const note = h("p", { class: "field-error", role: "alert", id: `group-${i}-member-error`, hidden: true });
    const input = h("input", { id: inputId, list: listId, autocomplete: "off",
      oninput: (e) => this.suggest(e.target.value, listId),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.addMember(i, input.value, note); } } });
    const leadOptions = [...new Set([...members, ...(group.lead ? [group.lead] : [])])];
    return h("fieldset", { class: "people-card", "data-group": group.key },
      h("legend", {}, label(group.label, group.key)),
      this.labelInputs("group", group, i),
      h("h4", { id: `group-${i}-members-title` }, `${t("ppl_members")} (${members.length})`),
      members.length ? h("ul", { class: "member-list", "aria-labelledby": `group-${i}-members-title` },
        ...members.map((m, j) => h("li", { class: "chip", "data-member": m }, this.userText(m),
          h("button", { type: "button", class: "icon", id: `group-${i}-member-${j}-remove`,
            "aria-label": `${t("ppl_remove_member")} ${m}`, title: t("ppl_remove_member"),
            onclick: () => this.change((pkg) => {
              const g = pkg.groups[i];
              g.members = (g.members || []).filter((x) => x !== m);
              if (g.lead === m) g.lead = null;
            }) }, "×"))))
        : h("p", { class: "muted small" }, t("ppl_no_members")),
      h("div", { class: "people-add" },
        h("label", { for: inputId }, t("ppl_member_name")), input, h("datalist", { id: listId }),
        h("button", { type: "button", class: "small", id: `group-${i}-add-member`,
          onclick: () => this.addMember(i, input.value, note) }, `+ ${t("ppl_add_member")}`)),
      note,
      h("p", { class: "people-field" }, h("label", { for: leadId }, t("ppl_lead")),
        h("select", { id: leadId, onchange: (e) => this.change((pkg) => { pkg.groups[i].lead = e.target.value || null; }) },
          h("option", { value: "" }, t("none")),
          ...leadOptions.map((m) => h("option", { value: m, selected: group.lead === m }, this.userText(m))))),
      this.keyDetail("group", group, i),
      h("p", { class: "actions" }, h("button", { type: "button", class: "small danger", id: `group-${i}-remove`,
        onclick: () => this.remove("groups", i) }, `${t("ppl_remove_group")} ${label(group.label, group.key)}`)));
  }

  userText(username) {
    const shown = this.users.get(username);
    return shown && shown !== username ? `${shown} (${username})` : username;
  }

  async suggest(text, listId) {
    const q = text.trim();
    this.lastQuery = q;
    let users = [];
    try { users = (await get(`/users?q=${enc(q)}`)).users; } catch { return; }
    if (this.lastQuery !== q) return;                    // a later keystroke asked again
    for (const u of users) this.users.set(u.username, u.display_name);
    document.getElementById(listId)?.replaceChildren(...users.map((u) =>
      h("option", { value: u.username }, u.display_name || u.username)));
  }

  async addMember(i, text, note) {
    const name = text.trim();
    if (!name) return;
    if ((this.store.package.groups[i].members || []).includes(name)) {
      note.hidden = false; note.textContent = `${t("ppl_already_member")}: ${name}`;
      return;
    }
    if (!(await this.known(name))) { note.hidden = false; note.textContent = `${t("ppl_unknown_user")}: ${name}`; return; }
    this.change((pkg) => { const g = pkg.groups[i]; g.members = [...(g.members || []), name]; });
    announce(`${t("ppl_add_member")}: ${name}`);
    document.getElementById(`group-${i}-member-input`)?.focus();
  }

  // Whether ``name`` is a username the server knows (the user search).
  async known(name) {
    if (this.users.has(name)) return true;
    try {
      const users = (await get(`/users?q=${enc(name)}`)).users;
      for (const u of users) this.users.set(u.username, u.display_name);
      return users.some((u) => u.username === name);
    } catch { return false; }
  }

  // -- add and remove ----------------------------------------------------------------------------
  remove(kind, i) {
    const item = this.store.package[kind][i];
    this.change((pkg, holders) => {
      pkg[kind].splice(i, 1);
      if (!pkg[kind].length) delete pkg[kind];
      if (kind === "roles") delete holders[item.key];     // a removed role is given to nobody
    });
    announce(t("deleted") + label(item.label, item.key));
    document.getElementById(`new-${kind === "roles" ? "role" : "group"}-label`)?.focus();
  }

  // The key of an item is an advanced detail: shown closed, under the item.
  keyDetail(kind, item, i) {
    return h("details", { class: "advanced", id: `${kind}-${i}-advanced` }, h("summary", {}, t("ppl_advanced")),
      h("small", {}, `${t("ppl_key")}: `, h("code", {}, item.key)));
  }

  // A key no app holds (the server's generated one: role_1, group_2, ...), and not in this unsaved draft.
  async freeKey(kind) {
    const taken = (this.store.package[`${kind}s`] || []).map((it) => it.key);
    let key = `${kind}_1`;
    try { key = (await get(`/apps/${enc(this.store.appKey)}/names/${kind}s`)).key; } catch { /* offline: publish checks */ }
    const m = /^(.*_)(\d+)$/.exec(key);
    const stem = m ? m[1] : `${key}_`;
    let n = m ? Number(m[2]) : 1;
    while (taken.includes(key)) key = `${stem}${++n}`;
    return key;
  }

  // "+ 新建角色": the name is all a user types; the key is generated, or typed under "高级".
  newForm(kind) {
    const labelBox = h("input", { id: `new-${kind}-label`, required: true });
    const keyBox = h("input", { id: `new-${kind}-key` });
    const error = h("p", { class: "field-error", role: "alert", id: `new-${kind}-error`, hidden: true });
    return h("form", { class: "inline-form", id: `new-${kind}`, onsubmit: async (e) => {
      e.preventDefault();
      const text = labelBox.value.trim();
      const typed = keyBox.value.trim();
      const list = this.store.package[`${kind}s`] || [];
      if (!text && !typed) { error.hidden = false; error.textContent = t("ppl_need_name"); labelBox.focus(); return; }
      if (typed && (!KEY_RE.test(typed) || list.some((it) => it.key === typed))) {
        error.hidden = false;
        error.textContent = `${t("ppl_bad_key")}: ${typed}`;
        keyBox.focus();
        return;
      }
      const key = typed || await this.freeKey(kind);
      const name = text ? { [LANG]: text } : key;
      const item = kind === "role" ? { key, version: 1, label: name, permissions: {}, builder: false }
        : { key, version: 1, label: name, members: [], lead: null };
      this.change((pkg) => { pkg[`${kind}s`] = [...(pkg[`${kind}s`] || []), item]; });
      announce(t(`ppl_${kind}_added`) + (text || key));
      const index = this.store.package[`${kind}s`].length - 1;
      document.getElementById(`${kind}-${index}-label-${LANG === "en" ? "en" : "zh"}`)?.focus();
    } },
    h("label", { for: labelBox.id }, t(`ppl_${kind}_name`)), labelBox,
    h("button", { type: "submit" }, `+ ${t(`ppl_new_${kind}`)}`),
    h("details", { class: "advanced", id: `new-${kind}-advanced` }, h("summary", {}, t("ppl_advanced")),
      h("label", { for: keyBox.id }, t(`ppl_${kind}_key`)), " ", keyBox),
    error);
  }
}
