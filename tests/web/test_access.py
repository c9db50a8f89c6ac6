"""Every endpoint × every role: allowed or denied exactly as specified (deny by default)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citywatch.web.security import ROLES

V, P, A, AU, AD = "viewer", "planner", "approver", "auditor", "admin"
READ = {V, P, A}
ALL = set(ROLES)

#: (method, path) → roles allowed; the specification from issue 7.
SPEC: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/auth/me"): ALL,
    ("GET", "/api/users"): {AD},
    ("POST", "/api/users"): {AD},
    ("POST", "/api/users/{user_id}/unlock"): {AD},
    ("PATCH", "/api/users/{user_id}"): {AD},
    ("DELETE", "/api/users/{user_id}"): {AD},
    ("POST", "/api/users/{user_id}/password"): {AD},
    ("POST", "/api/users/{user_id}/logout"): {AD},
    ("GET", "/api/scenarios"): READ,
    ("POST", "/api/scenarios"): {P},
    ("POST", "/api/scenarios/upload"): {P},
    ("GET", "/api/scenarios/{scenario_id}"): READ,
    ("GET", "/api/scenarios/{scenario_id}/versions"): READ,
    ("GET", "/api/scenarios/{scenario_id}/map"): READ,
    ("GET", "/api/plans/{plan_id}/map"): READ,
    ("POST", "/api/scenarios/{scenario_id}/versions"): {P},
    ("POST", "/api/scenarios/{scenario_id}/whatif"): {P},
    ("POST", "/api/plans"): {P},
    ("GET", "/api/plans"): READ,
    ("GET", "/api/plans/{plan_id}"): READ,
    ("POST", "/api/plans/{plan_id}/approve"): {A},
    ("POST", "/api/plans/{plan_id}/simulations"): {P},
    ("POST", "/api/plans/{plan_id}/rosters"): {P, A},
    ("GET", "/api/plans/{plan_id}/rosters"): {P, A},
    ("GET", "/api/rosters/{roster_id}"): {P, A},
    ("GET", "/api/rosters/{roster_id}/export"): {P, A},
    ("GET", "/api/audit"): {AU},
    ("GET", "/api/audit/verify"): {AU},
}
PUBLIC = {("POST", "/api/auth/token"), ("GET", "/api/health"), ("GET", "/")}


def _request(client: TestClient, method: str, path: str, ids: dict[str, int],
             headers: dict[str, str]) -> Any:
    url = path.format(scenario_id=ids["scenario"], plan_id=ids["plan"],
                      roster_id=ids["roster"], user_id=ids.get("user", 1))
    body: dict[str, Any] | None = {
        "/api/users": {"name": "newuser", "password": "long enough pw", "role": "viewer"},
        "/api/scenarios": {"name": "Again", "files": {"scenario.toml": "x = 1"}},
        "/api/plans": {"scenario_id": ids["scenario"]},
        "/api/scenarios/{scenario_id}/versions": {"threat_level": "CRITICAL"},
        "/api/scenarios/{scenario_id}/whatif": {"add_officers": 10, "n": 200, "seed": 1},
        "/api/plans/{plan_id}/simulations": {"n": 200, "seed": 1},
        "/api/plans/{plan_id}/rosters": {"days": 1, "seed": 1},
        "/api/plans/{plan_id}/approve": {},
        "/api/users/{user_id}/unlock": None,
        "/api/users/{user_id}/password": {"password": "another long one"},
        "/api/users/{user_id}": {"role": "viewer"},
    }.get(path)
    if path == "/api/scenarios/upload":
        return client.post(url, headers=headers, data={"name": "Zipped"},
                           files={"file": ("s.zip", io.BytesIO(b"not a zip"))})
    if method == "GET":
        return client.get(url, headers=headers)
    if method == "DELETE":
        return client.delete(url, headers=headers)
    return client.request(method, url, headers=headers, json=body)


def test_spec_covers_every_route(client: TestClient) -> None:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    routes = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    assert routes | {("GET", "/")} == set(SPEC) | PUBLIC


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_for_role(client: TestClient, tokens: dict[str, dict[str, str]],
                                 world: dict[str, int], role: str) -> None:
    # user routes act on a throw-away user, so allowed calls (delete, ...) change nothing else
    r = client.post("/api/users", headers=tokens[AD],
                    json={"name": "target", "password": "long enough pw", "role": "viewer"})
    ids = {**world, "user": r.json()["id"]}
    for (method, path), allowed in sorted(SPEC.items(), key=lambda kv: kv[0][0] == "DELETE"):
        r = _request(client, method, path, ids, tokens[role])
        if role in allowed:
            assert r.status_code not in (401, 403), (method, path, role, r.text)
            assert r.status_code < 500, (method, path, role, r.text)
        else:
            assert r.status_code == 403, (method, path, role, r.status_code, r.text)


def test_every_endpoint_needs_a_token(client: TestClient, world: dict[str, int]) -> None:
    for method, path in SPEC:
        r = _request(client, method, path, world, {})
        assert r.status_code == 401, (method, path, r.status_code)
        r = _request(client, method, path, world, {"Authorization": "Bearer forged.token.x"})
        assert r.status_code == 401, (method, path, r.status_code)


def test_public_endpoints(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert client.get("/").status_code == 200


def test_seed_only_for_planner_and_approver(client: TestClient,
                                            tokens: dict[str, dict[str, str]],
                                            world: dict[str, int]) -> None:
    for role in (V, P, A):
        body = client.get(f"/api/plans/{world['plan']}", headers=tokens[role]).json()
        assert (body["seed"] == 7) == (role in {P, A}), role
        assert (body["seed"] is None) == (role == V)
        listed = client.get("/api/plans", headers=tokens[role]).json()
        assert all((p["seed"] is None) == (role == V) for p in listed)


def test_unmarked_endpoint_denies_everyone(client: TestClient,
                                           tokens: dict[str, dict[str, str]]) -> None:
    @client.app.get("/api/forgotten")  # type: ignore[attr-defined]
    def forgotten() -> dict[str, str]:
        return {"secret": "x"}

    for role in ROLES:
        assert client.get("/api/forgotten", headers=tokens[role]).status_code == 403
    assert client.get("/api/forgotten").status_code == 401
