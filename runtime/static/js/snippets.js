// Texts inserted into a text field: a field whose widget names insert_from (knowledge articles, canned
// replies) gets a search beside it. Typing asks GET /api/v1/forms/<form>/fields/<field>/snippets?q=…
// (only records the person may read come back); choosing one inserts its text at the caret and fires
// "input" and "change", as typing it would.
const form = document.querySelector("[data-jimu-form][data-form-key]");
const text = JSON.parse(document.getElementById("snippet-text")?.textContent || "{}");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function insert(area, snippet) {
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.value = area.value.slice(0, start) + snippet + area.value.slice(end);
  area.selectionStart = area.selectionEnd = start + snippet.length;
  area.dispatchEvent(new Event("input", { bubbles: true }));
  area.dispatchEvent(new Event("change", { bubbles: true }));
  area.focus();
}

function enhance(area) {
  const url = `/api/v1/forms/${encodeURIComponent(form.dataset.formKey)}/fields/${encodeURIComponent(area.name)}/snippets`;
  const box = el("details", { class: "snippets", "data-snippets-for": area.name });
  const search = el("input", { type: "search", autocomplete: "off", placeholder: text.search || "",
                               "aria-label": text.insert || "" });
  const list = el("ul", { class: "snippet-list" });
  box.append(el("summary", {}, text.insert || ""), search, list);
  area.after(box);
  let asked = 0;
  async function load() {
    const n = ++asked;
    const r = await fetch(`${url}?q=${encodeURIComponent(search.value.trim())}`,
                          { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (n !== asked || !r.ok) return;
    const found = (await r.json()).snippets || [];
    list.replaceChildren(...(found.length ? found.map((s) => {
      const b = el("button", { type: "button", "data-snippet-id": String(s.id), title: s.text.slice(0, 200) }, s.title);
      b.addEventListener("click", () => { insert(area, s.text); box.open = false; });
      return el("li", {}, b);
    }) : [el("li", { class: "muted" }, text.none || "")]));
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
  box.addEventListener("toggle", () => { if (box.open) load(); });
}

if (form) document.querySelectorAll("textarea[data-snippets]").forEach(enhance);
