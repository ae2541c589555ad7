// The live chat console (/chat/<form>): the queue of open chats, a pane per chat with its own draft,
// one reply sent to several checked chats, templates and articles inserted into the reply,
// hand-over and end. Messages come over the WebSocket when there is one, else by long polling the
// queue from a cursor; everything shown is read back from the server, so a reload loses nothing.
const root = document.getElementById("chat-console");
const api = root.dataset.api;
const T = JSON.parse(root.dataset.labels);
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel) => root.querySelector(sel);
const state = {conversations: new Map(), messages: new Map(), loaded: new Set(), drafts: new Map(),
               unread: new Map(), checked: new Set(), current: null, cursor: 0};
const KEY = `jimu-chat-console:${root.dataset.form}`;

async function call(method, url, body) {
  const res = await fetch(url, {method, credentials: "same-origin",
    headers: {"Accept": "application/json", ...(body ? {"Content-Type": "application/json"} : {}), "X-CSRF-Token": csrf},
    body: body ? JSON.stringify(body) : undefined});
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function status(text) { $("[data-status]").textContent = text || ""; }

function title(c) {
  return c.title || Object.values(c.fields || {}).find(Boolean) || `#${c.id}`;
}

function addMessages(list) {
  for (const m of list) {
    if (!state.messages.has(m.conversation)) state.messages.set(m.conversation, new Map());
    const box = state.messages.get(m.conversation);
    const fresh = !box.has(m.id);
    box.set(m.id, m);
    if (fresh && m.conversation !== state.current && m.from === "visitor") {
      state.unread.set(m.conversation, (state.unread.get(m.conversation) || 0) + 1);
    }
    state.cursor = Math.max(state.cursor, m.id);
  }
}

function renderQueue() {
  const ul = $("[data-queue]");
  ul.replaceChildren();
  for (const c of state.conversations.values()) {
    const li = el("li", {"data-conversation": c.id, style: "display:flex;gap:.4rem;align-items:center;padding:.3rem;border-radius:4px;cursor:pointer" + (c.id === state.current ? ";background:#e8f0fe" : "")});
    const box = el("input", {type: "checkbox", "aria-label": title(c), "data-check": c.id});
    box.checked = state.checked.has(c.id);
    box.addEventListener("click", (e) => {
      e.stopPropagation();
      if (box.checked) state.checked.add(c.id); else state.checked.delete(c.id);
      renderTools();
    });
    const name = el("span", {style: "flex:1"}, title(c));
    li.append(box, name);
    const n = state.unread.get(c.id);
    if (n) li.append(el("span", {class: "badge", "data-unread": c.id, title: T.new}, String(n)));
    li.addEventListener("click", () => open(c.id));
    ul.append(li);
  }
  $("[data-empty]").hidden = state.conversations.size > 0;
  $("[data-count]").textContent = state.conversations.size ? String(state.conversations.size) : "";
}

function clock(at) {   // the reader's local time of a message
  const d = at ? new Date(at) : null;
  return d && !isNaN(d) ? d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
}

function renderMessages() {
  const ol = $("[data-messages]");
  ol.replaceChildren();
  const box = state.messages.get(state.current);
  if (!box) return;
  for (const m of [...box.values()].sort((a, b) => a.id - b.id)) {
    const li = el("li", {"data-message": m.id, "data-from": m.from,
      style: "margin:.3rem 0;display:flex;flex-direction:column;align-items:" + (m.from === "staff" ? "flex-end" : "flex-start")});
    li.append(el("small", {class: "muted"}, `${m.from === "staff" ? (m.author || "") : T.visitor} ${clock(m.at)}`));
    li.append(el("span", {style: "white-space:pre-wrap;padding:.3rem .6rem;border-radius:8px;max-width:80%;background:" + (m.from === "staff" ? "#d8ecff" : "#fff;border:1px solid #ddd")}, m.text));
    ol.append(li);
  }
  ol.scrollTop = ol.scrollHeight;
}

function renderTools() {
  const c = state.conversations.get(state.current) || state.closedCurrent;
  const on = Boolean(c);
  $("[data-text]").disabled = !on;
  $("[data-send]").disabled = !on;
  $("[data-checked]").textContent = String(state.checked.size);
  $("[data-send-all]").disabled = state.checked.size === 0;
  const hand = root.querySelector('[data-action="handover"]');
  const close = root.querySelector('[data-action="close"]');
  if (hand) hand.disabled = !on || Boolean(c && c.handover);
  if (close) close.disabled = !on;
  const rec = $("[data-record]");
  rec.hidden = !c;
  if (c) rec.href = root.dataset.recordBase.replace("__FORM__", encodeURIComponent(root.dataset.form)) + "/" + c.id;
  const done = $("[data-handed]");
  if (c && c.handover && root.dataset.handover) {
    done.hidden = false;
    done.textContent = `${T.handed} #${c.handover}`;
    done.href = root.dataset.recordBase.replace("__FORM__", encodeURIComponent(root.dataset.handover)) + "/" + c.handover;
  } else {
    done.hidden = true;
  }
  $("[data-title]").textContent = c ? title(c) : T.pick;
  // what the visitor told when starting (name, e-mail, phone ...)
  $("[data-fields]").textContent = c ? Object.values(c.fields || {}).filter((v) => v !== null && v !== "").join(" · ") : "";
}

async function open(id) {
  if (state.current !== null) state.drafts.set(state.current, $("[data-text]").value);
  state.current = id;
  sessionStorage.setItem(KEY, String(id));
  state.unread.delete(id);
  $("[data-text]").value = state.drafts.get(id) || "";
  renderQueue();
  renderTools();
  if (!state.loaded.has(id)) {
    const data = await call("GET", `${api}/conversations/${id}/messages`);
    state.loaded.add(id);
    state.conversations.set(id, {...state.conversations.get(id), ...data.conversation});
    addMessages(data.messages);
  }
  renderMessages();
  renderTools();
}

function take(data) {
  const before = new Set(state.conversations.keys());
  state.conversations = new Map(data.conversations.map((c) => [c.id, c]));
  addMessages(data.messages || []);
  state.cursor = Math.max(state.cursor, data.cursor || 0);
  for (const id of state.checked) if (!state.conversations.has(id)) state.checked.delete(id);
  for (const id of state.conversations.keys()) if (!before.has(id) && before.size) state.unread.set(id, state.unread.get(id) || 1);
  renderQueue();
  renderMessages();
  renderTools();
}

async function send(ids) {
  const text = $("[data-text]").value.trim();
  if (!text || !ids.length) return;
  try {
    const data = await call("POST", `${api}/messages`, {conversations: ids, text});
    $("[data-text]").value = "";
    state.drafts.delete(state.current);
    addMessages(data.messages);
    renderMessages();
    status("");
  } catch (err) {
    status(`${T.error} ${err.message}`);
  }
}

$("[data-reply]").addEventListener("submit", (e) => {
  e.preventDefault();
  if (state.current !== null) send([state.current]);
});
$("[data-text]").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("[data-reply]").requestSubmit(); }
});
$("[data-send-all]").addEventListener("click", () => send([...state.checked]));

