// The Portask console: a page per hash route, each drawn from the broker's JSON API
// (/api/...). No framework and nothing fetched from elsewhere: the broker serves this file.
"use strict";

const main = document.getElementById("main");
let timer = null;  // the current page's next refresh, cancelled when the page changes
let visit = 0;     // counts page changes: a page still loading when another opens stays quiet
const answer_within_ms = 10000;  // how long a request waits for the broker's whole answer

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : String(c ?? ""));
  return el;
}

// A request and its JSON body ({} when the body is not JSON), given up after answer_within_ms:
// a broker that stopped answering must not leave a page loading, or a refresh that schedules
// the next one only once it has settled, waiting for ever. `url` is a path on this broker,
// asked for at the page's origin: resolved against the page's address instead, it would keep
// the user and password of a console opened as http://user:password@host:port/, and fetch
// refuses a URL with credentials (the browser sends those it was given with the page anyway).
async function request(url, options = {}) {
  const abort = new AbortController();
  const limit = setTimeout(() => abort.abort(), answer_within_ms);
  try {
    const res = await fetch(location.origin + url, { ...options, signal: abort.signal });
    const body = await res.json().catch(() => ({}));
    if (abort.signal.aborted) throw new Error("aborted");  // the body was cut short: said below
    return { res, body };
  } catch (e) {
    throw abort.signal.aborted ? new Error(`no answer from the broker within ${answer_within_ms / 1000} s`) : e;
  } finally {
    clearTimeout(limit);
  }
}

async function api(path, options) {
  const { res, body } = await request("/api" + path, options);
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

// One page of a list (`url` is /api/topics or /api/groups, or a next page's address) and the
// next page's address, which the broker gives in a Link header (rel="next") while names
// follow, or null.
async function api_page(url) {
  const { res, body } = await request(url);
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  const next = /<([^>]*)>\s*;\s*rel="?next"?/.exec(res.headers.get("link") || "");
  // Followed only to where the list itself is: the header names a page of the same list.
  return { list: body, next: next && next[1].startsWith(url.split("?")[0] + "?") ? next[1] : null };
}

function table(headers, rows, numeric = []) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((t, i) => h("th", { class: numeric.includes(i) ? "num" : null }, t)))),
    h("tbody", {}, rows.map(r => h("tr", {}, r.map((c, i) =>
      c instanceof Node && c.tagName === "TD" ? c : h("td", { class: numeric.includes(i) ? "num" : null }, c))))));
}

function fmt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }
function bytes(n) {
  if (n === null || n === undefined || n < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}
function link(href, text) { return h("a", { href }, text); }
function show(...nodes) { main.replaceChildren(...nodes); }
function failure(e) { return h("p", { class: "error", role: "alert" }, "Error: " + e.message); }

// A list page's heading: the count is the list's only when the page holds all of it.
function counted(title, list, first, next) {
  return first && !next ? `${title} (${list.length})` : `${title} (${list.length} on this page)`;
}

// The buttons under a list page: back to the first page, and on to the next while there is
// one. Each opens its page as a new visit (turn), as a change of route would.
function pager(first, next, list_page) {
  return h("p", { class: "pager" },
    first ? [] : h("button", { type: "button", onclick: () => turn(mine => list_page(mine)) }, "First page"),
    next ? h("button", { type: "button", onclick: () => turn(mine => list_page(mine, next)) }, "Next page")
         : []);
}

// A line chart of rates on a canvas: one series per colour, the last `points` samples.
function chart(canvas, series) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width = canvas.clientWidth * devicePixelRatio;
  const ht = canvas.height = canvas.clientHeight * devicePixelRatio;
  ctx.clearRect(0, 0, w, ht);
  const all = series.flatMap(s => s.values);
  const max = Math.max(1, ...all);
  ctx.font = `${12 * devicePixelRatio}px system-ui`;
  ctx.fillStyle = "#5c6b7a";
  ctx.fillText(fmt(Math.round(max)) + "/s", 4, 14 * devicePixelRatio);
  series.forEach((s, si) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const x = (i / Math.max(1, s.values.length - 1)) * w;
      const y = ht - (v / max) * (ht - 20 * devicePixelRatio);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = s.colour;
    ctx.fillText(s.name, w - 160 * devicePixelRatio, (16 + 14 * si) * devicePixelRatio);
  });
}

