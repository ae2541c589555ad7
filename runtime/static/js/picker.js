// Pickers for user, group and link fields: people choose by name, the form posts ids.
//
// The server renders each reference field as a text input holding ids (data-picker, so the page
// still works without scripts) with the names of the chosen ids (data-chosen). This module hides
// that input and shows a combobox in its place: typing asks
// GET /api/v1/forms/<form>/fields/<field>/choices?q=… (the caller's own rights decide what is
// offered), choosing writes the id back into the hidden input and fires "change", so form.js
// re-evaluates conditions and formulas exactly as if the id had been typed; a link's "fill"
// then copies the chosen record's fields into this form.
const form = document.querySelector("[data-jimu-form][data-form-key]");
const text = JSON.parse(document.getElementById("picker-text")?.textContent || "{}");
let serial = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function enhance(input) {
  const many = input.hasAttribute("data-multiple");
  const url = `/api/v1/forms/${encodeURIComponent(form.dataset.formKey)}/fields/${encodeURIComponent(input.name)}/choices`;
  let chosen = JSON.parse(input.dataset.chosen || "[]");
  const id = `picker-${++serial}`;
  const box = el("div", { class: "picker", "data-picker-for": input.name });
  const chips = el("ul", { class: "picker-chips", "aria-label": text.chosen || "" });
  const search = el("input", {
    type: "text", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
    "aria-controls": `${id}-list`, autocomplete: "off", placeholder: text.search || "",
    "aria-describedby": input.getAttribute("aria-describedby"),
  });
  const list = el("ul", { id: `${id}-list`, role: "listbox", class: "picker-list", hidden: "" });
  box.append(chips, search, list);
  input.hidden = true;
  input.after(box);
  if (input.id) {  // the field's <label for> now points at the visible box
    search.id = input.id;
    input.id = `${input.id}-ids`;
  }
  let active = -1;
  let offered = [];
  let timer = null;
  let asked = 0;

  function write() {
    input.value = chosen.map((c) => c.id).join(",");
    input.dispatchEvent(new Event("change", { bubbles: true }));
    if (input.dataset.fill && !many && chosen.length) fillFrom(input, chosen[0].id);
  }

  function drawChips() {
    chips.replaceChildren();
    if (!many) {
      search.value = chosen.length ? chosen[0].text : "";
      return;
    }
    for (const c of chosen) {
      const remove = el("button", { type: "button", class: "link", "aria-label": `${text.remove || "×"} ${c.text}` }, "×");
      remove.addEventListener("click", () => {
        chosen = chosen.filter((x) => x.id !== c.id);
        drawChips();
        write();
      });
      chips.append(el("li", { class: "chip", "data-id": c.id }, c.text, " ", remove));
    }
  }

  function close() {
    clearTimeout(timer);
    asked++;  // an answer still on its way is not shown
    list.hidden = true;
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function mark(index) {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (index >= 0 && list.children[index]) search.setAttribute("aria-activedescendant", list.children[index].id);
  }

  function pick(choice) {
    chosen = many ? [...chosen.filter((c) => c.id !== choice.id), choice] : [choice];
    close();
    drawChips();
    if (many) search.value = "";
    write();
  }

  function draw(choices) {
    offered = choices;
    list.replaceChildren();
    if (!choices.length) {
      list.append(el("li", { class: "muted", role: "option", "aria-disabled": "true" }, text.none || "—"));
    }
    choices.forEach((c, i) => {
      const li = el("li", { id: `${id}-opt-${i}`, role: "option", "data-id": c.id, "aria-selected": "false" }, c.text);
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(c); });
      list.append(li);
    });
    list.hidden = false;
    search.setAttribute("aria-expanded", "true");
    mark(choices.length ? 0 : -1);
  }

  async function ask() {
    const mine = ++asked;
    const response = await fetch(`${url}?q=${encodeURIComponent(search.value.trim())}`,
      { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (mine !== asked || document.activeElement !== search) return;  // asked again since, or left
    if (!response.ok) {
      draw([]);
      return;
    }
    draw((await response.json()).choices || []);
  }

  search.addEventListener("input", () => {
    if (!many && search.value.trim() === "" && chosen.length) {  // emptied: the field is cleared
      chosen = [];
      write();
    }
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });
  search.addEventListener("focus", () => { if (list.hidden) ask(); });
  search.addEventListener("blur", () => {
    close();
    if (!many) drawChips();  // typed text that was not chosen goes back to the chosen name
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) { ask(); return; }
      const step = event.key === "ArrowDown" ? 1 : -1;
      mark(Math.max(0, Math.min(offered.length - 1, active + step)));
    } else if (event.key === "Enter" && !list.hidden) {
      event.preventDefault();  // choosing is not submitting
      if (active >= 0 && offered[active]) pick(offered[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
  drawChips();
}

// A link with "fill" copies fields of the chosen record into this form as soon as it is chosen
// (the server does the same on save for fields left empty, so the page shows what will be stored).
async function fillFrom(input, id) {
  const pairs = Object.entries(JSON.parse(input.dataset.fill));
  const fields = [...new Set(pairs.map(([, src]) => src))].join(",");
  const response = await fetch(
    `/api/v1/forms/${encodeURIComponent(input.dataset.form)}/records/${id}?fields=${encodeURIComponent(fields)}`,
    { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) return;
  const record = await response.json();
  for (const [dst, src] of pairs) {
    const target = form.querySelector(`[name="${CSS.escape(dst)}"]`);
    const value = record[src];
    if (!target || value === null || value === undefined || target.hasAttribute("data-picker")
        || ["file", "checkbox", "radio"].includes(target.type)) continue;
    target.value = Array.isArray(value) ? value.join(", ") : String(value);
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

if (form) {
  for (const input of form.querySelectorAll("input[data-picker]")) enhance(input);
  form.dataset.pickers = "ready";
}
