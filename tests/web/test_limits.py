"""Request limits before authentication and before the body is read; security headers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient

from citywatch.web.guard import SECURITY_HEADERS


def _raw(app: Any, method: str, path: str, headers: dict[str, str],
         chunks: list[bytes]) -> tuple[int, int, dict[str, str]]:
    """Call the ASGI app directly: (status, body chunks the app pulled, response headers)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1],
                    "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "scheme": "http", "server": ("testserver", 80),
             "client": ("192.0.2.1", 1234),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled, {k.decode(): v.decode() for k, v in start["headers"]}


def test_anonymous_oversized_body_is_refused_unread(app) -> None:
    huge = str(200_000_000)
    status, pulled, _ = _raw(app, "POST", "/api/scenarios",
                             {"content-type": "application/json", "content-length": huge},
                             [b"{" * 1000] * 5)
    assert status == 401 and pulled == 0
    status, pulled, _ = _raw(app, "POST", "/api/scenarios/upload",
                             {"content-type": "multipart/form-data; boundary=x",
                              "content-length": str(400_000_000)}, [b"x" * 1000])
    assert status == 401 and pulled == 0


def test_signed_in_oversized_bodies_get_413(app, tokens) -> None:
    auth = tokens["planner"]
    status, pulled, _ = _raw(app, "POST", "/api/scenarios",
                             {**auth, "content-type": "application/json",
                              "content-length": str(5_000_000)}, [b"{}"])
    assert status == 413 and pulled == 0
    # chunked (no length): cut off while streaming, not after reading everything
    status, pulled, _ = _raw(app, "POST", "/api/scenarios",
                             {**auth, "content-type": "application/json",
                              "transfer-encoding": "chunked"}, [b" " * 400_000] * 10)
    assert status == 413 and pulled <= 4


def test_sign_in_body_is_capped_too(app) -> None:
    status, pulled, _ = _raw(app, "POST", "/api/auth/token",
                             {"content-type": "application/json",
                              "content-length": str(10_000_000)}, [b"{}"])
    assert status == 413 and pulled == 0


def test_401_comes_before_422_and_415(client: TestClient, tokens) -> None:
    r = client.post("/api/scenarios", content=b"{not json", headers={
        "content-type": "application/json"})
    assert r.status_code == 401
    r = client.post("/api/plans", json={"scenario_id": "x"})
    assert r.status_code == 401
    r = client.post("/api/plans", content=b"a=1", headers={
        **tokens["planner"], "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = client.post("/api/plans", json={"scenario_id": "x"}, headers=tokens["planner"])
    assert r.status_code == 422


def test_refusals_are_audited(client: TestClient, tokens) -> None:
    client.post("/api/plans", json={})
    client.get("/api/audit", headers=tokens["viewer"])
    log = client.get("/api/audit?limit=1000", headers=tokens["auditor"]).json()
    denied = [(r["outcome"], r["target"]) for r in log if r["action"] == "http.denied"]
    assert ("401", "POST /api/plans") in denied
    assert ("403", "GET /api/audit") in denied
    assert json.loads(next(r["detail"] for r in log if r["action"] == "http.denied"))


def test_security_headers_and_no_store(client: TestClient, tokens) -> None:
    for path, headers in (("/", {}), ("/api/health", {}), ("/api/plans", tokens["viewer"]),
                          ("/api/plans", {})):
        r = client.get(path, headers=headers)
        for name, _ in SECURITY_HEADERS:
            assert name.decode() in r.headers, (path, name)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/plans", headers=tokens["viewer"]).headers["cache-control"] == \
        "no-store"
    assert client.get("/static/app.js").headers.get("cache-control") != "no-store"