// -- pages ----------------------------------------------------------------------------------

async function overview(mine) {
  const history = { in: [], out: [] };
  let last = null;
  const cards = h("div", { class: "cards" });
  const canvas = h("canvas", { id: "rates", "aria-label": "messages per second" });
  show(h("section", {}, h("h2", {}, "Broker"), cards),
       h("section", {}, h("h2", {}, "Throughput (messages per second)"), canvas));
  async function refresh() {
    const o = await api("/overview");
    if (mine !== visit) return;
    const now = performance.now();
    if (last) {
      const secs = (now - last.at) / 1000;
      history.in.push(Math.max(0, (o.messages_in - last.o.messages_in) / secs));
      history.out.push(Math.max(0, (o.messages_out - last.o.messages_out) / secs));
      for (const k of ["in", "out"]) if (history[k].length > 60) history[k].shift();
    }
    last = { o, at: now };
    cards.replaceChildren(...[
      [o.version, "version"], [o.store, "store"], [fmt(o.topics), "topics"],
      [fmt(o.partitions), "partitions"], [fmt(o.groups), "consumer groups"],
      [fmt(o.connections), "connections"], [fmt(o.messages_in), "messages in"],
      [fmt(o.messages_out), "messages out"],
    ].map(([n, l]) => h("div", { class: "card" }, h("div", { class: "n" }, n), h("div", { class: "l" }, l))));
    chart(canvas, [{ name: "produced", colour: "#1f6feb", values: history.in },
                   { name: "consumed", colour: "#1a7f37", values: history.out }]);
  }
  // The next refresh is scheduled once this one has settled: a slow broker is asked one
  // question at a time, so requests do not pile up and the rates come from answers in
  // order. One that failed shows why, and the page keeps trying (the broker may come back).
  async function tick() {
    try {
      await refresh();
    } catch (e) {
      if (mine === visit) cards.replaceChildren(failure(e));
    }
    if (mine === visit) timer = setTimeout(tick, 2000);  // else the reader moved on
  }
  await tick();
}

async function topics(mine, url = "/api/topics") {
  const { list, next } = await api_page(url);
  if (mine !== visit) return;
  const first = url === "/api/topics";
  const again = () => turn(m => topics(m, url));  // this page once more, after a change
  const name = h("input", { name: "name", required: "", pattern: "[a-zA-Z0-9._\\-]+", "aria-label": "topic name" });
  const parts = h("input", { name: "partitions", type: "number", min: "1", value: "1", "aria-label": "partitions" });
  const status = h("span", { class: "muted" });
  const form = h("form", {
    onsubmit: async ev => {
      ev.preventDefault();
      try {
        await api("/topics", { method: "POST", headers: { "content-type": "application/json" },
                               body: JSON.stringify({ name: name.value, partitions: Number(parts.value) }) });
        again();
      } catch (e) { status.replaceChildren(failure(e)); }
    }
  }, h("label", {}, "Name", name), h("label", {}, "Partitions", parts), h("button", {}, "Create topic"), status);
  const rows = list.map(t => [
    link("#/topics/" + t.path, t.name), fmt(t.partitions), fmt(t.messages), bytes(t.bytes),
    h("td", {}, h("button", { class: "danger", onclick: async () => {
      if (!confirm(`Delete topic ${t.name} and all its messages?`)) return;
      try { await api("/topics/" + t.path, { method: "DELETE" }); again(); }
      catch (e) { status.replaceChildren(failure(e)); }
    } }, "Delete")),
  ]);
  show(h("section", {}, h("h2", {}, counted("Topics", list, first, next)),
         table(["Topic", "Partitions", "Messages", "Stored", ""], rows, [1, 2, 3]),
         pager(first, next, topics)),
       h("section", {}, h("h2", {}, "New topic"), form));
}

