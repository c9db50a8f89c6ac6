// CityWatch dashboard: vanilla JS and the vendored Leaflet (static/vendor), no external assets.
"use strict";
const state = { token: null, role: null, scenario: null, plan: null, roster: null };
const $ = (id) => document.getElementById(id);

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
    r.expected_casualties_per_attack.toFixed(2) + " · <b>method</b> " + r.method +
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

const maps = {};  // map data by "plan:<id>" or "scenario:<id>:<version>"

async function mapData(key, path) {
  if (!maps[key]) maps[key] = await getJSON(path);
  return maps[key];
}

async function drawMap() {
  const sc = state.scenario;
  if (!sc) return;
  const plan = state.plan && state.plan.status === "done" ? state.plan : null;
  const key = plan ? "plan:" + plan.id : "scenario:" + sc.id + ":" + sc.version;
  const data = await mapData(key, plan ? "/api/plans/" + plan.id + "/map"
    : "/api/scenarios/" + sc.id + "/map?version=" + sc.version);
  const slot = Math.max(0, data.slots.indexOf($("slot").value));
  if (state.mapView && state.mapKey === key) { state.mapView.setSlot(slot); return; }
  if (state.mapView) state.mapView.map.remove();
  state.mapKey = key;
  state.mapView = CityMap.draw($("map"), data, { slot, legend: false });
  $("map-legend").innerHTML = CityMap.legendHTML(data);
  window.cwMapView = state.mapView;  // for the end-to-end test
}

function draw() {
  const sc = state.scenario;
  if (!sc) return;
  drawMap().catch((e) => { $("plan-status").textContent = "Map failed: " + e.message; });
  const slot = $("slot").value;
  const plan = state.plan && state.plan.status === "done" ? state.plan.result : null;
  const cov = {}, resp = plan ? plan.response_minutes[slot] || {} : {};
  if (plan) for (const row of plan.coverage) if (row.slot === slot) cov[row.site] = row.coverage;
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
