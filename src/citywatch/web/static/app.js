// CityWatch dashboard: vanilla JS, no external assets (works fully offline).
"use strict";
const state = { token: null, role: null, scenario: null, plan: null, roster: null };
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { logout(); throw new Error("signed out"); }
  if (!r.ok) {
    let msg = r.status + "";
    try { msg += ": " + JSON.stringify((await r.json()).detail); } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}
const getJSON = async (path) => (await api("GET", path)).json();

function logout() {
  state.token = null;
  $("app").hidden = true;
  $("login").hidden = false;
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const r = await fetch("/api/auth/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }),
  });
  if (!r.ok) {
    const d = await r.json().catch(() => ({}));
    $("login-error").textContent = "Sign-in failed: " + (d.detail || r.status);
    return;
  }
  const t = await r.json();
  state.token = t.access_token;
  state.role = t.role;
  $("who").textContent = t.name + " (" + t.role + ")";
  $("login").hidden = true;
  $("app").hidden = false;
  const planner = t.role === "planner", approver = t.role === "approver";
  document.querySelectorAll(".planner-only").forEach((e) => { e.hidden = !planner; });
  document.querySelectorAll(".roster-only").forEach((e) => { e.hidden = !(planner || approver); });
  await loadScenarios();
});

async function loadScenarios() {
  const list = await getJSON("/api/scenarios");
  const sel = $("scenario");
  sel.innerHTML = "";
  for (const s of list) {
    const o = document.createElement("option");
    o.value = s.id; o.textContent = s.name + " v" + s.latest_version;
    sel.appendChild(o);
  }
  if (list.length) await loadScenario(list[0].id);
}

async function loadScenario(id) {
  state.scenario = await getJSON("/api/scenarios/" + id);
  const slot = $("slot");
  slot.innerHTML = "";
  for (const s of state.scenario.slots) {
    const o = document.createElement("option");
    o.value = s; o.textContent = s;
    slot.appendChild(o);
  }
  slot.selectedIndex = Math.min(3, state.scenario.slots.length - 1);
  state.plan = null;
  await loadPlans();
  draw();
}

async function loadPlans() {
  const plans = await getJSON("/api/plans?scenario_id=" + state.scenario.id + "&limit=20");
  const sel = $("plan-select");
  sel.innerHTML = "";
  for (const p of plans) {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = "#" + p.id + " v" + p.scenario_version + " " + p.status + (p.approved ? " ✔" : "");
    sel.appendChild(o);
  }
  const done = plans.find((p) => p.status === "done");
  if (done) { sel.value = done.id; await showPlan(done.id); }
}

async function showPlan(id) {
  state.plan = await getJSON("/api/plans/" + id);
  state.roster = null;
  $("roster-download").disabled = true;
  renderPlan();
}

function renderPlan() {
  const p = state.plan;
  $("plan-status").textContent = p ? "Plan #" + p.id + ": " + p.status + (p.status === "running" || p.status === "queued" ? " (" + p.stage + ")" : "") : "";
  if (!p || p.status !== "done") { $("approve").hidden = true; draw(); return; }
  const r = p.result;
  $("plan-summary").innerHTML = "";
  const d = document.createElement("div");
  d.innerHTML = "<b>Threat level</b> " + r.threat_level + " · <b>expected casualties per attack</b> " +
    r.expected_casualties_per_attack.toFixed(2) + " (people killed or injured)" +
    " · <b>game value</b> " + Number(r.defender_utility).toFixed(2) +
    " casualty-equivalents · <b>method</b> " + r.method +
    (r.gap !== null && r.gap !== undefined ? " (gap " + Number(r.gap).toPrecision(3) + ")" : "");
  const s = document.createElement("p");
  s.textContent = r.summary;
  $("plan-summary").append(d, s);
  $("approval").innerHTML = p.approved
    ? '<span class="approved" id="approved-flag">Approved by ' + p.approvals.map((a) => a.approver).join(", ") + "</span>"
    : "Not approved yet.";
  $("approve").hidden = !(state.role === "approver" && !p.approved);
  draw();
}

function coverageColour(c) {
  // red (0) → yellow (0.5) → green (1)
  const h = 120 * Math.max(0, Math.min(1, c));
  return "hsl(" + h + ",70%,45%)";
}

