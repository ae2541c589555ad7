// Jimu live chat widget: <script src="https://jimu.example.com/static/js/chat-widget.js" data-jimu-chat="<form>" defer></script>
// Opens a chat panel on the host page and talks to Jimu's chat API across origins (the form's
// chat.origins). The conversation's token is kept in the host page's localStorage, so a reload
// shows the whole conversation again (read back from Jimu). Live over a WebSocket when the server
// offers one, else by polling from the last message id; messages are stored before they are shown.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.jimuChat) return;
  var form = script.dataset.jimuChat;
  var origin = new URL(script.src, location.href).origin;
  var api = origin + "/api/v1/chat/" + encodeURIComponent(form);
  var lang = script.dataset.lang || (/^zh/i.test(navigator.language || "") ? "zh-CN" : "en");
  var KEY = "jimu-chat:" + origin + ":" + form;
  var token = null;
  try { token = localStorage.getItem(KEY); } catch (e) { /* storage blocked: the chat lasts the page */ }
  var settings, cursor = 0, seen = {}, live = false, panel, list, input, startBox, note, ended = false;

  function css(node, text) { node.setAttribute("style", text); return node; }
  function el(tag, text, style) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = text;
    if (style) css(n, style);
    return n;
  }
  function request(method, path, body) {
    var headers = {"Accept": "application/json"};
    if (body) headers["Content-Type"] = "application/json";
    if (token) headers["X-Chat-Token"] = token;
    return fetch(api + path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
                              credentials: "omit", mode: "cors"})
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          var first = data.error && data.error.errors && data.error.errors[0];
          if (!res.ok) { var err = new Error((first && (first.label ? first.label + ": " : "") + local(first.message)) || (data.error && data.error.message) || res.statusText); err.status = res.status; err.code = data.error && data.error.code; throw err; }
          return data;
        });
      });
  }

  // a field error reads "English / 中文": the visitor's half
  function local(text) {
    var at = (text || "").lastIndexOf(" / ");
    if (at < 0) return text || "";
    return lang === "en" ? text.slice(0, at) : text.slice(at + 3);
  }

  function show(messages) {
    (messages || []).forEach(function (m) {
      cursor = Math.max(cursor, m.id);
      if (seen[m.id]) return;
      seen[m.id] = true;
      var mine = m.from === "visitor";
      var row = el("div", null, "display:flex;flex-direction:column;margin:6px 0;align-items:" + (mine ? "flex-end" : "flex-start"));
      row.setAttribute("data-message", m.id);
      row.setAttribute("data-from", m.from);
      row.appendChild(el("small", mine ? settings.text.you : (m.author || settings.text.staff), "color:#888;font-size:11px"));
      row.appendChild(el("span", m.text, "white-space:pre-wrap;padding:6px 10px;border-radius:10px;max-width:85%;background:" + (mine ? "#1a73e8;color:#fff" : "#f1f3f4;color:#222")));
      list.appendChild(row);
    });
    list.scrollTop = list.scrollHeight;
  }

  function take(data) {
    if (data.conversation && data.conversation.open === false) setEnded();
    show(data.messages);
  }

  function setEnded() {
    if (ended) return;
    ended = true;
    note.textContent = settings.text.ended;
    input.disabled = true;
    var again = el("button", settings.text["new"], "margin-left:8px");
    again.type = "button";
    again.addEventListener("click", function () { forget(); location.reload(); });
    note.appendChild(again);
  }

  function forget() {
    token = null;
    try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function poll() {
    if (!token) return;
    var started = Date.now();
    request("GET", "/mine?after=" + cursor + "&wait=20").then(function (data) {
      note.textContent = ended ? note.textContent : "";
      take(data);
      return Date.now() - started < 1000 ? sleep(2000) : null;
    }, function (err) {
      if (err.status === 401 || err.status === 404) { forget(); return null; }
      note.textContent = settings.text.offline;
      return sleep(3000);
    }).then(function () { if (token) poll(); });
  }

  function connect() {
    if (live || !token) return;
    live = true;
    if (!settings.socket || !("WebSocket" in window)) { poll(); return; }
    var done = false, ws;
    function fallback() { if (!done) { done = true; poll(); } }
    try { ws = new WebSocket(settings.socket); } catch (e) { fallback(); return; }
    ws.addEventListener("open", function () { ws.send(JSON.stringify({token: token, after: cursor})); });
    ws.addEventListener("message", function (e) {
      var data = JSON.parse(e.data);
      if (data.error) { fallback(); return; }
      if (data.messages) take(data);
    });
    ws.addEventListener("error", fallback);
    ws.addEventListener("close", fallback);
  }

  function send(text) {
    text = (text || "").trim();
    if (!text) return;
    input.disabled = true;
    var done;
    if (!token) {
      var fields = {};
      startBox.querySelectorAll("input").forEach(function (i) { fields[i.name] = i.value; });
      done = request("POST", "/conversations", {fields: fields, text: text}).then(function (data) {
        token = data.token;
        try { localStorage.setItem(KEY, token); } catch (e) { /* ignore */ }
        startBox.style.display = "none";
        take(data);
        connect();
      });
    } else {
      done = request("POST", "/mine/messages", {text: text}).then(function (data) { show([data.message]); });
    }
    done.then(function () { input.value = ""; note.textContent = ""; }, function (err) {
      note.textContent = settings.text.error + (err.message ? ": " + err.message : "");
      if (err.code === "chat.closed") setEnded();
    }).then(function () { if (!ended) { input.disabled = false; input.focus(); } });
  }

  function build() {
    var button = el("button", settings.text.open, "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:10px 16px;border:0;border-radius:20px;background:#1a73e8;color:#fff;font:14px sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)");
    button.type = "button";
    button.setAttribute("data-jimu-chat-open", form);
    panel = el("div", null, "position:fixed;right:20px;bottom:70px;z-index:2147483000;width:320px;max-width:calc(100vw - 40px);height:440px;display:none;flex-direction:column;background:#fff;border:1px solid #ddd;border-radius:10px;box-shadow:0 4px 16px rgba(0,0,0,.2);font:14px sans-serif;color:#222");
    panel.setAttribute("data-jimu-chat-panel", form);
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", settings.title);
    var head = el("div", null, "display:flex;justify-content:space-between;align-items:center;padding:10px 12px;background:#1a73e8;color:#fff;border-radius:10px 10px 0 0");
    head.appendChild(el("strong", settings.title));
    var close = el("button", "×", "background:none;border:0;color:#fff;font-size:18px;cursor:pointer");
    close.type = "button";
    close.setAttribute("aria-label", settings.text.close);
    close.addEventListener("click", function () { panel.style.display = "none"; });
    head.appendChild(close);
    list = el("div", null, "flex:1;overflow:auto;padding:8px 12px");
    list.setAttribute("data-jimu-chat-messages", "");
    if (settings.greeting) list.appendChild(el("p", settings.greeting, "color:#555;margin:4px 0 8px"));
    startBox = el("div", null, "padding:0 12px");
    settings.fields.forEach(function (f) {
      var label = el("label", f.label + (f.required ? " *" : ""), "display:block;font-size:12px;color:#555;margin-top:4px");
      var i = el("input", null, "display:block;width:100%;box-sizing:border-box;padding:4px 6px;border:1px solid #ccc;border-radius:4px");
      i.name = f.key;
      i.type = f.type === "email" ? "email" : "text";
      label.appendChild(i);
      startBox.appendChild(label);
    });
    if (token) startBox.style.display = "none";
    note = el("div", "", "font-size:12px;color:#b00;padding:0 12px;min-height:14px");
    note.setAttribute("role", "status");
    var bar = el("form", null, "display:flex;gap:6px;padding:8px 12px;border-top:1px solid #eee");
    input = el("input", null, "flex:1;padding:6px 8px;border:1px solid #ccc;border-radius:4px");
    input.placeholder = settings.text.placeholder;
    input.setAttribute("aria-label", settings.text.placeholder);
    var go = el("button", settings.text.send, "padding:6px 12px;border:0;border-radius:4px;background:#1a73e8;color:#fff;cursor:pointer");
    go.type = "submit";
    bar.appendChild(input);
    bar.appendChild(go);
    bar.addEventListener("submit", function (e) { e.preventDefault(); send(input.value); });
    panel.appendChild(head);
    panel.appendChild(list);
    panel.appendChild(startBox);
    panel.appendChild(note);
    panel.appendChild(bar);
    button.addEventListener("click", function () {
      panel.style.display = panel.style.display === "none" ? "flex" : "none";
      if (panel.style.display === "flex") input.focus();
    });
    document.body.appendChild(button);
    document.body.appendChild(panel);
  }

  request("GET", "/settings?lang=" + encodeURIComponent(lang)).then(function (data) {
    settings = data;
    build();
    if (!token) return;
    return request("GET", "/mine").then(function (data) {
      panel.style.display = "flex";
      take(data);
      connect();
    }, function (err) {
      if (err.status === 401 || err.status === 404) { forget(); startBox.style.display = ""; }
    });
  }).catch(function (err) {
    if (window.console) console.warn("Jimu chat:", err.message);
  });
})();
