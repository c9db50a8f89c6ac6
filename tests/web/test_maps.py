"""The dashboard's map layers: a scenario's boundaries and sites, a finished plan's map."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web.conftest import make_app


def test_plan_map_has_every_layer(client: TestClient, tokens, world) -> None:
    r = client.get(f"/api/plans/{world['plan']}/map", headers=tokens["viewer"])
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["slots"] == ["day", "night"]
    assert len(data["sites"]) == 5 and all(len(s["coverage"]) == 2 for s in data["sites"])
    assert len(data["posts"]) == 2 and data["cells"]["rings"]
    assert len(data["cells"]["minutes"][0]) == len(data["cells"]["rings"])
    again = client.get(f"/api/plans/{world['plan']}/map", headers=tokens["planner"])
    assert again.content == r.content  # cached, identical


def test_scenario_map_and_access(client: TestClient, tokens, world) -> None:
    r = client.get(f"/api/scenarios/{world['scenario']}/map", headers=tokens["planner"])
    assert r.status_code == 200, r.text
    assert r.json()["cells"] is None and len(r.json()["sites"]) == 5
    for role in ("admin", "auditor"):
        assert client.get(f"/api/plans/{world['plan']}/map",
                          headers=tokens[role]).status_code == 403
    assert client.get("/api/plans/999/map", headers=tokens["viewer"]).status_code == 404
    assert client.get(f"/api/plans/{world['plan']}/map").status_code == 401


def test_london_map_shows_the_33_boroughs(tmp_path) -> None:
    app = make_app(tmp_path, london=True)
    with TestClient(app) as client:
        headers = {"Authorization": "Bearer " + client.post(
            "/api/auth/token", json={"name": "viewer", "password": "correct horse battery"}
        ).json()["access_token"]}
        sid = client.get("/api/scenarios", headers=headers).json()[0]["id"]
        data = client.get(f"/api/scenarios/{sid}/map", headers=headers).json()
        assert len(data["zones"]["features"]) == 33
        assert "Crown copyright" in data["attribution"]
        assert data["basemap"]["features"][0]["properties"]["layer"] == "water"
