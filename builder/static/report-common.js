// What the report and dashboard designers share: their strings (registered once with i18n.extend),
// the fields a report can use (from the draft's form definitions and the widget registry), the "?new=1"
// start, following the draft's changes, focus-keeping re-renders and the figure drawing of the runtime dashboard
// (runtime/static/js/plot.js, imported, not copied). The toolbar is designer-shell.js, as in every designer.
import { t, h, label, announce, extend, LANG } from "./i18n.js";

const S = {
  rd_title: ["报表设计器", "Report designer"], dd_title: ["仪表盘设计器", "Dashboard designer"],
  rd_form: ["数据来源 (表单)", "Data source (form)"], rd_fields: ["字段", "Fields"],
  rd_form_fields: ["表单字段", "Form fields"], rd_system_fields: ["系统字段", "System fields"],
  rd_process_fields: ["流程数据", "Process data"],
  rd_add_to: ["按 Enter 添加到", "Enter adds to"], rd_dimensions: ["维度", "Dimensions"], rd_measures: ["指标", "Measures"],
  rd_filters: ["筛选条件", "Filters"], rd_chart_type: ["图表类型", "Chart type"],
  rd_drop_dimension: ["把字段拖到这里作为维度", "Drop a field here to group by it"],
  rd_drop_measure: ["把字段拖到这里计算指标", "Drop a field here to aggregate it"],
  rd_drop_filter: ["把字段拖到这里添加筛选条件", "Drop a field here to filter by it"],
  rd_records: ["记录数", "Records"], rd_add_count: ["记录数", "Record count"], rd_aggregate: ["汇总方式", "Aggregate"],
  rd_bucket: ["日期粒度", "Date bucket"], rd_no_bucket: ["(按原值)", "(exact value)"],
  bucket_hour: ["按小时", "By hour"], bucket_day: ["按天", "By day"], bucket_week: ["按周", "By week"],
  bucket_month: ["按月", "By month"], bucket_quarter: ["按季度", "By quarter"], bucket_year: ["按年", "By year"],
  bucket_hour_of_day: ["按一天中的小时", "By hour of day"], bucket_weekday: ["按星期几", "By weekday"],
  rd_operator: ["条件", "Operator"], rd_value: ["值", "Value"], rd_from: ["从", "From"], rd_to: ["到", "To"],
  rd_days: ["天数", "Days"], rd_condition: ["仅统计满足条件的记录", "Only records where"],
  rd_add_condition: ["添加条件", "Add a condition"], rd_measure_label: ["指标名称", "Measure name"],
  rd_share_of: ["占比的基数", "Share of"], rd_chart: ["实时图表", "Live chart"], rd_loading: ["正在计算…", "Computing…"],
  rd_empty: ["没有数据", "No data"], rd_indexes: ["使用的索引", "Indexes used"],
  rd_full_scans: ["整表读取", "Forms read whole"], rd_rows_estimate: ["估计读取行数", "Estimated rows read"],
  rd_none: ["无", "none"], rd_problems: ["报表定义的问题", "Problems in the report definition"],
  rd_filter_expr: ["条件表达式 (可选)", "Condition expression (optional)"], rd_formula: ["公式指标", "Formula"],
  rd_add_formula: ["公式指标", "Formula measure"], rd_format: ["显示格式", "Format"],
  fmt_number: ["数字", "Number"], fmt_integer: ["整数", "Integer"], fmt_percent: ["百分比", "Percent"], fmt_duration: ["时长", "Duration"],
  rd_joins: ["关联表单", "Linked forms"], rd_joined: ["关联", "Linked"],
  rd_joins_help: ["展开关联字段后, 可按关联表单的字段统计", "Open a link to group and count by the linked form's fields"],
  rd_top: ["只显示前 N 组 (按第一个指标)", "Only the top N groups (by the first measure)"],
  rd_top_others: ["其余合并为「其他」", "Fold the rest into \u201cOthers\u201d"],
  rd_cache: ["数据缓存", "Data cache"], rd_cache_seconds: ["缓存时长 (秒)", "Cache for (seconds)"],
  rd_cache_help: ["打开仪表盘时, 这段时间内复用已算出的数据 (表单有新写入时立即重算); 0 表示每次都重新查询; 留空为默认 300 秒",
    "Dashboards reuse the computed data this long (a write to the form recomputes at once); 0 queries every time; empty: the default, 300 seconds"],
  rd_undone: ["已撤销创建; 按「重做」恢复", "Its creation was undone; Redo brings it back"],
  dd_try: ["试用共享筛选 (不保存):", "Try the shared filters (not saved):"], dd_all: ["全部", "All"],
  rd_in_zh: ["中文", "Chinese"], rd_in_en: ["英文", "English"],
  rd_report_label: ["报表名称", "Report name"], rd_options: ["图表设置", "Chart settings"],
  rd_sort: ["排序", "Sort"], rd_sort_by: ["排序依据", "Sort by"], rd_asc: ["升序", "Ascending"], rd_desc: ["降序", "Descending"],
  rd_limit: ["最多显示组数", "Show at most (groups)"], rd_not_found: ["草稿中没有这个报表", "The draft has no such report"],
  rd_change_form: ["更换数据来源会清空维度和筛选条件 (可撤销)", "Changing the source clears dimensions and filters (undoable)"],
  rd_created: ["已创建 ", "Created "], rd_added: ["已添加 ", "Added "], rd_removed: ["已移除 ", "Removed "],
  rd_form_unpublished: ["表单尚未发布: 发布后才能看到实时数据", "The form is not published yet: publish it to see live data"],
  rd_sample: ["示例数据: 表单还没有发布, 图表画在按它的字段生成的示例记录上", "Sample data: the form is not published yet, so the chart is drawn on sample records made from its fields"],
  rd_sample_short: ["示例数据", "Sample data"],
  rd_open_dashboard: ["打开运行时仪表盘", "Open the runtime dashboard"],
  opt_donut: ["环形图", "Donut"], opt_area: ["面积图", "Fill the area"], opt_stacked: ["堆叠", "Stacked"],
  opt_markers: ["显示数据点", "Markers"], opt_date_field: ["周期的日期字段", "Date field of the period"],
  opt_period_days: ["周期天数", "Period (days)"], opt_previous_period: ["与上一周期对比", "Compare with the previous period"],
  opt_horizontal: ["横向", "Horizontal"], opt_show_percent: ["显示百分比", "Show percentages"],
  opt_stages: ["阶段顺序", "Stage order"], opt_min: ["最小值", "Minimum"], opt_max: ["最大值", "Maximum"],
  opt_target: ["目标值", "Target"], opt_totals: ["显示合计", "Show totals"],
  sys_id: ["编号", "ID"], sys_created_at: ["创建时间", "Created at"], sys_updated_at: ["更新时间", "Updated at"],
  sys_created_by: ["创建人", "Created by"], sys_updated_by: ["更新人", "Updated by"],
  proc_first_response_minutes: ["首次响应 (分钟)", "First response (minutes)"],
  proc_first_completion_minutes: ["首个任务完成 (分钟)", "First task completed (minutes)"],
  proc_handling_minutes: ["处理时长 (分钟)", "Handling time (minutes)"], proc_reopen_count: ["重开次数", "Reopens"],
  proc_completed_tasks: ["完成的任务数", "Completed tasks"], proc_started_at: ["流程开始时间", "Flow started at"],
  proc_ended_at: ["流程结束时间", "Flow ended at"],
  dd_reports: ["报表", "Reports"], dd_grid: ["网格 (12 列)", "Grid (12 columns)"],
  dd_drop_tile: ["把报表拖到网格上, 或选中报表后按 Enter", "Drag a report onto the grid, or focus one and press Enter"],
  dd_tile_help: ["拖动标题栏移动, 拖动右下角调整大小; 键盘: 方向键移动, Shift+方向键调整大小, Delete 删除",
    "Drag the title bar to move, the corner to resize; keys: arrows move, Shift+arrows resize, Delete removes"],
  dd_resize: ["调整大小", "Resize"], dd_dash_label: ["仪表盘名称", "Dashboard name"], dd_refresh: ["自动刷新 (秒)", "Auto refresh (seconds)"],
  dd_shared_filters: ["共享筛选", "Shared filters"], dd_add_filter: ["添加共享筛选", "Add a shared filter"],
  dd_filter_field: ["字段", "Field"], dd_filter_label: ["筛选名称", "Filter name"], dd_filter_kind: ["类型", "Kind"], kind_date_range: ["日期范围", "Date range"],
  kind_choice: ["选项", "Choice"], kind_text: ["文本包含", "Text contains"], dd_tile: ["图块", "Tile"],
  dd_tile_title: ["图块标题 (留空用报表名称)", "Tile title (empty: the report's name)"],
  dd_tile_definition: ["指标口径说明 (留空用报表说明)", "What the figures mean (empty: the report's description)"],
  dd_x: ["列", "Column"], dd_y: ["行", "Row"], dd_w: ["宽", "Width"], dd_h: ["高", "Height"],
  dd_no_reports: ["还没有报表: 用上面的「新建图表」或模板做一个", "No reports yet: make one with a chart type or a template above"],
  dd_moved: ["已移动到 ", "Moved to "], dd_resized: ["大小 ", "Size "], dd_select_tile: ["选中网格上的图块以编辑", "Select a tile on the grid to edit it"],
  dd_remove_tile: ["从仪表盘移除 (报表保留)", "Remove from the dashboard (the report stays)"],
};
extend(S);

