"""The HTTP API: scenarios, plans as jobs, approvals, rosters, simulations, errors, auth."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from _scenarios import write_tiny
from fastapi.testclient import TestClient
from web.conftest import PASSWORD, login, make_app, tiny_files, wait_plan

from citywatch.web.app import create_app


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, f"tiny/{p.name}")
    return buf.getvalue()


def test_openapi_documents_every_resource(client: TestClient, tokens) -> None:
    for path in ("/openapi.json", "/docs"):  # off unless `docs` is set
        assert client.get(path).status_code == 401
        assert client.get(path, headers=tokens["admin"]).status_code == 404
    schema = client.app.openapi()  # type: ignore[attr-defined]
    assert "OFFICIAL-SENSITIVE" in schema["info"]["description"]
    for path in ("/api/scenarios", "/api/plans", "/api/rosters/{roster_id}/export",
                 "/api/audit", "/api/scenarios/{scenario_id}/whatif"):
        assert path in schema["paths"]
    assert "PlanIn" in schema["components"]["schemas"]
    assert "**Allowed:** auditor." in schema["paths"]["/api/audit"]["get"]["description"]
    assert "**Allowed:** planner, approver." in (
        schema["paths"]["/api/rosters/{roster_id}/export"]["get"]["description"])


def test_scenario_upload_zip_versions_and_history(client: TestClient, tokens, tmp_path) -> None:
    data = _zip(write_tiny(tmp_path / "t"))
    r = client.post("/api/scenarios/upload", headers=tokens["planner"], data={"name": "Zip"},
                    files={"file": ("tiny.zip", io.BytesIO(data), "application/zip")})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    detail = client.get(f"/api/scenarios/{sid}", headers=tokens["viewer"]).json()
    assert detail["slots"] == ["day", "night"] and detail["sites"]
    assert detail["parameters"]["threat_level"] == "SEVERE"
    r = client.post(f"/api/scenarios/{sid}/versions", headers=tokens["planner"],
                    json={"threat_level": "CRITICAL", "officers": 300, "note": "uplift"})
    assert r.status_code == 201 and r.json()["version"] == 2
    hist = client.get(f"/api/scenarios/{sid}/versions", headers=tokens["viewer"]).json()
    assert [h["version"] for h in hist] == [1, 2]
    assert hist[1]["parameters"] == {"threat_level": "CRITICAL", "officers": 300,
                                     "committed_officers": 50}
    v1 = client.get(f"/api/scenarios/{sid}?version=1", headers=tokens["viewer"]).json()
    assert v1["parameters"]["threat_level"] == "SEVERE"


def test_invalid_input_422_names_the_field(client: TestClient, tokens, world) -> None:
    r = client.post("/api/plans", headers=tokens["planner"],
                    json={"scenario_id": world["scenario"], "attacker": "psychic"})
    assert r.status_code == 422
    assert ["body", "attacker"] in [d["loc"] for d in r.json()["detail"]]
    r = client.post("/api/plans", headers=tokens["planner"], json={"scenario_id": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scenario_id"]
    r = client.post(f"/api/plans/{world['plan']}/rosters", headers=tokens["planner"],
                    json={"days": 99})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "days"]


def test_invalid_scenario_422_names_file_and_field(client: TestClient, tokens, tmp_path) -> None:
    files = tiny_files(tmp_path)
    files["sites.csv"] = files["sites.csv"].replace("51.5", "99.5", 1)
    r = client.post("/api/scenarios", headers=tokens["planner"],
                    json={"name": "Bad", "files": files})
    assert r.status_code == 422, r.text
    locs = [d["loc"] for d in r.json()["detail"]]
    assert any(loc[0] == "sites.csv" and "lat" in loc for loc in locs), locs
    r = client.post("/api/scenarios/upload", headers=tokens["planner"], data={"name": "Z"},
                    files={"file": ("x.zip", io.BytesIO(b"PK nonsense"))})
    assert r.status_code == 422 and "file" in r.text
    r = client.post("/api/scenarios", headers=tokens["planner"],
                    json={"name": "Evil", "files": {"../x.toml": ""}})
    assert r.status_code == 422 and "files" in r.text


def test_domain_errors_are_clear_4xx(client: TestClient, tokens, world) -> None:
    r = client.post(f"/api/scenarios/{world['scenario']}/versions", headers=tokens["planner"],
                    json={"officers": 10})
    assert r.status_code == 422 and "committed_officers" in r.text
    assert client.get("/api/plans/999", headers=tokens["viewer"]).status_code == 404
    r = client.post("/api/plans", headers=tokens["planner"], json={"scenario_id": 999})
    assert r.status_code == 404 and "scenario_id" in r.text


def test_plan_runs_in_background_with_progress(tmp_path) -> None:
    app = make_app(tmp_path, executor=ThreadPoolExecutor(2))
    with TestClient(app) as client:
        planner = login(client, "planner")
        sid = client.post("/api/scenarios", headers=planner,
                          json={"name": "T", "files": tiny_files(tmp_path)}).json()["id"]
        r = client.post("/api/plans", headers=planner, json={"scenario_id": sid})
        assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "done")
        assert client.get("/api/health").status_code == 200  # the server is not blocked
        plan = wait_plan(client, r.json()["id"], planner)
        assert plan["status"] == "done" and plan["progress"] == 1.0
        assert plan["scenario_version"] == 1
        assert plan["result"]["coverage"] and plan["result"]["arv_posts"]
        # the API's default plan is `citywatch plan`'s default plan (PlanOptions())
        from citywatch.model.io import load_scenario
        from citywatch.plan import make_plan

        sc = load_scenario(write_tiny(tmp_path / "same"))
        cli = make_plan(sc).to_dict()
        assert plan["method"] == cli["method"] == "bayesian-levels"
        assert plan["result"]["coverage"] == cli["coverage"]
        assert plan["result"]["arv_posts"] == cli["arv_posts"]
        assert plan["result"]["options"] == cli["options"]


def test_cold_plan_cache_loads_the_stored_plan(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new app on the same database simulates the stored plan; nothing re-solves."""
    app = make_app(tmp_path, executor=ThreadPoolExecutor(2))
    with TestClient(app) as client:
        planner = login(client, "planner")
        sid = client.post("/api/scenarios", headers=planner,
                          json={"name": "T", "files": tiny_files(tmp_path)}).json()["id"]
        pid = client.post("/api/plans", headers=planner,
                          json={"scenario_id": sid, "attacker": "mixture", "arv": "greedy"}
                          ).json()["id"]
        stored = wait_plan(client, pid, planner)["result"]
        assert app.state.plans.get(pid) is not None
    import citywatch.planner
    from citywatch.web import services

    def no_solve(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stored plan was solved again")

    monkeypatch.setattr(services, "make_plan", no_solve)
    monkeypatch.setattr(citywatch.planner, "make_plan", no_solve)
    again = create_app(app.state.settings, executor=ThreadPoolExecutor(2))
    assert again.state.plans is not app.state.plans and again.state.plans.get(pid) is None
    with TestClient(again) as client:
        planner = login(client, "planner")
        r = client.post(f"/api/plans/{pid}/simulations", headers=planner,
                        json={"n": 2000, "seed": 1})
        assert r.status_code == 200, r.text
        plan = again.state.plans.get(pid)
        assert plan is not None and plan.to_dict()["coverage"] == stored["coverage"]
        r = client.post(f"/api/plans/{pid}/rosters", headers=planner, json={"days": 2, "seed": 1})
        assert r.status_code == 201, r.text


def test_approve_roster_export_and_marking(client: TestClient, tokens, world) -> None:
    pid, rid = world["plan"], world["roster"]
    r = client.post(f"/api/plans/{pid}/approve", headers=tokens["approver"],
                    json={"comment": "ok"})
    assert r.status_code == 200 and r.json()["approved"]
    assert r.json()["approvals"][0]["approver"] == "approver"
    roster = client.get(f"/api/rosters/{rid}", headers=tokens["approver"]).json()
    assert roster["missions"] and roster["seed"] == 3 and roster["marking"] == "OFFICIAL-SENSITIVE"
    csv = client.get(f"/api/rosters/{rid}/export?format=csv", headers=tokens["approver"])
    assert csv.status_code == 200 and csv.text.startswith("# OFFICIAL-SENSITIVE\nmission_id")
    assert csv.headers["x-protective-marking"] == "OFFICIAL-SENSITIVE"
    for fmt, needle in (("ics", "ics/"), ("html", "briefings/")):
        r = client.get(f"/api/rosters/{rid}/export?format={fmt}", headers=tokens["planner"])
        assert r.status_code == 200, r.text
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert "MARKING.txt" in names and any(n.startswith(needle) for n in names)
        body = zipfile.ZipFile(io.BytesIO(r.content)).read(
            next(n for n in names if n.startswith(needle)))
        assert b"OFFICIAL-SENSITIVE" in body
    assert "OFFICIAL-SENSITIVE" in client.get("/").text


def test_same_seed_same_roster(client: TestClient, tokens, world) -> None:
    first = client.get(f"/api/rosters/{world['roster']}", headers=tokens["planner"]).json()
    again = client.post(f"/api/plans/{world['plan']}/rosters", headers=tokens["planner"],
                        json={"days": 2, "seed": 3}).json()
    assert again["missions"] == first["missions"]


def test_simulation_and_whatif(client: TestClient, tokens, world) -> None:
    r = client.post(f"/api/plans/{world['plan']}/simulations", headers=tokens["planner"],
                    json={"n": 2000, "seed": 5})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["overall"]["attacks"] == 2000
    r = client.post(f"/api/plans/{world['plan']}/simulations", headers=tokens["planner"],
                    json={"n": 900_000})
    assert r.status_code == 422 and "n" in r.json()["detail"][0]["loc"]
    r = client.post(f"/api/scenarios/{world['scenario']}/whatif", headers=tokens["planner"],
                    json={"add_officers": 10, "threat_level": "SUBSTANTIAL", "n": 500, "seed": 1})
    assert r.status_code == 200, r.text
    w = r.json()["result"]
    assert w["after"]["officers"] == w["before"]["officers"] + 10
    assert w["after"]["threat_level"] == "SUBSTANTIAL"


def test_approving_unfinished_plan_is_409(client: TestClient, tokens, world, app) -> None:
    from citywatch.store.models import PlanRecord

    with app.state.sessions() as s:
        s.get(PlanRecord, world["plan"]).status = "running"
        s.commit()
    r = client.post(f"/api/plans/{world['plan']}/approve", headers=tokens["approver"], json={})
    assert r.status_code == 409


def test_lockout_after_failed_logins(client: TestClient, tokens) -> None:
    for _ in range(4):
        r = client.post("/api/auth/token", json={"name": "viewer", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/auth/token", json={"name": "viewer", "password": "wrong"})
    assert r.status_code == 423
    r = client.post("/api/auth/token", json={"name": "viewer", "password": PASSWORD})
    assert r.status_code == 423  # even the right password, while locked
    users = client.get("/api/users", headers=tokens["admin"]).json()
    uid = next(u["id"] for u in users if u["name"] == "viewer")
    assert client.post(f"/api/users/{uid}/unlock", headers=tokens["admin"]).status_code == 200
    assert client.post("/api/auth/token",
                       json={"name": "viewer", "password": PASSWORD}).status_code == 200
    r = client.post("/api/auth/token", json={"name": "nobody", "password": "x"})
    assert r.status_code == 401


def test_expired_and_forged_tokens_rejected(client: TestClient, app) -> None:
    key = app.state.token_key
    old = jwt.encode({"sub": "planner", "uid": 2, "ver": 0,
                      "exp": datetime.now(UTC) - timedelta(seconds=5)}, key, algorithm="HS256")
    r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and "expired" in r.text
    forged = jwt.encode({"sub": "admin", "uid": 5, "ver": 0,
                         "exp": datetime.now(UTC) + timedelta(hours=1)},
                        "a guessed key that is long enough to sign", algorithm="HS256")
    assert client.get("/api/users", headers={"Authorization": f"Bearer {forged}"}
                      ).status_code == 401


def test_passwords_are_hashed(app) -> None:
    from citywatch.store.models import User

    with app.state.sessions() as s:
        user = s.query(User).filter_by(name="planner").one()
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_audit_records_logins_plans_approvals_exports_views(client: TestClient, tokens,
                                                            world) -> None:
    client.post(f"/api/plans/{world['plan']}/approve", headers=tokens["approver"], json={})
    client.get(f"/api/rosters/{world['roster']}", headers=tokens["approver"])
    client.get(f"/api/rosters/{world['roster']}/export", headers=tokens["planner"])
    client.post("/api/auth/token", json={"name": "viewer", "password": "wrong"})
    log = client.get("/api/audit?limit=1000", headers=tokens["auditor"]).json()
    seen = {(r["action"], r["outcome"]) for r in log}
    for needed in (("login", "ok"), ("login", "denied"), ("plan.create", "ok"),
                   ("plan.solved", "ok"), ("plan.approve", "ok"), ("roster.generate", "ok"),
                   ("roster.view", "ok"), ("roster.export", "ok"), ("scenario.create", "ok")):
        assert needed in seen, needed
    rec = next(r for r in log if r["action"] == "plan.approve")
    assert rec["actor"] == "approver" and rec["source"] and rec["at"]
    check = client.get("/api/audit/verify", headers=tokens["auditor"]).json()
    # + the record of reading the log itself (reads of the log are audited)
    assert check == {"ok": True, "records": len(log) + 1, "problems": []}


def test_london_is_built_in(tmp_path) -> None:
    app = make_app(tmp_path, london=True)
    with TestClient(app) as client:
        viewer = login(client, "viewer")
        (london,) = client.get("/api/scenarios", headers=viewer).json()
        assert london["name"] == "London" and london["builtin"]
        detail = client.get(f"/api/scenarios/{london['id']}", headers=viewer).json()
        assert len(detail["sites"]) > 100 and detail["standby"]


def test_whole_flow_on_postgresql(tmp_path) -> None:
    """The same code on a real PostgreSQL server (CI starts one; skipped elsewhere)."""
    import os
    import uuid

    import pytest
    from sqlalchemy import create_engine, text
    from web.conftest import InlineExecutor

    base = os.environ.get("CITYWATCH_TEST_PG_URL")
    if not base:
        if os.environ.get("CITYWATCH_REQUIRE_PG"):
            pytest.fail("CITYWATCH_REQUIRE_PG is set but CITYWATCH_TEST_PG_URL is not")
        pytest.skip("PostgreSQL not configured (set CITYWATCH_TEST_PG_URL)")
    name = f"cw_web_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = make_app(tmp_path, executor=InlineExecutor(), london=True,
                       db_url=f"{base.rsplit('/', 1)[0]}/{name}")
        with TestClient(app) as client:
            planner, approver = login(client, "planner"), login(client, "approver")
            (london,) = client.get("/api/scenarios", headers=planner).json()
            pid = client.post("/api/plans", headers=planner,
                              json={"scenario_id": london["id"], "seed": 2**62}).json()["id"]
            plan = wait_plan(client, pid, planner)
            assert plan["status"] == "done" and plan["seed"] == 2**62
            assert client.post(f"/api/plans/{pid}/approve", headers=approver,
                               json={}).json()["approved"]
            r = client.post(f"/api/plans/{pid}/rosters", headers=approver,
                            json={"days": 1, "seed": 1})
            assert r.status_code == 201
            r = client.get(f"/api/rosters/{r.json()['id']}/export", headers=approver)
            assert r.text.startswith("# OFFICIAL-SENSITIVE")
            v = client.get("/api/audit/verify", headers=login(client, "auditor")).json()
            assert v["ok"] and v["records"] > 5
        app.state.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
