// The chat page: self-contained HTML, CSS and JS (no external scripts,
// fonts or CDNs), served at "/" by the http package.

/** The page's HTML. */
export const CHAT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coroio chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { padding: 8px 12px; background: #234; color: #fff; display: flex; gap: 8px; align-items: center; }
  header input { width: 10em; }
  #status { margin-left: auto; font-size: 13px; }
  #log { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 8px 12px; }
  #log li { padding: 2px 0; }
  #log li.event { color: #777; font-style: italic; }
  #log b { color: #246; }
  form { display: flex; gap: 8px; padding: 8px 12px; border-top: 1px solid #ccc; }
  #message { flex: 1; padding: 6px; }
</style>
</head>
<body>
<header>
  <strong>coroio chat</strong>
  <label>name <input id="name" maxlength="32" autocomplete="off"></label>
  <button id="join" type="button">join</button>
  <span id="status">not connected</span>
</header>
<ul id="log"></ul>
<form id="form">
  <input id="message" placeholder="Type a message and press Enter" autocomplete="off" disabled>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const log = $("log"), message = $("message"), status = $("status"), nameInput = $("name");
let ws = null;
nameInput.value = new URLSearchParams(location.search).get("name") || "guest" + Math.floor(Math.random() * 1000);

function add(cls, parts) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  for (const [tag, text] of parts) {
    const el = tag ? document.createElement(tag) : document.createTextNode(text);
    if (tag) el.textContent = text;
    li.appendChild(el);
  }
  log.appendChild(li);
  log.scrollTop = log.scrollHeight;
}

function join() {
  if (ws) ws.close();
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat?name=" +
    encodeURIComponent(nameInput.value.trim());
  ws = new WebSocket(url);
  status.textContent = "connecting";
  ws.onopen = () => {
    // The negotiated extension, e.g. "permessage-deflate", when there is one.
    status.textContent = "connected" + (ws.extensions ? " (" + ws.extensions + ")" : "");
    message.disabled = false;
    message.focus();
  };
  ws.onclose = (e) => { status.textContent = "disconnected (" + e.code + ")"; message.disabled = true; };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "message") add("message", [["b", m.name], ["", ": " + m.text]]);
    else if (m.type === "join") add("event", [["", m.name + " joined"]]);
    else if (m.type === "leave") add("event", [["", m.name + " left"]]);
    else if (m.type === "welcome") add("event", [["", "you are " + m.name + "; also here: " + (m.online.join(", ") || "nobody yet")]]);
  };
}

$("join").onclick = join;
$("form").onsubmit = (e) => {
  e.preventDefault();
  const text = message.value.trim();
  if (text && ws && ws.readyState === WebSocket.OPEN) ws.send(text);
  message.value = "";
};
join();
</script>
</body>
</html>
`;
