"""The keyed audit chain against someone who can write the database but lacks the key:
every forgery from issue 13 is found, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from citywatch.store import (
    Approval,
    AuditChain,
    AuditRecord,
    PlanRecord,
    ScenarioRecord,
    ScenarioVersion,
    append_audit,
    migrate,
    seal,
    session_factory,
    verify_audit,
)
from citywatch.store.audit import record_hash

KEY = b"k" * 32


@pytest.fixture
def chain(tmp_path: Path) -> AuditChain:
    return AuditChain(KEY, tmp_path / "audit.checkpoints")


def _fill(engine: Engine, chain: AuditChain, n: int = 6) -> None:
    sessions = session_factory(engine, chain)
    for i in range(n):  # one commit each: one checkpoint each
        with sessions() as s:
            append_audit(s, actor=f"user{i}", action="roster.export", target=f"roster/{i}",
                         source="127.0.0.1", detail={"i": i})
            s.commit()


def _drop_guards(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def _problems(engine: Engine, chain: AuditChain) -> list[str]:
    with session_factory(engine, chain)() as s:
        check = verify_audit(s)
    return list(check.problems)


def test_intact_keyed_chain_verifies(engine: Engine, chain: AuditChain) -> None:
    _fill(engine, chain)
    assert _problems(engine, chain) == []
    lines = chain.checkpoints.read_text().splitlines()  # type: ignore[union-attr]
    assert [json.loads(x)["n"] for x in lines] == [1, 2, 3, 4, 5, 6]
    # the MAC depends on the key: the same log under another key fails everywhere
    other = AuditChain(b"x" * 32, chain.checkpoints)
    assert any("MAC" in p for p in _problems(engine, other))


def test_truncation_with_a_rewritten_head_is_found(engine: Engine, chain: AuditChain) -> None:
    _fill(engine, chain)
    _drop_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > 4"))
        h4 = conn.execute(text("SELECT hash FROM audit_log WHERE id = 4")).scalar_one()
        conn.execute(text("UPDATE audit_head SET last_id = 4, last_hash = :h"), {"h": h4})
    problems = _problems(engine, chain)
    assert any("record 6 is gone" in p for p in problems), problems


def test_a_wiped_log_is_found(engine: Engine, chain: AuditChain) -> None:
    _fill(engine, chain)
    _drop_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
    problems = _problems(engine, chain)
    assert problems and any("gone" in p for p in problems), problems


def test_recomputed_records_are_found(engine: Engine, chain: AuditChain) -> None:
    """Edit every roster.export and re-chain with SHA-256 (or a guessed key): MACs fail."""
    _fill(engine, chain)
    _drop_guards(engine)
    for guess in (None, b"guess" * 8):
        forger = AuditChain(guess)
        with session_factory(engine)() as s:
            recs = s.query(AuditRecord).order_by(AuditRecord.id).all()
            prev = "0" * 64
            for r in recs:
                r.target = "roster/999"
                r.prev_hash = prev
                r.keyed = guess is not None
                r.hash = record_hash(prev, r, forger)
                prev = r.hash
            s.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
            s.commit()
        problems = _problems(engine, chain)
        assert problems, guess
        assert any("MAC" in p or "never sealed" in p or "differs" in p for p in problems)


def test_an_inserted_approval_is_found(engine: Engine, chain: AuditChain) -> None:
    _fill(engine, chain, 2)
    _drop_guards(engine)
    with session_factory(engine)() as s:
        sc = ScenarioRecord(name="s", builtin=False, created_by="t")
        sc.versions.append(ScenarioVersion(version=1, parameters={}, archive=b"x",
                                           sha256="0" * 64, note="", created_by="t"))
        s.add(sc)
        s.flush()
        plan = PlanRecord(scenario_version_id=sc.versions[0].id, parameters={}, seed=1,
                          status="done", stage="done", progress=1.0, created_by="p")
        s.add(plan)
        s.flush()
        s.add(Approval(plan_id=plan.id, approver="mallory", comment=""))
        # and a forged plan.approve record, chained without the key
        head = s.execute(text("SELECT last_id, last_hash FROM audit_head")).one()
        rec = AuditRecord(id=head[0] + 1, at="2026-12-01T00:00:00", actor="mallory",
                          action="plan.approve", target=f"plan/{plan.id}", source="x",
                          outcome="ok", detail="{}", prev_hash=head[1], hash="", keyed=True)
        rec.hash = record_hash(head[1], rec, AuditChain())
        s.add(rec)
        s.execute(text("UPDATE audit_head SET last_id = :i, last_hash = :h"),
                  {"i": rec.id, "h": rec.hash})
        s.commit()
    problems = _problems(engine, chain)
    assert any("record 3: content does not match its MAC" in p for p in problems), problems
    assert any("approval of plan" in p and "mallory" in p for p in problems), problems


def test_a_forged_checkpoint_is_found(engine: Engine, chain: AuditChain) -> None:
    _fill(engine, chain, 2)
    assert chain.checkpoints is not None
    with chain.checkpoints.open("a") as f:
        f.write(json.dumps({"n": 1, "head": "f" * 64, "mac": "0" * 64}) + "\n")
    assert any("signature invalid" in p for p in _problems(engine, chain))
    chain.checkpoints.unlink()
    assert any("missing" in p for p in _problems(engine, chain))


def test_legacy_records_are_sealed_after_migration(db_url: str, chain: AuditChain) -> None:
    """A database from before the key: its unkeyed chain is sealed by one keyed record,
    duplicate users are disabled rather than lost, repeated approvals reduced to one."""
    from citywatch.store import connect

    engine = connect(db_url, upgrade=False)
    migrate(engine, revision="0001")
    with engine.begin() as conn:  # what the old, unkeyed writer left
        prev = "0" * 64
        for i in range(3):
            rec = AuditRecord(id=i + 1, at="then", actor="old", action="login", target="",
                              source="", outcome="ok", detail="{}")
            h = record_hash(prev, rec)
            conn.execute(text(
                "INSERT INTO audit_log (id, at, actor, action, target, source, outcome, "
                "detail, prev_hash, hash) VALUES (:id, 'then', 'old', 'login', '', '', "
                "'ok', '{}', :prev, :h)"), {"id": i + 1, "prev": prev, "h": h})
            prev = h
        conn.execute(text("INSERT INTO audit_head (id, last_id, last_hash) "
                          "VALUES (1, 3, :h)"), {"h": prev})
        for name in ("chief", "Chief", "chief "):
            conn.execute(text("INSERT INTO users (name, password_hash, role, active, "
                              "failed_logins, created_at) VALUES (:n, 'x', 'admin', :a, 0, "
                              "CURRENT_TIMESTAMP)"), {"n": name, "a": True})
    migrate(engine)
    with session_factory(engine, chain)() as s:
        assert seal(s, chain)
        s.commit()
        check = verify_audit(s)
        assert check.ok, check.problems
        assert check.records == 4
        rows = s.execute(text("SELECT name, name_key, active FROM users ORDER BY id")).all()
    assert [r[1] for r in rows][0] == "chief"
    assert [bool(r[2]) for r in rows] == [True, False, False]
    engine.dispose()
