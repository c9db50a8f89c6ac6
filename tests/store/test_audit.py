"""The hash-chained audit log: appends verify; edits, deletions and truncation are found."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from citywatch.store import (
    AuditRecord,
    append_audit,
    canonical_json,
    connect,
    session_factory,
    verify_audit,
)
from citywatch.store.audit import GENESIS, record_hash


def _fill(engine: Engine, n: int = 5) -> None:
    with session_factory(engine)() as s:
        for i in range(n):
            append_audit(s, actor=f"user{i}", action="plan.create", target=f"plan/{i}",
                         source="127.0.0.1", detail={"i": i, "name": "Zoë"})
        s.commit()


def _drop_guards(engine: Engine) -> None:
    """What an attacker with database access would do first."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def test_migrations_create_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"users", "scenarios", "scenario_versions", "plans", "approvals", "rosters",
            "audit_log", "audit_head", "alembic_version"} <= tables
    connect(str(engine.url.render_as_string(hide_password=False))).dispose()  # idempotent


def test_chain_links_each_record_to_the_previous(engine: Engine) -> None:
    _fill(engine)
    with session_factory(engine)() as s:
        recs = s.query(AuditRecord).order_by(AuditRecord.id).all()
        assert [r.id for r in recs] == [1, 2, 3, 4, 5]
        assert recs[0].prev_hash == GENESIS
        for a, b in zip(recs, recs[1:], strict=False):
            assert b.prev_hash == a.hash
        assert recs[2].hash == record_hash(recs[1].hash, recs[2])
        check = verify_audit(s)
    assert check.ok and check.records == 5


def test_canonical_json_is_stable() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_log_is_append_only_in_the_database(engine: Engine) -> None:
    _fill(engine, 2)
    for sql in ("UPDATE audit_log SET outcome = 'ok2' WHERE id = 1",
                "DELETE FROM audit_log WHERE id = 1"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))


@pytest.mark.parametrize(("sql", "needle"), [
    ("UPDATE audit_log SET actor = 'someone else' WHERE id = 3", "record 3: content"),
    ("UPDATE audit_log SET detail = '{}' WHERE id = 1", "record 1: content"),
    ("DELETE FROM audit_log WHERE id = 2", "missing"),
    ("DELETE FROM audit_log WHERE id = 5", "cut off the end"),
])
def test_verify_finds_edits_and_deletions(engine: Engine, sql: str, needle: str) -> None:
    _fill(engine)
    _drop_guards(engine)
    with engine.begin() as conn:
        conn.execute(text(sql))
    with session_factory(engine)() as s:
        check = verify_audit(s)
    assert not check.ok
    assert any(needle in p for p in check.problems), check.problems


def test_rehashed_forgery_still_detected_by_the_head(engine: Engine) -> None:
    """Editing a record and re-hashing the rest of the chain leaves the head wrong."""
    _fill(engine, 3)
    _drop_guards(engine)
    with session_factory(engine)() as s:
        recs = s.query(AuditRecord).order_by(AuditRecord.id).all()
        recs[1].actor = "forger"
        prev = recs[0].hash
        for r in recs[1:]:
            r.prev_hash = prev
            r.hash = record_hash(prev, r)
            prev = r.hash
        s.commit()
        check = verify_audit(s)
    assert not check.ok and any("head" in p for p in check.problems)


def test_migrations_match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from citywatch.store import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