function draw() {
  const sc = state.scenario;
  if (!sc) return;
  const slot = $("slot").value;
  const b = sc.bounds;
  const k = Math.cos(((b.min_lat + b.max_lat) / 2) * Math.PI / 180);
  const W = 900, H = Math.round(W * (b.max_lat - b.min_lat) / ((b.max_lon - b.min_lon) * k));
  const x = (lon) => ((lon - b.min_lon) / (b.max_lon - b.min_lon)) * W;
  const y = (lat) => H - ((lat - b.min_lat) / (b.max_lat - b.min_lat)) * H;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("id", "map-svg");
  const el = (name, attrs, parent) => {
    const e = document.createElementNS(SVG, name);
    for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
    (parent || svg).appendChild(e);
    return e;
  };
  const plan = state.plan && state.plan.status === "done" ? state.plan.result : null;
  const cov = {}, resp = plan ? plan.response_minutes[slot] || {} : {};
  if (plan) for (const row of plan.coverage) if (row.slot === slot) cov[row.site] = row.coverage;
  // response-time cells: each cell takes the expected response minutes of its nearest site
  if (plan) {
    const cells = el("g", { id: "cells", opacity: 0.35 });
    const nx = 45, ny = Math.max(10, Math.round(nx * H / W)), cw = W / nx, ch = H / ny;
    const pts = sc.sites.map((s) => [x(s.lon), y(s.lat), resp[s.id]]);
    for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
      const cx = (i + 0.5) * cw, cy = (j + 0.5) * ch;
      let best = Infinity, m = null;
      for (const [px, py, mins] of pts) {
        const d = (px - cx) ** 2 + (py - cy) ** 2;
        if (d < best) { best = d; m = mins; }
      }
      if (m === null || m === undefined || best > (W / 8) ** 2) continue;
      const t = Math.max(0, Math.min(1, (m - 4) / 16));
      el("rect", { x: i * cw, y: j * ch, width: cw + 0.5, height: ch + 0.5,
        fill: "hsl(" + (210 - 210 * t) + ",60%," + (80 - 25 * t) + "%)" }, cells)
        .appendChild(document.createElementNS(SVG, "title")).textContent = m.toFixed(1) + " min response";
    }
  }
  const zones = el("g", { id: "zones" });
  for (const z of sc.zones) {
    el("circle", { cx: x(z.lon), cy: y(z.lat), r: 2, fill: "#7f8c8d" }, zones);
    const t = el("text", { x: x(z.lon) + 3, y: y(z.lat) - 3, "font-size": 9, fill: "#566573" }, zones);
    t.textContent = z.name;
  }
  const maxPeople = Math.max(1, ...sc.sites.map((s) => s.people[slot] || 0));
  const sites = el("g", { id: "sites" });
  const order = [...sc.sites].sort((a, b2) => (b2.people[slot] || 0) - (a.people[slot] || 0));
  for (const s of order) {
    const c = cov[s.id];
    const r = 2 + 16 * Math.sqrt((s.people[slot] || 0) / maxPeople);
    const circle = el("circle", { cx: x(s.lon), cy: y(s.lat), r: r.toFixed(2), class: "site",
      "data-site": s.id, fill: c === undefined ? "#95a5a6" : coverageColour(c),
      "fill-opacity": 0.8, stroke: "#222", "stroke-width": 0.5 }, sites);
    const title = document.createElementNS(SVG, "title");
    title.textContent = s.name + ": " + Math.round(s.people[slot] || 0) + " people" +
      (c === undefined ? "" : ", coverage " + c.toFixed(2)) +
      (resp[s.id] === undefined ? "" : ", response " + resp[s.id].toFixed(1) + " min");
    circle.appendChild(title);
  }
  if (plan) {
    const posts = el("g", { id: "arv-posts" });
    const byId = Object.fromEntries(sc.standby.map((p) => [p.id, p]));
    for (const pid of plan.arv_posts[slot] || []) {
      const p = byId[pid];
      if (!p) continue;
      const sq = el("rect", { x: x(p.lon) - 4, y: y(p.lat) - 4, width: 8, height: 8,
        fill: "#1f3a93", stroke: "#fff", "stroke-width": 1, class: "arv" }, posts);
      const title = document.createElementNS(SVG, "title");
      title.textContent = "ARV post: " + p.name;
      sq.appendChild(title);
    }
  }
  const mark = el("text", { x: W - 6, y: 14, "text-anchor": "end", "font-size": 12,
    "font-weight": "bold", fill: "#b00020" });
  mark.textContent = "OFFICIAL-SENSITIVE";
  $("map").replaceChildren(svg);
  // ranked list
  const list = $("site-list");
  list.innerHTML = "";
  const ranked = [...sc.sites].sort((a, b2) => (cov[b2.id] ?? -1) - (cov[a.id] ?? -1) ||
    (b2.people[slot] || 0) - (a.people[slot] || 0));
  for (const s of ranked.slice(0, 40)) {
    const li = document.createElement("li");
    li.textContent = s.name + " — " + (cov[s.id] === undefined ? "no plan" : "coverage " + cov[s.id].toFixed(2)) +
      ", " + Math.round(s.people[slot] || 0) + " people" +
      (resp[s.id] === undefined ? "" : ", " + resp[s.id].toFixed(1) + " min");
    list.appendChild(li);
  }
}

