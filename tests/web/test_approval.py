"""Approval that means something: separation of duties, one approval per approver, exports
of unapproved plans marked DRAFT, and formula-safe CSV exports."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from web.conftest import PASSWORD, login, wait_plan

from citywatch.web.routers.rosters import escape_cell, escape_csv


def test_one_approval_per_approver(client: TestClient, tokens, world) -> None:
    url = f"/api/plans/{world['plan']}/approve"
    assert client.post(url, headers=tokens["approver"], json={}).status_code == 200
    r = client.post(url, headers=tokens["approver"], json={"comment": "again"})
    assert r.status_code == 409 and "already approved" in r.text
    body = client.get(f"/api/plans/{world['plan']}", headers=tokens["approver"]).json()
    assert len(body["approvals"]) == 1
    assert client.post(url, headers=tokens["planner"], json={}).status_code == 403


def test_the_plans_creator_cannot_approve_it(client: TestClient, tokens, world) -> None:
    r = client.post("/api/users", headers=tokens["admin"],
                    json={"name": "pat", "password": PASSWORD, "role": "planner"})
    uid = r.json()["id"]
    pat = login(client, "pat")
    pid = client.post("/api/plans", headers=pat,
                      json={"scenario_id": world["scenario"], "seed": 2}).json()["id"]
    assert wait_plan(client, pid, pat)["status"] == "done"
    client.patch(f"/api/users/{uid}", headers=tokens["admin"], json={"role": "approver"})
    pat = login(client, "pat")
    r = client.post(f"/api/plans/{pid}/approve", headers=pat, json={})
    assert r.status_code == 403 and "cannot also approve" in r.text
    log = client.get("/api/audit?limit=1000", headers=tokens["auditor"]).json()
    assert any(x["action"] == "plan.approve" and x["outcome"] == "refused" for x in log)


def test_exports_of_an_unapproved_plan_are_draft(client: TestClient, tokens, world) -> None:
    url = f"/api/rosters/{world['roster']}/export"
    r = client.get(url, headers=tokens["planner"])
    assert r.status_code == 200
    assert r.text.startswith("# OFFICIAL-SENSITIVE - DRAFT: plan")
    assert r.headers["x-plan-approved"] == "false" and "DRAFT" in \
        r.headers["content-disposition"]
    assert client.get(f"/api/rosters/{world['roster']}",
                      headers=tokens["planner"]).json()["approved"] is False
    r = client.get(url + "?format=zip", headers=tokens["planner"])
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "DRAFT" in zf.read("MARKING.txt").decode()
    client.post(f"/api/plans/{world['plan']}/approve", headers=tokens["approver"], json={})
    r = client.get(url, headers=tokens["planner"])
    assert r.text.startswith("# OFFICIAL-SENSITIVE\n") and "DRAFT" not in r.text
    assert r.headers["x-plan-approved"] == "true"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "-2+3",
                                  "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert escape_cell(cell) == "'" + cell
    out = escape_csv(f'a,b\n"{cell}",ok\n')
    assert out.split("\n", 1)[1].lstrip('"').startswith("'"), out
    assert escape_cell("Westminster") == "Westminster" and escape_cell("") == ""
