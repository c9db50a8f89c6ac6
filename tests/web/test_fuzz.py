"""Fuzz every operation from the app's own OpenAPI schema (schemathesis): never a 500."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from web.conftest import InlineExecutor, login, make_app, tiny_files, wait_plan  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="citywatch-fuzz-"))
app = make_app(_tmp, executor=InlineExecutor(), max_simulated_attacks=2000, docs=True)
_client = TestClient(app)
HEADERS = {role: login(_client, role) for role in
           ("viewer", "planner", "approver", "auditor", "admin")}
_sid = _client.post("/api/scenarios", headers=HEADERS["planner"],
                    json={"name": "Tiny", "files": tiny_files(_tmp)}).json()["id"]
_pid = _client.post("/api/plans", headers=HEADERS["planner"],
                    json={"scenario_id": _sid, "seed": 1}).json()["id"]
wait_plan(_client, _pid, HEADERS["planner"])
_client.post(f"/api/plans/{_pid}/rosters", headers=HEADERS["planner"], json={"days": 1})

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def _role(path: str) -> str:
    if path.startswith("/api/audit"):
        return "auditor"
    if path.startswith("/api/users"):
        return "admin"
    if path.endswith("/approve"):
        return "approver"
    return "planner"


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers=HEADERS[_role(case.path)])
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
