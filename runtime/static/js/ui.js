// Small enhancements shared by every runtime page (no build step).
// Forms with data-confirm ask before submitting (delete buttons).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
  if (form.hasAttribute && form.hasAttribute("data-preview")) event.preventDefault();  // the designer's preview
});

// The notifications menu in the top bar: the unread count at once, the list when opened.
const inbox = document.getElementById("jimu-inbox");
if (inbox) {
  const badge = inbox.querySelector("[data-unread]"), list = inbox.querySelector("[data-list]");
  fetch("/api/v1/notifications/unread-count").then((r) => r.json()).then((d) => {
    const n = (d.unread || 0) + (d.failed_deliveries || 0);
    if (n) { badge.textContent = n; badge.hidden = false; }
    badge.title = d.failed_deliveries ? `${d.failed_deliveries} failed deliveries` : "";
  });
  inbox.addEventListener("toggle", () => {
    if (!inbox.open) return;
    fetch("/api/v1/notifications?limit=20").then((r) => r.json()).then((d) => {
      list.replaceChildren(...d.notifications.map((n) => {
        const li = document.createElement("li"), a = document.createElement("a");
        a.textContent = n.title;
        a.style.color = "#1d4ed8";
        a.href = /^(\/(?!\/)|https?:\/\/)/.test(n.link || "") ? n.link : "#";
        if (!n.read_at) li.className = "unread";
        li.append(a);
        return li;
      }));
    });
  });
}

// Tabs (role=tablist): click or arrow keys switch the panel.
for (const tabs of document.querySelectorAll("[data-tabs]")) {
  const buttons = [...tabs.querySelectorAll(':scope > [role="tablist"] > [role="tab"]')];
  const select = (button) => {
    for (const b of buttons) {
      const on = b === button;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      document.getElementById(b.getAttribute("aria-controls")).hidden = !on;
    }
    button.focus();
  };
  buttons.forEach((b, i) => {
    b.addEventListener("click", () => select(b));
    b.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight") select(buttons[(i + 1) % buttons.length]);
      if (e.key === "ArrowLeft") select(buttons[(i - 1 + buttons.length) % buttons.length]);
    });
  });
}

// Message templates: choosing one fills the target field with the text rendered on the server.
for (const picker of document.querySelectorAll("select[data-template-into]")) {
  picker.addEventListener("change", () => {
    const target = document.getElementById(picker.dataset.templateInto);
    const option = picker.selectedOptions[0];
    if (target && option && option.dataset.text !== undefined) {
      target.value = option.dataset.text;
      target.dispatchEvent(new Event("input", { bubbles: true }));
      target.focus();
    }
  });
}

// The list's selection: the header checkbox ticks or clears every row of the page.
const selectAll = document.getElementById("select-all");
if (selectAll) {
  selectAll.addEventListener("change", () => {
    for (const box of document.querySelectorAll('input[type=checkbox][name=ids][form=bulk]')) {
      box.checked = selectAll.checked;
    }
  });
}
