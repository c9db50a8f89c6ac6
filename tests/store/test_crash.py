"""SIGKILL during plan writes loses no committed data and leaves the database consistent."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from sqlalchemy import select, text

from citywatch.store import PlanRecord, connect, session_factory, verify_audit

WRITER = textwrap.dedent("""
    import hashlib, json, sys
    from citywatch.store import (PlanRecord, ScenarioRecord, ScenarioVersion, append_audit,
                                 connect, session_factory)

    engine = connect(sys.argv[1])
    sessions = session_factory(engine)
    with sessions() as s:
        sc = ScenarioRecord(name="crash", builtin=False, created_by="t")
        sc.versions.append(ScenarioVersion(version=1, parameters={}, archive=b"x" * 1000,
                                           sha256="0" * 64, note="", created_by="t"))
        s.add(sc)
        s.commit()
        vid = sc.versions[0].id
    i = 0
    while True:
        i += 1
        # a plan result of realistic size (~150 kB like London's)
        result = {"coverage": [{"site": f"s{j}", "slot": "x", "coverage": (i * j % 97) / 97}
                               for j in range(3000)], "i": i}
        with sessions() as s:
            rec = PlanRecord(scenario_version_id=vid, parameters={"i": i}, seed=i,
                             status="done", stage="done", progress=1.0, result=result,
                             created_by="t")
            s.add(rec)
            s.flush()
            append_audit(s, actor="t", action="plan.solved", target=f"plan/{rec.id}",
                         detail={"sha": hashlib.sha256(json.dumps(result).encode()).hexdigest()})
            s.commit()
            print(rec.id, hashlib.sha256(json.dumps(result).encode()).hexdigest(), flush=True)
""")


def _run_and_kill(db_url: str, after: int) -> dict[int, str]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, db_url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    committed: dict[int, str] = {}
    assert proc.stdout is not None
    try:
        while len(committed) < after:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "writer died"
            pid, digest = line.split()
            committed[int(pid)] = digest
        time.sleep(0.003 * after)  # land the kill somewhere inside a later write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    return committed


def test_sigkill_during_plan_writes(db_url: str) -> None:
    committed = _run_and_kill(db_url, after=15)
    engine = connect(db_url)  # restart: migrations are a no-op, recovery automatic
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        sessions = session_factory(engine)
        with sessions() as s:
            rows = {r.id: r for r in s.execute(select(PlanRecord)).scalars()}
            for pid, digest in committed.items():
                assert pid in rows, f"committed plan {pid} lost"
                got = hashlib.sha256(json.dumps(rows[pid].result).encode()).hexdigest()
                assert got == digest, f"plan {pid} corrupted"
            check = verify_audit(s)
            assert check.ok, check.problems
            assert check.records >= len(committed)
        # and the database takes new writes
        from citywatch.store import append_audit

        with sessions() as s:
            append_audit(s, actor="after", action="restart")
            s.commit()
            assert verify_audit(s).ok
    finally:
        engine.dispose()
