"""The service under concurrent requests, on SQLite and PostgreSQL: no 500s, the lockout
holds, version numbers do not collide, and the audit log is complete and verifiable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from store.conftest import _pg_database
from web.conftest import PASSWORD, InlineExecutor, login, make_app, tiny_files, wait_plan

from citywatch.store import AuditRecord, ScenarioVersion, verify_audit


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """A client on an app over each database back end."""
    if request.param == "sqlite":
        app = make_app(tmp_path, executor=InlineExecutor())
        with TestClient(app) as c:
            yield c
        return
    for url in _pg_database():
        app = make_app(tmp_path, executor=InlineExecutor(), db_url=url)
        with TestClient(app) as c:
            yield c
        app.state.engine.dispose()


def _parallel(n: int, fn: Any) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def _audit(client: TestClient, action: str) -> list[AuditRecord]:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        return list(s.execute(select(AuditRecord).where(AuditRecord.action == action)
                              ).scalars())


def _verified(client: TestClient) -> None:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        check = verify_audit(s)
    assert check.ok, check.problems


def test_parallel_logins_cannot_bypass_the_lockout(backend: TestClient) -> None:
    right = 17  # one of 40 simultaneous attempts has the right password

    def attempt(i: int) -> int:
        pw = PASSWORD if i == right else f"wrong {i}"
        return backend.post("/api/auth/token",
                            json={"name": "viewer", "password": pw}).status_code

    codes = Counter(_parallel(40, attempt))
    assert set(codes) <= {200, 401, 423}, codes
    assert codes[200] <= 1
    # at most max_failed_logins (5) passwords are checked per lockout (twice if the
    # right one reset the count in between): never 33 as before
    assert codes[401] <= 2 * 5 - 1, codes
    r = backend.post("/api/auth/token", json={"name": "viewer", "password": PASSWORD})
    assert r.status_code == 423, r.text  # locked now, even with the right password
    logins = _audit(backend, "login")
    assert len(logins) == 41  # none lost
    _verified(backend)


def test_a_stranger_cannot_lock_out_the_admin(backend: TestClient) -> None:
    stranger = TestClient(backend.app, client=("203.0.113.9", 5000))
    codes = [stranger.post("/api/auth/token", json={"name": "admin", "password": "guess"}
                           ).status_code for _ in range(7)]
    assert codes == [401] * 4 + [423] * 3
    r = stranger.post("/api/auth/token", json={"name": "admin", "password": PASSWORD})
    assert r.status_code == 423  # the address that guessed is locked out ...
    # ... but the admin, from their own address, still signs in
    assert login(TestClient(backend.app, client=("198.51.100.7", 5000)), "admin")


def test_parallel_audited_reads_lose_no_record(backend: TestClient, tmp_path: Path) -> None:
    headers = login(backend, "planner")
    sid = backend.post("/api/scenarios", headers=headers,
                       json={"name": "Tiny", "files": tiny_files(tmp_path)}).json()["id"]
    pid = backend.post("/api/plans", headers=headers,
                       json={"scenario_id": sid, "seed": 7}).json()["id"]
    assert wait_plan(backend, pid, headers)["status"] == "done"
    approver = login(backend, "approver")
    assert backend.post(f"/api/plans/{pid}/approve", headers=approver,
                        json={}).status_code == 200
    rid = backend.post(f"/api/plans/{pid}/rosters", headers=headers,
                       json={"days": 1, "seed": 3}).json()["id"]
    codes = _parallel(20, lambda _: backend.get(f"/api/rosters/{rid}",
                                                headers=headers).status_code)
    assert codes == [200] * 20
    assert len(_audit(backend, "roster.view")) == 20
    _verified(backend)


def test_parallel_scenario_edits_get_distinct_versions(backend: TestClient,
                                                       tmp_path: Path) -> None:
    headers = login(backend, "planner")
    sid = backend.post("/api/scenarios", headers=headers,
                       json={"name": "Tiny", "files": tiny_files(tmp_path)}).json()["id"]

    def edit(i: int) -> tuple[int, int | None]:
        r = backend.post(f"/api/scenarios/{sid}/versions", headers=headers,
                         json={"officers": 100 + i, "note": f"edit {i}"})
        return r.status_code, r.json().get("version")

    results = _parallel(12, edit)
    assert [code for code, _ in results] == [201] * 12, results
    assert sorted(v for _, v in results) == list(range(2, 14))
    with backend.app.state.sessions() as s:  # type: ignore[attr-defined]
        n = s.execute(select(func.count()).select_from(ScenarioVersion)
                      .where(ScenarioVersion.scenario_id == sid)).scalar_one()
    assert n == 13
    assert len(_audit(backend, "scenario.edit")) == 12
    _verified(backend)