root.querySelector('[data-action="handover"]')?.addEventListener("click", async () => {
  try {
    const made = await call("POST", `${api}/conversations/${state.current}/handover`);
    const c = state.conversations.get(state.current);
    if (c) c.handover = made.id;
    renderTools();
  } catch (err) { status(`${T.error} ${err.message}`); }
});
root.querySelector('[data-action="close"]')?.addEventListener("click", async () => {
  try {
    await call("POST", `${api}/conversations/${state.current}/close`);
    state.conversations.delete(state.current);
    state.current = null;
    sessionStorage.removeItem(KEY);
    renderQueue(); renderMessages(); renderTools();
  } catch (err) { status(`${T.error} ${err.message}`); }
});

// templates and articles, inserted at the caret of the reply
let searching;
async function snippets() {
  const q = $("[data-snippet-search]").value.trim();
  const data = await call("GET", `${api}/snippets${q ? "?q=" + encodeURIComponent(q) : ""}`);
  const ul = $("[data-snippet-list]");
  ul.replaceChildren();
  for (const s of data.snippets) {
    const li = el("li", {});
    const b = el("button", {type: "button", "data-snippet": `${s.kind}:${s.id}`, style: "text-align:left;width:100%"});
    b.append(el("small", {class: "muted"}, (s.kind === "article" ? T.article : T.template) + " · "), document.createTextNode(s.title));
    b.addEventListener("click", () => {
      const area = $("[data-text]");
      const at = area.selectionStart ?? area.value.length;
      area.value = area.value.slice(0, at) + s.text + area.value.slice(area.selectionEnd ?? at);
      area.focus();
    });
    li.append(b);
    ul.append(li);
  }
}
$("[data-snippets]").addEventListener("toggle", (e) => { if (e.target.open) snippets().catch((err) => status(`${T.error} ${err.message}`)); });
$("[data-snippet-search]").addEventListener("input", () => { clearTimeout(searching); searching = setTimeout(() => snippets().catch(() => {}), 250); });

// live: the socket, else long polling from the cursor
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function poll() {
  for (;;) {
    const started = Date.now();
    try {
      take(await call("GET", `${api}/queue?after=${state.cursor}&wait=20`));
      if (Date.now() - started < 1000) await sleep(2000);   // the server does not hold requests: short polls
    } catch (err) {
      await sleep(3000);
    }
  }
}

function live() {
  const url = root.dataset.socket;
  if (!url || !("WebSocket" in window)) { poll(); return; }
  let done = false;
  const ws = new WebSocket(url);
  const fallback = () => { if (!done) { done = true; status(T.offline); poll(); } };
  ws.addEventListener("open", () => ws.send(JSON.stringify({after: state.cursor})));
  ws.addEventListener("message", (e) => {
    const data = JSON.parse(e.data);
    if (data.error) { fallback(); return; }
    if (data.conversations) take(data);
  });
  ws.addEventListener("error", fallback);
  ws.addEventListener("close", fallback);
}

async function start() {
  const data = await call("GET", `${api}/queue`);
  take(data);
  const kept = Number(sessionStorage.getItem(KEY));
  if (kept && state.conversations.has(kept)) await open(kept);
  live();
}
root.dataset.ready = "";
start().then(() => { root.dataset.ready = "1"; }).catch((err) => status(`${T.error} ${err.message}`));
