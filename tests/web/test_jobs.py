"""One elected job runner among several processes: only the lock holder submits plans, and
another takes over when it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from citywatch.store import (  # noqa: E402
    PlanRecord,
    ScenarioRecord,
    ScenarioVersion,
    connect,
    read_session_factory,
    session_factory,
)
from citywatch.web.jobs import JobRunner  # noqa: E402


def _queue(sessions: Any, n: int) -> list[int]:
    with sessions() as s:
        sc = ScenarioRecord(name="s", builtin=False, created_by="t")
        sc.versions.append(ScenarioVersion(version=1, parameters={}, archive=b"x",
                                           sha256="0" * 64, note="", created_by="t"))
        s.add(sc)
        s.flush()
        recs = [PlanRecord(scenario_version_id=sc.versions[0].id, parameters={}, seed=i,
                           status="queued", stage="queued", progress=0.0, created_by="p")
                for i in range(n)]
        s.add_all(recs)
        s.commit()
        return [r.id for r in recs]


def test_exactly_one_runner_and_takeover(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'j.db'}")
    sessions, reads = session_factory(engine), read_session_factory(engine)
    ids = _queue(sessions, 3)
    got: dict[str, list[int]] = {"a": [], "b": []}

    def submitter(name: str) -> Any:
        return lambda _fn, _sessions, pid, *_: got[name].append(pid)

    lock = tmp_path / "jobs.lock"
    a = JobRunner(lock, sessions, reads, submitter("a"))
    b = JobRunner(lock, sessions, reads, submitter("b"))
    a.step()
    b.step()
    assert a.leader and not b.leader
    assert got == {"a": ids, "b": []}  # resumed once, by the leader only
    a.step()
    assert got["a"] == ids  # nothing submitted twice
    more = _queue_more(sessions)
    a.step()
    b.step()
    assert got["a"] == [*ids, more] and got["b"] == []
    a.stop()  # the runner goes (a crash releases the flock the same way)
    b.step()
    assert b.leader and sorted(got["b"]) == sorted([*ids, more])  # re-queued and resumed
    b.stop()
    engine.dispose()


def _queue_more(sessions: Any) -> int:
    with sessions() as s:
        vid = s.query(ScenarioVersion).first().id
        rec = PlanRecord(scenario_version_id=vid, parameters={}, seed=9, status="queued",
                         stage="queued", progress=0.0, created_by="p")
        s.add(rec)
        s.commit()
        return rec.id
