// The import progress page: poll the import's status (GET /api/v1/imports/<id>) about once a
// second, move the progress bar and the counters; when the import has finished, reload the page
// so the server renders the outcome (links to the rejected rows). The state lives on the server,
// so reloading the page at any time finds the import where it is.
const box = document.getElementById("import-state");
if (box && box.dataset.finished !== "true") {
  const url = box.dataset.statusUrl;
  const show = (state) => {
    const bar = document.getElementById("import-progress");
    bar.value = Math.round((state.progress || 0) * 100);
    bar.textContent = `${bar.value}%`;
    document.getElementById("import-done").textContent = state.done_rows;
    document.getElementById("import-imported").textContent = state.imported;
    document.getElementById("import-rejected").textContent = state.rejected;
    const status = document.getElementById("import-status");
    status.dataset.status = state.status;
    for (const span of status.querySelectorAll("[data-text]")) span.hidden = span.dataset.text !== state.status;
  };
  const poll = async () => {
    try {
      const response = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (response.ok) {
        const state = await response.json();
        show(state);
        if (state.status === "done" || state.status === "failed") {
          window.location.reload();
          return;
        }
      }
    } catch (e) { /* the server restarting: try again */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 500);
}
