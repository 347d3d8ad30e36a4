// petrel catch's web view: the list of caught messages, refreshed every
// 2 s from /api/v1/caught, and the selected one from /api/v1/caught/{id}.
// Everything a client sent is put in the page as text (textContent), never
// as markup; a message's HTML is shown only in a sandboxed frame.
"use strict";

const POLL_MS = 2000;
let selected = null;     // id of the message shown
let shownReport = null;  // its session, to fetch again once the report is written
let tab = "report";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function badge(level) {
  const label = level ? level.toUpperCase() : "OPEN";
  return el("span", { class: "badge " + (level || "open"), title: level ? "" : "session still open" }, label);
}

function size(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

// -- the list ---------------------------------------------------------------

function row(m) {
  const tr = el("tr", { "data-id": m.id },
    el("td", {}, badge(m.verdict)),
    el("td", { class: "message" },
      el("div", { class: "subject", title: m.subject }, m.subject || "(no subject)"),
      el("div", { class: "addr", title: m.from + " \u2192 " + m.to },
        el("span", { class: "from" }, m.from || "(no From:)"), " \u2192 ", el("span", { class: "to" }, m.to || "(no To:)"))),
    el("td", { class: "time", title: m.received }, when(m.received)),
    el("td", { class: "size" }, size(m.size)));
  if (m.id === selected) tr.classList.add("selected");
  tr.addEventListener("click", () => select(m.id));
  return tr;
}

async function refreshList() {
  try {
    const list = await getJson("/api/v1/caught?limit=100");
    const body = $("list").tBodies[0];
    body.replaceChildren(...list.messages.map(row));
    $("empty").hidden = list.messages.length > 0;
    $("count").textContent = list.total === 1 ? "1 message" : list.total + " messages";
    $("live").classList.remove("stale");
    // The shown message's session has ended since: show its report.
    const current = list.messages.find((m) => m.id === selected);
    if (current && current.session && !shownReport) await select(selected, true);
  } catch (e) {
    $("live").classList.add("stale");
  }
}

// -- one message ------------------------------------------------------------

function meta(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", {}, v));
  }
}

function showCard(report) {
  $("no-report").hidden = !!report;
  const body = $("card").tBodies[0];
  body.replaceChildren();
  if (!report) {
    $("session").replaceChildren();
    return;
  }
  const counts = { fail: 0, warn: 0, pass: 0, info: 0 };
  for (const c of report.card || []) counts[c.level] = (counts[c.level] || 0) + 1;
  const summary = el("span", { class: "summary" }, badge(report.verdict));
  for (const level of ["fail", "warn", "pass", "info"]) {
    if (counts[level]) summary.append(el("span", { class: "badge " + level }, counts[level] + " " + level));
  }
  meta($("session"), [
    ["Verdict", summary],
    ["Client", report.client],
    ["Greeting", [report.greeting, report.helo_name].filter(Boolean).join(" ")],
    ["TLS", report.tls || "none"],
    ["AUTH", report.auth || "none"],
    ["Offered", (report.offered || []).join(" ") || "(none)"],
    ["Used", (report.used || []).join(" ") || "(none)"],
    ["Session", report.started + ", " + report.duration_ms + " ms, " + report.close_reason],
  ]);
  // What went wrong first: fail, warn, then the rules kept, then the facts.
  const order = { fail: 0, warn: 1, pass: 2, info: 3 };
  const rows = [...(report.card || [])].sort((a, b) => order[a.level] - order[b.level]);
  for (const c of rows) {
    const detail = c.detail ? c.detail + (c.count > 1 ? " (" + c.count + " times)" : "") : "";
    body.append(el("tr", { class: "finding " + c.level, "data-finding": c.id },
      el("td", { class: "level" }, badge(c.level)),
      el("td", {},
        el("div", { class: "title" }, c.title, " ", el("code", {}, c.id)),
        detail ? el("div", { class: "detail" }, detail) : "")));
  }
}

function showParts(m) {
  const text = m.parts.find((p) => p.content_type === "text/plain" && "text" in p);
  const html = m.parts.find((p) => p.content_type === "text/html" && "text" in p);
  $("text").textContent = text ? text.text + (text.truncated ? "\n[… cut]" : "") : "";
  document.querySelector('[data-tab="text"]').disabled = !text;
  document.querySelector('[data-tab="html"]').disabled = !html;
  const frame = $("html");
  frame.replaceChildren();
  if (html) {
    // sandbox with no allowances: no scripts, an origin of its own. The
    // part's response adds Content-Security-Policy: sandbox besides.
    const iframe = el("iframe", { sandbox: "", referrerpolicy: "no-referrer", title: "HTML part" });
    iframe.src = html.url;
    frame.append(iframe);
  }
  $("headers").tBodies[0].replaceChildren(...m.headers.map((h) => el("tr", {}, el("td", {}, h.name), el("td", {}, h.value))));
  $("parts").tBodies[0].replaceChildren(...m.parts.map((p) => el("tr", {},
    el("td", {}, p.index), el("td", {}, p.content_type + (p.charset ? "; " + p.charset : "")),
    el("td", {}, p.filename || ""), el("td", {}, size(p.size)),
    el("td", {}, el("a", { href: p.url, download: "" }, "download")))));
}

function showTab(name) {
  const button = document.querySelector(`[data-tab="${name}"]`);
  if (!button || button.disabled) name = "report";
  tab = name;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + name;
}

async function select(id, keepTab) {
  selected = id;
  for (const tr of $("list").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.id === id);
  let m;
  try {
    m = await getJson("/api/v1/caught/" + encodeURIComponent(id));
  } catch (e) {
    return;
  }
  if (selected !== id) return;  // another click since
  shownReport = m.report ? m.report.session : null;
  $("placeholder").hidden = true;
  $("detail").hidden = false;
  $("subject").textContent = m.subject || "(no subject)";
  $("raw").href = m.raw_url;
  const env = m.envelope;
  meta($("meta"), [
    ["From", m.from],
    ["To", m.to],
    ["Date", m.date ? new Date(m.date).toLocaleString() : "(none)"],
    ["Envelope", env ? env.from + " → " + env.to.join(", ") : null],
    ["Size", size(m.size) + (m.truncated ? " (view cut at 4 MiB)" : "")],
  ]);
  showCard(m.report);
  showParts(m);
  showTab(keepTab ? tab : "report");
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  refreshList();
  setInterval(refreshList, POLL_MS);
});