function render_bytes(v, as) {
  if (v === null || v === undefined) return h("span", { class: "muted" }, "null");
  if (as === "hex") return Array.from(v.bytes).map(b => b.toString(16).padStart(2, "0")).join(" ");
  if (as === "json") {
    try { return JSON.stringify(JSON.parse(v.text), null, 2); } catch { return v.text; }
  }
  return v.text;
}

// A record's timestamp as a date, or as the number it is when no date has it (-1: none;
// producers may stamp any 64-bit value).
function when(ts) {
  if (typeof ts !== "number" || ts < 0) return String(ts);
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

function decode(field) {
  if (field === null || field === undefined) return null;
  const bin = atob(field);
  const bytes = Uint8Array.from(bin, c => c.charCodeAt(0));
  return { bytes, text: new TextDecoder("utf-8", { fatal: false }).decode(bytes) };
}

// `path`: the topic's name as a path segment (segment()).
async function topic(path, mine) {
  const t = await api("/topics/" + path);
  if (mine !== visit) return;
  const partition = h("select", { name: "partition", "aria-label": "partition" },
                      t.partitions.map(p => h("option", { value: p.partition }, p.partition)));
  const from = h("input", { name: "from", value: "earliest", "aria-label": "from",
                            title: "earliest, latest, an offset, -N or @timestamp (ms)" });
  const limit = h("input", { name: "limit", type: "number", value: "50", min: "1", max: "500", "aria-label": "limit" });
  const as = h("select", { name: "as", "aria-label": "show as" }, ["text", "json", "hex"].map(f => h("option", { value: f }, f)));
  const out = h("div", { id: "messages" });
  async function browse(ev) {
    ev?.preventDefault();
    try {
      const q = new URLSearchParams({ partition: partition.value, from: from.value, limit: limit.value });
      const r = await api(`/topics/${path}/messages?${q}`);
      out.replaceChildren(table(["Offset", "Timestamp", "Key", "Headers", "Value"],
        r.messages.map(m => [fmt(m.offset), when(m.timestamp),
          h("td", { class: "value" }, render_bytes(decode(m.key), as.value)),
          h("td", { class: "value" }, m.headers.map(x => `${decode(x.key).text}=${x.value === null ? "" : decode(x.value).text}`).join("\n")),
          h("td", { class: "value" }, render_bytes(decode(m.value), as.value))]), [0]),
        h("p", { class: "muted" }, `${r.messages.length} messages; next offset ${r.next_offset}, high watermark ${r.high_watermark}`));
    } catch (e) { out.replaceChildren(failure(e)); }
  }
  show(h("section", {}, h("h2", {}, "Topic " + t.name),
         table(["Partition", "Log start", "High watermark", "Messages", "Stored"],
               t.partitions.map(p => [p.partition, fmt(p.log_start), fmt(p.high_watermark), fmt(p.messages), bytes(p.bytes)]),
               [0, 1, 2, 3, 4])),
       h("section", {}, h("h2", {}, "Configs"),
         Object.keys(t.configs).length
           ? table(["Config", "Value"], Object.entries(t.configs))
           : h("p", { class: "muted" }, "Broker defaults")),
       h("section", {}, h("h2", {}, "Messages"),
         h("form", { onsubmit: browse }, h("label", {}, "Partition", partition), h("label", {}, "From", from),
           h("label", {}, "Limit", limit), h("label", {}, "Show as", as), h("button", {}, "Browse")), out));
  await browse();
}

async function groups(mine, url = "/api/groups") {
  const { list, next } = await api_page(url);
  if (mine !== visit) return;
  const first = url === "/api/groups";
  show(h("section", {}, h("h2", {}, counted("Consumer groups", list, first, next)),
    table(["Group", "State", "Type", "Members", "Lag"],
      list.map(g => [link("#/groups/" + g.path, g.group), g.state, g.protocol_type || "–",
                     fmt(g.members), fmt(g.lag)]), [3, 4]),
    pager(first, next, groups)));
}

// `path`: the group id as a path segment (segment()).
async function group(path, mine) {
  const g = await api("/groups/" + path);
  if (mine !== visit) return;
  show(h("section", {}, h("h2", {}, `Group ${g.group}`),
         h("p", {}, `${g.state}, ${g.members.length} members, ${g.protocol_type || "no protocol"} ${g.protocol || ""}, generation ${g.generation}; total lag `,
           h("strong", { id: "total-lag" }, fmt(g.lag)))),
       h("section", {}, h("h2", {}, "Members"),
         g.members.length ? table(["Member", "Client", "Host", "Partitions"],
           g.members.map(m => [m.member_id, m.client_id || "–", m.host || "–",
                               m.assignment.map(a => `${a.topic}/${a.partition}`).join(", ")]))
           : h("p", { class: "muted" }, "No members")),
       h("section", {}, h("h2", {}, "Offsets and lag"),
         table(["Topic", "Partition", "Committed", "High watermark", "Lag", "Member"],
           g.partitions.map(p => [p.topic, p.partition, fmt(p.committed), fmt(p.high_watermark), fmt(p.lag), p.member || "–"]),
           [1, 2, 3, 4])));
}

// -- routing --------------------------------------------------------------------------------

// Each page is given its visit number and draws nothing once the reader has moved on: a
// slow answer for the page they left must not replace the one they opened since.
function new_visit() {
  clearTimeout(timer);
  timer = null;
  return ++visit;
}

// Draws a page as visit `mine`: ready once drawn, or why not, unless the reader moved on.
async function draw(mine, page) {
  try {
    await page();
    if (mine === visit) main.dataset.ready = "true";
  } catch (e) {
    if (mine === visit) show(failure(e));
  }
}

// Another page of the list shown (its pager), or the same one again after a change: a visit
// of its own, at the same address.
function turn(open) {
  const mine = new_visit();
  return draw(mine, () => open(mine));
}

// A topic or group name from the page's address as a path segment of the API. Kept encoded:
// the lists link to each name by the bytes the broker gave as its `path`, and a group id
// need not be UTF-8, which decoding would turn into U+FFFD (another group, or none). A `%`
// that begins no `%XX`, and anything but RFC 3986's unreserved characters that the address
// has as it is (typed in, or a space a browser left), are encoded here.
function segment(s) {
  return s.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~%]/gu, c => encodeURIComponent(c));
}

