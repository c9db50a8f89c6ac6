"""Group commit of audit records: every record of concurrent callers lands, once, in a
verifiable chain, with fewer transactions than records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, event

from citywatch.store import AuditChain, AuditRecord, session_factory, verify_audit
from citywatch.store.batch import AuditBatcher


def test_concurrent_records_all_land_in_few_commits(engine: Engine, tmp_path: Path) -> None:
    chain = AuditChain(b"q" * 32, tmp_path / "cp")
    sessions = session_factory(engine, chain)
    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    batcher = AuditBatcher(sessions, idle=0.2)
    with ThreadPoolExecutor(30) as pool:
        list(pool.map(lambda i: batcher.append(actor=f"u{i}", action="plan.view",
                                               target=f"plan/{i}"), range(120)))
    batcher.close()
    with sessions() as s:
        targets = sorted(r.target for r in s.query(AuditRecord))
        check = verify_audit(s)
    assert targets == sorted(f"plan/{i}" for i in range(120))
    assert check.ok, check.problems
    assert len(commits) < 120
    # the thread ends when idle and a new record starts another
    batcher.append(actor="late", action="x")
    batcher.close()