// One of the strings above in both languages, as a label map.
export const pair = (key) => ({ "zh-CN": S[key][0], en: S[key][1] });

export { t, h, label, announce, LANG };

export const NUMERIC = new Set(["number", "money", "duration"]);
export const TEMPORAL = new Set(["date", "datetime"]);
export const SYSTEM = [["id", "number"], ["created_at", "datetime"], ["updated_at", "datetime"],
  ["created_by", "user"], ["updated_by", "user"]];

// A label map edited in one language keeps the other: {"zh-CN": "..", "en": ".."}.
export function setLabel(current, value, lang = LANG) {
  const map = typeof current === "string" ? { "zh-CN": current } : { ...(current || {}) };
  if (value) map[lang] = value; else delete map[lang];
  return Object.keys(map).length ? map : undefined;
}

export function labelIn(value, lang) {
  if (value && typeof value === "object") return value[lang] || "";
  return lang === "zh-CN" && typeof value === "string" ? value : "";
}

function options(field) {
  const raw = field.config?.options;
  if (!Array.isArray(raw)) return null;
  return raw.map((o) => (typeof o === "string" ? { value: o, label: o } : { value: o.value, label: o.label ?? o.value }));
}

// The fields a report on ``form`` may use: [{ref, label, kind, group, options}]. Only fields stored in a
// column of the form's table (not sub-tables or multi-value fields) can be grouped or aggregated.
export function reportFields(form, widgets, processFields = []) {
  const out = [];
  for (const f of form?.fields || []) {
    const w = widgets[f.widget];
    if (!w || w.storage !== "column") continue;
    const labels = f.label && typeof f.label === "object" ? f.label : { "zh-CN": f.label || f.key, en: f.label || f.key };
    out.push({ ref: f.key, label: label(f.label, f.key), labels, kind: w.value_kind, group: "form", options: options(f) });
  }
  for (const [ref, kind] of SYSTEM) {
    out.push({ ref, label: t(`sys_${ref}`), labels: pair(`sys_${ref}`), kind, group: "system", options: null });
  }
  for (const p of processFields) {
    const key = `proc_${p.field.replace(/^process\./, "")}`;
    const known = key in S;
    out.push({ ref: p.field, label: known ? t(key) : p.field, labels: known ? pair(key) : { "zh-CN": p.field, en: p.field },
      kind: p.kind, group: "process", options: null });
  }
  return out;
}

