"""The append-only audit log: each record hash-chained to the previous one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citywatch.store.models import AuditHead, AuditRecord

__all__ = ["GENESIS", "AuditCheck", "append_audit", "canonical_json", "record_hash",
           "verify_audit"]

#: The "previous hash" of the first record.
GENESIS = "0" * 64


def canonical_json(data: Any) -> str:
    """JSON with sorted keys, no spaces and UTF-8 text: the same bytes for the same data."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _fields(rec: AuditRecord) -> dict[str, Any]:
    return {"id": rec.id, "at": rec.at, "actor": rec.actor, "action": rec.action,
            "target": rec.target, "source": rec.source, "outcome": rec.outcome,
            "detail": rec.detail}


def record_hash(prev_hash: str, rec: AuditRecord) -> str:
    """sha256 over the previous hash and the record's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(_fields(rec))).encode()).hexdigest()


def append_audit(session: Session, *, actor: str, action: str, target: str = "",
                 source: str = "", outcome: str = "ok",
                 detail: dict[str, Any] | None = None) -> AuditRecord:
    """Add a record to the chain inside the session's transaction (the caller commits).

    The head row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises
    writers) so concurrent appends cannot fork the chain.
    """
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
    rec = AuditRecord(id=head.last_id + 1,
                      at=datetime.now(UTC).isoformat(timespec="microseconds"),
                      actor=actor[:64], action=action[:64], target=target[:128],
                      source=source[:64], outcome=outcome[:32],
                      detail=canonical_json(detail or {}), prev_hash=head.last_hash, hash="")
    rec.hash = record_hash(head.last_hash, rec)
    session.add(rec)
    head.last_id, head.last_hash = rec.id, rec.hash
    session.flush()
    return rec


@dataclass(frozen=True)
class AuditCheck:
    """What `verify_audit` found."""

    records: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return not self.problems


def verify_audit(session: Session) -> AuditCheck:
    """Re-hash the whole chain and report edited, deleted or reordered records."""
    problems: list[str] = []
    prev, expected_id, n = GENESIS, 1, 0
    for rec in session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars():
        n += 1
        if rec.id != expected_id:
            problems.append(f"records {expected_id}..{rec.id - 1} are missing (deleted)")
        if rec.prev_hash != prev:
            problems.append(f"record {rec.id}: does not follow the record before it "
                            "(a record before it was edited or deleted)")
        if record_hash(rec.prev_hash, rec) != rec.hash:
            problems.append(f"record {rec.id}: content does not match its hash (edited)")
        prev, expected_id = rec.hash, rec.id + 1
    head = session.get(AuditHead, 1)
    last = expected_id - 1
    if head is None:
        if n:
            problems.append("the chain head is missing")
    elif head.last_id != last or head.last_hash != prev:
        problems.append(f"the chain head says record {head.last_id} is last but the log "
                        f"ends at {last} (records cut off the end, or the head edited)")
    return AuditCheck(n, tuple(problems))
