"""Bounded load test of the planning service on loopback (issue 7).

Starts ``citywatch serve`` on 127.0.0.1 with a fresh SQLite database, creates a viewer,
runs one London plan, then has 50 concurrent clients read for SECONDS each of:
the plan list, the full London plan (about 146 kB of JSON) and the health check.
Prints throughput and p50/p99 latency as JSON lines. The load generator shares the
machine with the server, so on 2 cores the two compete for CPU.

With ``--client wrk`` the load comes from wrk (Debian's package; a C client with far
less overhead than Python's), so less of the 2 cores goes to the load generator.

With ``--processes N`` the server runs N uvicorn worker processes (``citywatch serve
--processes N``: one shared key, one elected job runner).

Run: ``python benchmarks/bench_web.py [SECONDS] [--client httpx|wrk] [--processes N]`` (needs
the ``web`` extra and httpx). Only loopback addresses are used; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PORT = 8765
URL = f"http://127.0.0.1:{PORT}"
PASSWORD = "a long admin password"


async def _load(path: str, headers: dict[str, str], seconds: float,
                clients: int = 50) -> dict[str, object]:
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=URL, headers=headers, limits=limits) as c:
        end = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < end:
                t = time.perf_counter()
                r = await c.get(path)
                lat.append(time.perf_counter() - t)
                errors += r.status_code != 200

        t0 = time.monotonic()
        await asyncio.gather(*[worker() for _ in range(clients)])
        elapsed = time.monotonic() - t0
    lat.sort()

    def q(x: float) -> float:
        return round(lat[min(len(lat) - 1, int(x * len(lat)))] * 1000, 1)

    return {"path": path, "clients": clients, "requests": len(lat),
            "rps": round(len(lat) / elapsed, 1), "p50_ms": q(0.5), "p99_ms": q(0.99),
            "errors": errors}


def _wrk(path: str, headers: dict[str, str], seconds: float,
         clients: int = 50) -> dict[str, object]:
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--latency"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run([*cmd, URL + path], capture_output=True, text=True,
                         timeout=seconds + 60).stdout

    def ms(token: str) -> float:
        value = float(token.rstrip("usm"))
        return value / 1000 if token.endswith("us") else value * 1000 if token.endswith(
            "s") and not token.endswith("ms") else value

    result: dict[str, object] = {"path": path, "clients": clients, "client": "wrk"}
    for line in out.splitlines():
        parts = line.split()
        if line.strip().startswith("50%"):
            result["p50_ms"] = round(ms(parts[1]), 1)
        elif line.strip().startswith("99%"):
            result["p99_ms"] = round(ms(parts[1]), 1)
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif "Non-2xx" in line:
            result["errors"] = int(parts[-1])
    return result


def _server_cpu(root: int) -> float:
    """CPU seconds used so far by process `root` and its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = {root}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root:
                pids.add(int(entry.name))
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seconds", nargs="?", type=float, default=30.0)
    parser.add_argument("--client", choices=("httpx", "wrk"), default="httpx")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cw-load-"))
    db = f"sqlite:///{folder / 'cw.db'}"
    env = {**os.environ, "CITYWATCH_ADMIN_PASSWORD": PASSWORD,
           "CITYWATCH_SECRET_KEY": secrets.token_urlsafe(32)}
    cmd = [sys.executable, "-m", "citywatch", "serve", "--db", db]
    subprocess.run([*cmd, "--init-admin", "chief", "--init-only"], env=env, check=True)
    srv = subprocess.Popen([*cmd, "--port", str(PORT), "--processes", str(args.processes)],
                           env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(URL + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

        def token(name: str, password: str) -> dict[str, str]:
            r = httpx.post(URL + "/api/auth/token", json={"name": name, "password": password})
            return {"Authorization": "Bearer " + r.json()["access_token"]}

        admin = token("chief", PASSWORD)
        for name, role in (("v", "viewer"), ("p", "planner")):
            httpx.post(URL + "/api/users", headers=admin,
                       json={"name": name, "password": f"{role} password", "role": role})
        planner, viewer = token("p", "planner password"), token("v", "viewer password")
        pid = httpx.post(URL + "/api/plans", headers=planner, json={"scenario_id": 1},
                         timeout=60).json()["id"]
        deadline = time.monotonic() + 300
        while (httpx.get(f"{URL}/api/plans/{pid}", headers=planner).json()["status"] != "done"
               and time.monotonic() < deadline):
            time.sleep(0.2)
        print(json.dumps({"cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
                          "processes": args.processes}))
        for path in ("/api/plans?limit=20", f"/api/plans/{pid}", "/api/health"):
            cpu0, load0 = _server_cpu(srv.pid), os.getloadavg()[0]
            if args.client == "wrk":
                result = _wrk(path, viewer, args.seconds)
            else:
                result = asyncio.run(_load(path, viewer, args.seconds))
            # the server's CPU per request: what the service costs whatever else runs
            n = result.get("requests") or float(result.get("rps", 0)) * args.seconds
            result["server_cpu_ms_per_request"] = round(
                1000 * (_server_cpu(srv.pid) - cpu0) / max(float(n), 1.0), 2)
            result["load_average"] = round((load0 + os.getloadavg()[0]) / 2, 1)
            print(json.dumps(result), flush=True)
    finally:
        srv.terminate()
        srv.wait(timeout=30)


if __name__ == "__main__":
    main()