async function route() {
  const mine = new_visit();
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const page = parts[0] || "overview";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page);
  main.dataset.page = page;
  await draw(mine, async () => {
    if (page === "topics" && parts[1]) await topic(segment(parts[1]), mine);
    else if (page === "topics") await topics(mine);
    else if (page === "groups" && parts[1]) await group(segment(parts[1]), mine);
    else if (page === "groups") await groups(mine);
    else await overview(mine);
  });
}

// The health badge, asked every 5 s once the last answer has settled (one request at a time,
// however slow the broker). A refusal (401, 403, 429) has no status, only an error. Kinds of
// actor in a crash loop leave the status ok (the store answers) but turn the badge red.
async function health() {
  const badge = document.getElementById("health");
  try {
    const { res, body } = await request("/health");
    const loops = Array.isArray(body.crash_loop) ? body.crash_loop : [];
    badge.textContent = body.status
      ? `${body.status} · store ${body.store}` + (loops.length ? ` · crash loop: ${loops.join(", ")}` : "")
      : body.error || `HTTP ${res.status}`;
    badge.className = "badge " + (res.ok && body.status && !loops.length ? "ok" : "bad");
  } catch (e) {
    badge.textContent = "unreachable";
    badge.className = "badge bad";
  }
  badge.title = badge.textContent;  // the whole text, should the badge cut it short
  setTimeout(health, 5000);
}

window.addEventListener("hashchange", route);
route();
health();
