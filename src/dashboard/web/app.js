// Petrel's dashboard: one page, polling its JSON under /dashboard/api/.
// Everything shown is put in with textContent (message headers and replies
// come from strangers); every change sends the session's CSRF token.
"use strict";

const POLL_MS = 5000;
const API = "/dashboard/api/";
const COLORS = { received: "#1d4ed8", delivered: "#15803d", deferred: "#b45309", bounced: "#b91c1c", depth: "#6d28d9" };
const state = { csrf: "", tab: "overview", timer: 0, charts: {}, queue: { by: "any", q: "", next: null, rows: [] },
  selected: new Set(), message: null };

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") e.className = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.includes("-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

const num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
function time(value) {
  if (!value) return "–";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
function since(unixSeconds) {
  if (!unixSeconds) return "now";
  const s = Math.round(unixSeconds - Date.now() / 1000);
  const abs = Math.abs(s), unit = abs < 90 ? [abs, "s"] : abs < 5400 ? [Math.round(abs / 60), "min"] : [Math.round(abs / 3600), "h"];
  return s >= 0 ? `in ${unit[0]} ${unit[1]}` : `${unit[0]} ${unit[1]} ago`;
}

function toast(text, bad) {
  const t = $("toast");
  t.textContent = text;
  t.className = bad ? "toast bad" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

// fetch with the session cookie; POSTs carry the CSRF token. A 401 means
// the session is gone: back to the login form.
async function call(path, body) {
  const init = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = state.csrf;
    init.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, init);
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (r.status === 401 && path !== "login") showLogin("Your session has ended: sign in again.");
  if (!r.ok) {
    const e = new Error((data && (data.detail || data.title)) || `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return data;
}

// --- login -----------------------------------------------------------------

function showLogin(message, neutral) {
  clearInterval(state.timer);
  $("toast").hidden = true;
  state.csrf = "";
  for (const id of ["status", "queue-size", "tabs", "logout"]) $(id).hidden = true;
  $("caller").textContent = "";
  document.querySelectorAll(".page").forEach((p) => (p.hidden = true));
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-error").className = neutral ? "note" : "error";
  $("login-token").focus();
}

function showApp(session) {
  state.csrf = session.csrf;
  $("login").hidden = true;
  $("login-token").value = "";
  for (const id of ["status", "queue-size", "tabs", "logout"]) $(id).hidden = false;
  $("caller").textContent = session.caller;
  route();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, POLL_MS);
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  $("login-error").className = "error";
  try {
    showApp(await call("login", { token: $("login-token").value }));
  } catch (e) {
    $("login-error").textContent = e.status === 401 ? "That token is not valid." : e.message;
  }
}

async function logout() {
  try { await call("logout", {}); } catch (e) { /* gone already */ }
  showLogin("Signed out.", true);
}

// --- navigation ------------------------------------------------------------

function route() {
  const tab = (location.hash || "#overview").slice(1);
  state.tab = ["overview", "sites", "queue", "campaigns", "feed"].includes(tab) ? tab : "overview";
  document.querySelectorAll(".page").forEach((p) => (p.hidden = p.id !== "page-" + state.tab));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.tab === state.tab));
  refresh();
}

async function refresh() {
  if (!state.csrf) return;
  try {
    const overview = await call("overview");
    showHeader(overview);
    if (state.tab === "overview") showOverview(overview);
    else if (state.tab === "sites") showSites(await call("sites"));
    else if (state.tab === "queue") await loadQueue(false);
    else if (state.tab === "campaigns") showCampaigns(await call("campaigns"));
    else if (state.tab === "feed") showFeed(await call("feed"));
  } catch (e) {
    if (e.status !== 401) toast("Cannot refresh: " + e.message, true);
  }
}

// --- overview --------------------------------------------------------------

const STATUS_TEXT = { flowing: "Mail is flowing", stalled: "Mail waits: nothing delivered in 5 min", idle: "Idle: nothing waits" };

function showHeader(o) {
  $("status").className = "status status-" + o.status;
  $("status-text").textContent = STATUS_TEXT[o.status] || o.status;
  $("queue-size").textContent = `${num(o.queue.messages)} queued` + (o.queue.held ? `, ${num(o.queue.held)} held` : "");
}

function showOverview(o) {
  const m = o.minutes, last = m.t.length - 1;
  const card = (id, value, sub) => {
    $(id).querySelector(".value").textContent = num(value);
    $(id).querySelector(".sub").textContent = sub;
  };
  card("card-queued", o.queue.messages, `${num(o.queue.active)} being delivered, ${num(o.queue.held)} held`);
  for (const k of ["received", "delivered", "deferred", "bounced"]) {
    card("card-" + k, o.last_hour[k], `last 60 min · ${num(m[k][last])} this minute`);
  }
  drawChart("traffic", [m.t, m.received, m.delivered, m.deferred, m.bounced],
    ["received", "delivered", "deferred", "bounced"]);
  drawChart("depth", [m.t, m.depth], ["depth"]);
}

const hhmm = (t) => new Date(t * 1000).toTimeString().slice(0, 5);

function drawChart(name, data, keys) {
  const box = $("chart-" + name);
  const width = Math.max(300, box.clientWidth);
  if (!window.uPlot) return;
  if (state.charts[name] && state.charts[name].width === width) {
    state.charts[name].plot.setData(data);
    return;
  }
  if (state.charts[name]) state.charts[name].plot.destroy();
  const series = [{}].concat(keys.map((k) => ({
    // Depth is sampled, not counted: its points show, so one sample is seen.
    label: k === "depth" ? "queued" : k, stroke: COLORS[k], width: 2, points: { show: k === "depth", size: 5 },
    fill: k === "depth" ? "rgba(109,40,217,0.08)" : undefined, spanGaps: k === "depth",
  })));
  const plot = new uPlot({ width, height: 240, series, scales: { y: { range: (u, min, max) => [0, Math.max(5, max)] } },
    axes: [{ stroke: "#4b5563", grid: { stroke: "#eef0f3" }, values: (u, ticks) => ticks.map(hhmm) },
      { stroke: "#4b5563", grid: { stroke: "#eef0f3" } }] }, data, box);
  state.charts[name] = { plot, width };
}

// --- sites -----------------------------------------------------------------

function showSites(data) {
  const body = $("sites-table").tBodies[0];
  body.replaceChildren();
  $("sites-count").textContent = `(${data.sites.length})`;
  $("sites-empty").hidden = data.sites.length > 0;
  for (const s of data.sites) {
    const suspended = s.state === "suspended";
    const duration = el("select", { "aria-label": "For how long" },
      el("option", { value: "0" }, "until resumed"), el("option", { value: "900" }, "15 min"),
      el("option", { value: "3600" }, "1 h"), el("option", { value: "14400" }, "4 h"));
    const act = suspended
      ? el("button", { class: "small resume", onclick: () => siteAction("resume", { site: s.site }) }, "Resume")
      : el("button", { class: "small suspend", onclick: () => siteAction("suspend", { site: s.site, seconds: Number(duration.value) }) }, "Suspend");
    body.append(el("tr", { data: { site: s.site } },
      el("td", {}, el("strong", {}, s.site), el("div", { class: "note" }, s.domains.join(", "))),
      el("td", {}, el("span", { class: "pill " + s.state }, s.state),
        suspended ? el("div", { class: "note" }, s.suspended_until ? "until " + time(s.suspended_until) : "until resumed") : null),
      el("td", { class: "num" }, num(s.connections)), el("td", { class: "num" }, num(s.rate)),
      el("td", { class: "num" }, num(s.queued)), el("td", { class: "num" }, num(s.ready)),
      el("td", { class: "reply" }, s.last_reply || "–"),
      el("td", {}, el("div", { class: "actions" }, suspended ? null : duration, act))));
  }
}

async function siteAction(action, body) {
  try {
    await call("sites/" + action, body);
    toast(`${body.site}: ${action === "suspend" ? "suspended" : "resumed"}`);
  } catch (e) { toast(`Cannot ${action} ${body.site}: ${e.message}`, true); }
  refresh();
}

// --- queue -----------------------------------------------------------------

async function loadQueue(more) {
  const q = state.queue;
  const params = new URLSearchParams({ by: q.by, q: q.q });
  if (more && q.next) params.set("after", q.next);
  const data = await call("queue?" + params);
  q.rows = more ? q.rows.concat(data.messages) : data.messages;
  q.next = data.next;
  $("queue-note").textContent = data.scanned !== undefined ? `${num(data.scanned)} messages searched.` : "";
  showQueue();
  if (state.message) openMessage(state.message, true);
}

function stateOf(m) {
  if (m.held) return ["held", "held"];
  if (m.in_flight) return ["in flight", "in-flight"];
  return ["waiting", "pending"];
}

function showQueue() {
  const rows = state.queue.rows, body = $("queue-table").tBodies[0];
  const ids = new Set(rows.map((m) => m.id));
  for (const id of [...state.selected]) if (!ids.has(id)) state.selected.delete(id);
  body.replaceChildren();
  for (const m of rows) {
    const [label, cls] = stateOf(m);
    const box = el("input", { type: "checkbox", checked: state.selected.has(m.id), "aria-label": "Select " + m.id,
      onclick: (e) => e.stopPropagation(),
      onchange: () => { box.checked ? state.selected.add(m.id) : state.selected.delete(m.id); showSelection(); } });
    const pending = m.recipients.filter((r) => r.state === "pending").map((r) => r.address);
    body.append(el("tr", { class: "clickable" + (state.selected.has(m.id) ? " selected" : ""), data: { id: m.id },
      onclick: () => openMessage(m.id) },
      el("td", {}, box), el("td", { class: "mono" }, m.id), el("td", { class: "when" }, time(m.arrival)),
      el("td", {}, m.sender || "<>"),
      el("td", {}, pending.slice(0, 3).join(", ") + (pending.length > 3 ? ` +${pending.length - 3}` : "")),
      el("td", { class: "num" }, num(m.attempts)), el("td", {}, m.held ? "–" : since(m.next_attempt)),
      el("td", { class: "reply" }, m.last_error || "–"),
      el("td", {}, el("span", { class: "pill " + cls }, label))));
  }
  $("queue-empty").hidden = rows.length > 0;
  $("queue-more").hidden = !state.queue.next;
  showSelection();
}

function showSelection() {
  const n = state.selected.size;
  for (const id of ["queue-hold", "queue-release", "queue-delete"]) $(id).disabled = n === 0;
  $("queue-all").checked = n > 0 && n === state.queue.rows.length;
  document.querySelectorAll("#queue-table tbody tr").forEach((tr) => tr.classList.toggle("selected", state.selected.has(tr.dataset.id)));
}

async function queueAction(action, ids) {
  if (action === "delete" && !confirm(`Delete ${ids.length} message(s) for good? They will never be delivered.`)) return;
  try {
    const r = await call("queue/" + action, { ids });
    const past = { hold: "held", release: "released", delete: "deleted" }[action];
    toast(`${r.done.length} ${past}` + (r.unknown.length ? `, ${r.unknown.length} no longer queued` : "") +
      (r.in_flight.length ? ` (${r.in_flight.length} after the current attempt)` : ""));
    if (action === "delete") { ids.forEach((id) => state.selected.delete(id)); if (ids.includes(state.message)) closeMessage(); }
  } catch (e) { toast(`Cannot ${action}: ${e.message}`, true); }
  await loadQueue(false).catch(() => {});
}

async function flush() {
  if (!confirm("Try every waiting message now?")) return;
  try { toast(`${num((await call("queue/flush", {})).flushed)} message(s) will be tried now`); } catch (e) { toast(e.message, true); }
}

async function openMessage(id, quiet) {
  let m;
  try { m = await call("queue/message?" + new URLSearchParams({ id })); } catch (e) {
    if (!quiet) toast(e.message, true);
    if (e.status === 404) closeMessage();
    return;
  }
  state.message = id;
  $("message").hidden = false;
  $("message-title").textContent = "Message " + m.id;
  const facts = [["Sender", m.sender || "<>"], ["Arrived", time(m.arrival)], ["Size", num(m.size) + " octets"],
    ["Campaign", m.campaign || "–"], ["Tenant", m.tenant || "–"], ["Attempts", num(m.attempts)],
    ["Next attempt", m.held ? "held" : since(m.next_attempt)], ["Last error", m.last_error || "–"]];
  const dl = $("message-envelope");
  dl.replaceChildren();
  for (const [k, v] of facts) dl.append(el("dt", {}, k), el("dd", {}, v));
  dl.append(el("dt", {}, "Recipients"), el("dd", {}, ...m.recipients.map((r) =>
    el("div", {}, r.address + " ", el("span", { class: "pill " + r.state }, r.state)))));
  $("message-headers").textContent = m.headers || "(not readable)";
  const body = $("message-history").tBodies[0];
  body.replaceChildren();
  for (const e of m.history) {
    const reply = e.response ? `${e.response.code} ${e.response.enhanced_code || ""} ${e.response.text || ""}` : e.detail || "";
    body.append(el("tr", {}, el("td", {}, time(e.timestamp)), el("td", {}, e.type), el("td", {}, e.recipient || ""),
      el("td", { class: "reply" }, reply), el("td", {}, e.mx_host || e.listener || "")));
  }
  if (!m.history.length) body.append(el("tr", {}, el("td", { colSpan: 5, class: "note" }, "No events seen for it since petreld started.")));
  $("message-hold").disabled = m.held;
  $("message-release").disabled = !m.held;
}

function closeMessage() { state.message = null; $("message").hidden = true; }

// --- campaigns, bounces and suppressions --------------------------------------

function showCampaigns(data) {
  const body = $("campaigns-table").tBodies[0];
  body.replaceChildren();
  $("campaigns-count").textContent = `(${data.campaigns.length})`;
  $("campaigns-empty").hidden = data.campaigns.length > 0;
  for (const c of data.campaigns) {
    const classes = Object.entries(c.bounced_by_class).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${num(v)}`).join(", ");
    body.append(el("tr", { data: { campaign: c.campaign } }, el("td", {}, el("strong", {}, c.campaign)),
      ...["sent", "delivered", "deferred", "bounced"].map((k) => el("td", { class: "num" }, num(c[k]))),
      el("td", {}, classes || "–"), el("td", { class: "num" }, num(c.unsubscribed)),
      el("td", { class: "num" }, num(c.complained)), el("td", {}, time(c.last))));
  }
}

function showFeed(data) {
  const fill = (name, rows, cells) => {
    const body = $(name + "-table").tBodies[0];
    body.replaceChildren(...rows.map((e) => el("tr", {}, ...cells(e).map((c) => el("td", { class: c[1] || "" }, c[0] || "–")))));
    $(name + "-count").textContent = `(${rows.length})`;
    $(name + "-empty").hidden = rows.length > 0;
  };
  const reply = (e) => (e.response ? `${e.response.code} ${e.response.enhanced_code || ""} ${e.response.text || ""}` : "");
  fill("bounces", data.bounces, (e) => [[time(e.timestamp)], [e.recipient], [e.type === "Expiration" ? "expired" : e.bounce_class],
    [reply(e) || e.detail, "reply"], [e.site], [e.campaign]]);
  fill("suppressions", data.suppressions, (e) => [[time(e.timestamp)], [e.type], [e.recipient], [e.detail, "reply"], [e.campaign]]);
}

// --- start -------------------------------------------------------------------

function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => state.tab === "overview" && refresh());
  $("queue-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.queue.by = $("queue-by").value;
    state.queue.q = $("queue-q").value.trim();
    loadQueue(false).catch((err) => toast(err.message, true));
  });
  $("queue-more").addEventListener("click", () => loadQueue(true).catch((err) => toast(err.message, true)));
  $("queue-all").addEventListener("change", (e) => {
    state.queue.rows.forEach((m) => (e.target.checked ? state.selected.add(m.id) : state.selected.delete(m.id)));
    showQueue();
  });
  for (const action of ["hold", "release", "delete"]) {
    $("queue-" + action).addEventListener("click", () => queueAction(action, [...state.selected]));
    $("message-" + action).addEventListener("click", () => state.message && queueAction(action, [state.message]));
  }
  $("queue-flush").addEventListener("click", flush);
  $("message-close").addEventListener("click", closeMessage);
  call("session").then(showApp, () => showLogin(""));
}

document.addEventListener("DOMContentLoaded", start);
