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
  for (const id of ["app", "users-panel", "audit-panel", "role-note"]) $(id).hidden = true;
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
  try {
    await showRole(t.role);
  } catch (e) {
    // signing out while the page was still loading is not an error
    if (e.message !== "signed out") $("role-note").textContent += " (" + e.message + ")";
  }
});

// What each role may do, and a plain sentence for what it may not (the server enforces it).
const ROLE_NOTES = {
  viewer: "As a viewer you may read scenarios, plans and their maps. You may not run plans, approve them or issue rosters.",
  planner: "As a planner you may run plans, what-ifs and rosters. You may not approve plans (an approver does) or manage accounts.",
  approver: "As an approver you may approve finished plans and issue rosters from them. You may not run plans or manage accounts.",
  auditor: "As an auditor you may read and verify the audit log. You may not see scenarios or plans, or change anything.",
  admin: "As an admin you manage user accounts. You may not see scenarios, plans or rosters, or run plans: create a planner for that.",
};
const MAP_ROLES = ["viewer", "planner", "approver"];

async function showRole(role) {
  const planner = role === "planner", approver = role === "approver";
  $("role-note").textContent = ROLE_NOTES[role] || ("Role " + role + ": nothing in this dashboard.");
  $("role-note").hidden = false;
  $("app").hidden = !MAP_ROLES.includes(role);
  $("users-panel").hidden = role !== "admin";
  $("audit-panel").hidden = role !== "auditor";
  document.querySelectorAll(".planner-only").forEach((e) => { e.hidden = !planner; });
  document.querySelectorAll(".roster-only").forEach((e) => { e.hidden = !(planner || approver); });
  if (MAP_ROLES.includes(role)) await loadScenarios();
  if (role === "admin") await loadUsers();
  if (role === "auditor") await loadAudit();
}

// --- admin: user accounts (API: GET/POST /api/users, PATCH /api/users/{id}, ...) ---
async function userAction(label, fn) {
  $("users-status").textContent = "";
  try {
    await fn();
    $("users-status").textContent = label + ": done.";
  } catch (e) {
    $("users-status").textContent = label + " failed: " + e.message;
  }
  await loadUsers();
}

function userButton(text, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

async function loadUsers() {
  let users = [];
  try { users = await getJSON("/api/users"); } catch (e) {
    $("users-status").textContent = "Could not list users: " + e.message;
  }
  const body = $("users-table").querySelector("tbody");
  body.innerHTML = "";
  for (const u of users) {
    const tr = document.createElement("tr");
    tr.dataset.user = u.name;
    const name = document.createElement("td"); name.textContent = u.name;
    const role = document.createElement("td");
    const sel = document.createElement("select"); sel.className = "user-role";
    for (const r of ["viewer", "planner", "approver", "auditor", "admin"]) {
      const o = document.createElement("option"); o.value = r; o.textContent = r;
      sel.appendChild(o);
    }
    sel.value = u.role;
    sel.addEventListener("change", () => userAction("Role of " + u.name + " → " + sel.value,
      () => api("PATCH", "/api/users/" + u.id, { role: sel.value })));
    role.appendChild(sel);
    const status = document.createElement("td");
    status.className = "user-status";
    status.textContent = (u.disabled ? "disabled" : "active") + (u.locked_until ? ", locked until " + u.locked_until : "");
    const acts = document.createElement("td");
    acts.append(
      userButton(u.disabled ? "Enable" : "Disable", "user-toggle", () => userAction(
        (u.disabled ? "Enable " : "Disable ") + u.name,
        () => api("PATCH", "/api/users/" + u.id, { disabled: !u.disabled }))),
      userButton("Reset password", "user-password", () => {
        const pw = window.prompt("New password for " + u.name + " (at least 8 characters):");
        if (pw) userAction("Password of " + u.name, () => api("POST", "/api/users/" + u.id + "/password", { password: pw }));
      }),
      userButton("Force logout", "user-logout", () => userAction("Logout of " + u.name,
        () => api("POST", "/api/users/" + u.id + "/logout"))),
      userButton("Unlock", "user-unlock", () => userAction("Unlock " + u.name,
        () => api("POST", "/api/users/" + u.id + "/unlock"))),
      userButton("Delete", "user-delete", () => {
        if (window.confirm("Delete " + u.name + "? Their audit records stay.")) {
          userAction("Delete " + u.name, () => api("DELETE", "/api/users/" + u.id));
        }
      }));
    tr.append(name, role, status, acts);
    body.appendChild(tr);
  }
}

$("user-create").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("new-user-name").value;
  await userAction("Create " + name, () => api("POST", "/api/users", {
    name, password: $("new-user-password").value, role: $("new-user-role").value }));
  $("new-user-password").value = "";
  $("new-user-name").value = "";
});

// --- auditor: the audit log ---
async function loadAudit() {
  const body = $("audit-table").querySelector("tbody");
  body.innerHTML = "";
  let rows = [];
  try { rows = await getJSON("/api/audit?limit=200"); } catch (e) {
    $("audit-status").textContent = "Could not read the log: " + e.message;
  }
  for (const r of rows.slice(-100).reverse()) {
    const tr = document.createElement("tr");
    for (const v of [r.id, r.at, r.actor, r.action, r.target, r.outcome]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

$("audit-verify").addEventListener("click", async () => {
  try {
    const v = await getJSON("/api/audit/verify");
    $("audit-status").textContent = v.ok ? "Chain intact: " + v.records + " records."
      : "TAMPERED: " + v.problems.join("; ");
  } catch (e) { $("audit-status").textContent = "Verify failed: " + e.message; }
  await loadAudit();
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
