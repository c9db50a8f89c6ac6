"""Fixtures for the web tests: an app on a temporary database, users of every role, tokens."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("CITYWATCH_REQUIRE_CHROMIUM"):
    import fastapi  # noqa: F401  (CI: a missing web extra must fail, not skip)
    import playwright  # noqa: F401
    import schemathesis  # noqa: F401
else:
    pytest.importorskip("fastapi")
    pytest.importorskip("sqlalchemy")

from _scenarios import write_tiny  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from citywatch.store.models import User  # noqa: E402
from citywatch.web import Settings, create_app  # noqa: E402
from citywatch.web.security import ROLES, hash_password  # noqa: E402

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)  # hashed once: Argon2 is slow on purpose


class InlineExecutor(Executor):
    """Runs each job at once in the caller's thread: deterministic tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:
            fut.set_exception(err)
        return fut


def tiny_files(tmp: Path) -> dict[str, str]:
    """The tiny scenario as ``{file name: text}``."""
    folder = write_tiny(tmp / "tiny-json")
    return {p.name: p.read_text() for p in folder.iterdir() if p.is_file()}


def make_app(tmp_path: Path, *, executor: Executor | None = None, london: bool = False,
             db_url: str | None = None, **settings: Any) -> FastAPI:
    """An app on a fresh SQLite file (or `db_url`) with one user per role (named after it)."""
    url = db_url or f"sqlite:///{tmp_path / 'cw.db'}"
    settings.setdefault("key_file", str(tmp_path / "cw.key"))
    app = create_app(Settings(db_url=url, builtin_london=london, **settings),
                     executor=executor)
    with app.state.sessions() as session:
        for role in ROLES:
            session.add(User(name=role, password_hash=_HASH, role=role, active=True,
                             failed_logins=0))
        session.commit()
    return app


def login(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization header for `name`."""
    r = client.post("/api/auth/token", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def wait_plan(client: TestClient, plan_id: int, headers: dict[str, str],
              timeout: float = 30) -> dict[str, Any]:
    """Poll a plan until it is done or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/plans/{plan_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"plan {plan_id} still {body['status']}")


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """An app whose jobs run inline."""
    return make_app(tmp_path, executor=InlineExecutor())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A test client on `app`."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers by role."""
    return {role: login(client, role) for role in ROLES}


@pytest.fixture
def world(client: TestClient, tokens: dict[str, dict[str, str]],
          tmp_path: Path) -> dict[str, int]:
    """The tiny scenario, a finished plan and a roster; their ids."""
    r = client.post("/api/scenarios", headers=tokens["planner"],
                    json={"name": "Tiny", "files": tiny_files(tmp_path)})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = client.post("/api/plans", headers=tokens["planner"],
                    json={"scenario_id": sid, "seed": 7})
    assert r.status_code == 202, r.text
    pid = r.json()["id"]
    assert wait_plan(client, pid, tokens["planner"])["status"] == "done"
    r = client.post(f"/api/plans/{pid}/rosters", headers=tokens["planner"],
                    json={"days": 2, "seed": 3})
    assert r.status_code == 201, r.text
    return {"scenario": sid, "plan": pid, "roster": r.json()["id"]}
