// Small enhancements shared by every runtime page (no build step).
// Forms with data-confirm ask before submitting (delete buttons).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