export function widgetIndex(registry) {
  const widgets = {};
  for (const g of registry.widgets?.groups || []) for (const w of g.widgets) widgets[w.type] = w;
  return widgets;
}

// The option labels the designer adds to a chart type's options schema (schema-form reads x-label).
export function labelledOptions(schema) {
  const out = JSON.parse(JSON.stringify(schema || { type: "object", properties: {} }));
  for (const [key, s] of Object.entries(out.properties || {})) {
    const pair = t(`opt_${key}`);
    if (pair !== `opt_${key}`) { s["x-label"] = pair; delete s.description; }  // the schema's help is English only
  }
  return out;
}

// Re-render ``fn`` keeping the focused control (by id) and its caret.
export function keepFocus(fn) {
  const active = document.activeElement;
  const id = active?.id;
  const caret = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
  fn();
  if (!id) return;
  const again = document.getElementById(id);
  if (again && again !== document.activeElement) {
    again.focus();
    try { if (caret && again.setSelectionRange) again.setSelectionRange(...caret); } catch { /* number inputs */ }
  }
}

// "?new=1&label=..": the item is not in the draft yet; create its starting definition as one undoable
// change and save, then drop the parameters from the address.
export async function createIfNew(store, kind, key, make) {
  const items = store.package[kind] || [];
  if (items.some((it) => it.key === key)) return true;
  const params = new URLSearchParams(window.location.search);
  if (params.get("new") !== "1") return false;
  store.change((pkg) => { pkg[kind] = [...(pkg[kind] || []), make(params.get("label") || key)]; }, "create");
  await store.save();
  history.replaceState(null, "", window.location.pathname);
  announce(t("rd_created") + key);
  return true;
}

// Every change to the draft: undo, redo and load re-render all, unless they took the item away (its
// creation was undone: ``placeholder`` says so, in ``holder``, until redo brings it back); any other change
// re-renders the toolbar; and each change but a save refreshes the live view (``refresh``).
export function followDraft(store, toolbar, { exists, renderAll, refresh, holder, placeholderId }) {
  store.addEventListener("change", (e) => {
    const reason = e.detail.reason;
    if (["undo", "redo", "load"].includes(reason)) {
      if (!exists()) {
        holder.replaceChildren(h("p", { role: "status", class: "zone-empty", id: placeholderId }, t("rd_undone")));
        toolbar.render();
        return;
      }
      renderAll();
    } else toolbar.render();
    if (reason !== "saved" && exists()) refresh();
  });
}

let plotModule = null;
export async function drawFigure(node, figure) {
  plotModule ||= await import(document.querySelector("meta[name=jimu-plot]").content);
  return plotModule.drawFigure(node, figure);
}

export function purge(node) {
  if (window.Plotly) for (const p of node.querySelectorAll(".js-plotly-plot")) window.Plotly.purge(p);
}

// A coded error list: the code, where (pointer) and the message; ``onPick`` focuses the culprit.
// Problems as words in the UI language (the server words them, builder/messages.py); a click goes to
// what the problem is about. Codes and pointers stay in data attributes, off the screen.
export function codedErrors(errors, onPick) {
  return h("ul", { class: "error-list coded", role: "alert" }, ...errors.map((e) => h("li", { "data-code": e.code || "", "data-pointer": e.pointer || "" },
    e.pointer && onPick ? h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); onPick(e); } }, e.message || e.code) : (e.message || e.code))));
}
