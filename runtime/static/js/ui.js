// Small enhancements shared by every runtime page (no build step).
// Forms with data-confirm ask before submitting (delete buttons).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

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