$("scenario").addEventListener("change", (e) => loadScenario(e.target.value));
$("slot").addEventListener("change", draw);
$("plan-select").addEventListener("change", (e) => showPlan(e.target.value));

$("run-plan").addEventListener("click", async () => {
  const body = { scenario_id: state.scenario.id, version: state.scenario.version,
    attacker: $("attacker").value, arv: $("arv").value };
  let p = await (await api("POST", "/api/plans", body)).json();
  state.plan = p;
  $("plan-progress").hidden = false;
  while (p.status === "queued" || p.status === "running") {
    $("plan-progress").value = p.progress;
    renderPlan();
    await new Promise((res) => setTimeout(res, 400));
    p = await getJSON("/api/plans/" + p.id);
    state.plan = p;
  }
  $("plan-progress").hidden = true;
  if (p.status === "failed") $("plan-status").textContent = "Plan #" + p.id + " failed: " + p.error;
  await loadPlansKeep(p.id);
});

async function loadPlansKeep(id) {
  await loadPlans();
  $("plan-select").value = id;
  await showPlan(id);
}

$("approve").addEventListener("click", async () => {
  state.plan = await (await api("POST", "/api/plans/" + state.plan.id + "/approve", { comment: "approved from dashboard" })).json();
  renderPlan();
});

$("roster-gen").addEventListener("click", async () => {
  $("roster-status").textContent = "Sampling roster…";
  const days = Number($("roster-days").value) || 7;
  state.roster = await (await api("POST", "/api/plans/" + state.plan.id + "/rosters", { days })).json();
  $("roster-status").textContent = "Roster #" + state.roster.id + ": " + state.roster.missions.length +
    " missions from " + state.roster.start + " (" + state.roster.days + " days).";
  $("roster-download").disabled = false;
});

$("roster-download").addEventListener("click", async () => {
  const fmt = $("roster-format").value;
  const r = await api("GET", "/api/rosters/" + state.roster.id + "/export?format=" + fmt);
  const blob = await r.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "roster-" + state.roster.id + (fmt === "csv" ? ".csv" : "-" + fmt + ".zip");
  document.body.appendChild(a);
  a.click();
  a.remove();
});

$("whatif-run").addEventListener("click", async () => {
  $("whatif-result").textContent = "Re-planning and simulating…";
  const body = { add_officers: Number($("whatif-officers").value) || 0, n: 20000,
    arv: $("arv").value };
  if ($("whatif-threat").value) body.threat_level = $("whatif-threat").value;
  try {
    const w = (await (await api("POST", "/api/scenarios/" + state.scenario.id + "/whatif?version=" + state.scenario.version, body)).json()).result;
    const rows = Object.keys(w.change).filter((k) => typeof w.change[k] === "number");
    let html = "<p>" + (w.changes.join("; ") || "no change") + "</p><table id='whatif-table'><tr><th></th><th>before</th><th>after</th><th>change</th></tr>";
    const f = (v) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : "");
    for (const k of rows) html += "<tr><td>" + k.replaceAll("_", " ") + "</td><td>" + f(w.before[k]) + "</td><td>" + f(w.after[k]) + "</td><td>" + f(w.change[k]) + "</td></tr>";
    $("whatif-result").innerHTML = html + "</table>";
  } catch (e) {
    $("whatif-result").textContent = "What-if failed: " + e.message;
  }
});
