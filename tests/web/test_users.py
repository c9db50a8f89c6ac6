"""Account management: create, role change, disable, password reset, forced logout, unlock,
delete; normalised names; every change audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from web.conftest import PASSWORD, login

from citywatch.store import AuditRecord


def _new(client: TestClient, admin: dict[str, str], name: str = "officer",
         role: str = "viewer") -> dict[str, object]:
    r = client.post("/api/users", headers=admin,
                    json={"name": name, "password": PASSWORD, "role": role})
    assert r.status_code == 201, r.text
    return r.json()


def _actions(client: TestClient) -> list[tuple[str, str]]:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        return [(r.action, r.target) for r in s.execute(select(AuditRecord)).scalars()]


def test_names_are_normalised(client: TestClient, tokens) -> None:
    user = _new(client, tokens["admin"], "Chief")
    assert user["disabled"] is False and user["active"] is True
    for twin in ("chief", "chief ", "CHIEF", "\uff43hief"):  # fullwidth c (NFKC)
        r = client.post("/api/users", headers=tokens["admin"],
                        json={"name": twin.strip() or "x", "password": PASSWORD,
                              "role": "viewer"})
        assert r.status_code in (409, 422), (twin, r.text)
    # any spelling signs in as the one user
    for spelling in ("chief", " CHIEF ", "\uff23hief"):
        r = client.post("/api/auth/token", json={"name": spelling, "password": PASSWORD})
        assert r.status_code == 200 and r.json()["name"] == "Chief"


def test_role_change_disable_and_enable(client: TestClient, tokens) -> None:
    uid = _new(client, tokens["admin"])["id"]
    me = login(client, "officer")
    assert client.get("/api/plans", headers=me).status_code == 200
    r = client.patch(f"/api/users/{uid}", headers=tokens["admin"], json={"role": "auditor"})
    assert r.status_code == 200 and r.json()["role"] == "auditor"
    me = login(client, "officer")
    assert client.get("/api/plans", headers=me).status_code == 403
    assert client.get("/api/audit", headers=me).status_code == 200
    r = client.patch(f"/api/users/{uid}", headers=tokens["admin"], json={"disabled": True})
    assert r.json()["disabled"] is True
    assert client.get("/api/audit", headers=me).status_code == 401  # token ended
    assert client.post("/api/auth/token",
                       json={"name": "officer", "password": PASSWORD}).status_code == 401
    client.patch(f"/api/users/{uid}", headers=tokens["admin"], json={"disabled": False})
    assert login(client, "officer")
    assert ("user.change", "user/officer") in _actions(client)


def test_password_reset_and_forced_logout_end_tokens(client: TestClient, tokens) -> None:
    uid = _new(client, tokens["admin"])["id"]
    me = login(client, "officer")
    assert client.post(f"/api/users/{uid}/logout", headers=tokens["admin"]).status_code == 200
    assert client.get("/api/auth/me", headers=me).status_code == 401
    me = login(client, "officer")
    r = client.post(f"/api/users/{uid}/password", headers=tokens["admin"],
                    json={"password": "a brand new secret"})
    assert r.status_code == 200
    assert client.get("/api/auth/me", headers=me).status_code == 401
    assert client.post("/api/auth/token",
                       json={"name": "officer", "password": PASSWORD}).status_code == 401
    assert login(client, "officer", "a brand new secret")
    r = client.post(f"/api/users/{uid}/password", headers=tokens["admin"],
                    json={"password": "short"})
    assert r.status_code == 422
    acts = _actions(client)
    assert ("user.logout", "user/officer") in acts and ("user.password", "user/officer") in acts


def test_delete_and_the_last_admin(client: TestClient, tokens) -> None:
    uid = _new(client, tokens["admin"])["id"]
    me = login(client, "officer")
    assert client.delete(f"/api/users/{uid}", headers=tokens["admin"]).status_code == 204
    assert client.get("/api/auth/me", headers=me).status_code == 401
    assert client.delete(f"/api/users/{uid}", headers=tokens["admin"]).status_code == 404
    users = client.get("/api/users", headers=tokens["admin"]).json()
    admin_id = next(u["id"] for u in users if u["name"] == "admin")
    assert client.delete(f"/api/users/{admin_id}", headers=tokens["admin"]).status_code == 409
    r = client.patch(f"/api/users/{admin_id}", headers=tokens["admin"], json={"role": "viewer"})
    assert r.status_code == 409  # the last admin
    r = client.patch(f"/api/users/{admin_id}", headers=tokens["admin"], json={"disabled": True})
    assert r.status_code == 409
    # a new user with the deleted one's name does not inherit their tokens
    _new(client, tokens["admin"], "officer")
    assert client.get("/api/auth/me", headers=me).status_code == 401
    assert ("user.delete", "user/officer") in _actions(client)


def test_unlock_lists_and_clears_the_lock(client: TestClient, tokens) -> None:
    uid = _new(client, tokens["admin"])["id"]
    for _ in range(5):
        client.post("/api/auth/token", json={"name": "officer", "password": "wrong"})
    user = next(u for u in client.get("/api/users", headers=tokens["admin"]).json()
                if u["id"] == uid)
    assert user["locked_until"] is not None
    r = client.post(f"/api/users/{uid}/unlock", headers=tokens["admin"])
    assert r.status_code == 200 and r.json()["locked_until"] is None
    assert login(client, "officer")
