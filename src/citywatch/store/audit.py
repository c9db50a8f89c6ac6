"""The append-only audit log: a keyed hash chain, anchored by signed checkpoints outside
the database.

Record ``i`` stores ``h_i = HMAC-SHA256(K, h_{i-1} || canonical_json(record_i))`` with
``h_0 = 0...0`` and ``K`` the audit key (`citywatch.store.keys`, kept outside the
database). Someone who can write the database but does not hold ``K`` cannot edit,
insert or re-chain records: every record after the change would need a new MAC. What
they can still do without ``K`` is cut records off the end (and fix the head row) or
wipe the log; so after each commit that appended records, a *checkpoint* line
``{"n": i, "head": h_i, "mac": HMAC(K, "i:h_i")}`` is appended to a separate file
(opened ``O_APPEND`` only). `verify_audit` checks every record, the head row, and
every checkpoint: a checkpoint naming a record that is gone, or whose head differs,
is a truncated or rewritten log.

Appends are serialised on both back ends: on SQLite the write session holds the write
lock from its first statement (``BEGIN IMMEDIATE``), on PostgreSQL `lock_for_append`
takes an advisory lock, so concurrent appends cannot read the same head.

Records made before the key existed (migration 0002 marks them ``keyed=False``) are
plain SHA-256; `seal` appends one keyed record after them, which fixes their content
(the keyed record's MAC covers their head). Unkeyed records after a keyed one are
forgeries.

Approvals are cross-checked: each row of ``approvals`` must match a ``plan.approve``
record of the chain, so an approval inserted straight into the database is found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from citywatch.store.db import lock_for_append
from citywatch.store.models import Approval, AuditHead, AuditRecord

__all__ = ["GENESIS", "AuditChain", "AuditCheck", "append_audit", "canonical_json",
           "record_hash", "seal", "verify_audit"]

#: The "previous hash" of the first record.
GENESIS = "0" * 64
_INFO = "audit_chain"
_PENDING = "audit_pending"


def canonical_json(data: Any) -> str:
    """JSON with sorted keys, no spaces and UTF-8 text: the same bytes for the same data."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@dataclass(frozen=True)
class AuditChain:
    """The audit key and the checkpoint file of one database.

    Attributes
    ----------
    key
        The MAC key (None: unkeyed SHA-256, only for stores used without a service key).
    checkpoints
        The append-only checkpoint file (None: no checkpoints).
    """

    key: bytes | None = None
    checkpoints: Path | None = None

    def mac(self, message: str) -> str:
        """HMAC-SHA256 of `message` under the key (SHA-256 when there is no key)."""
        if self.key is None:
            return hashlib.sha256(message.encode()).hexdigest()
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def checkpoint(self, n: int, head: str) -> None:
        """Append a signed checkpoint ``(n, head)`` to the checkpoint file."""
        if self.checkpoints is None or self.key is None:
            return
        line = canonical_json({"n": n, "head": head,
                               "at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "mac": self.mac(f"{n}:{head}")}) + "\n"
        with _file_lock:
            fd = os.open(self.checkpoints, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def read_checkpoints(self) -> list[tuple[int, str, bool]] | None:
        """Every checkpoint as ``(n, head, mac_ok)``; None when the file does not exist."""
        if self.checkpoints is None or not self.checkpoints.exists():
            return None
        out: list[tuple[int, str, bool]] = []
        for line in self.checkpoints.read_text(encoding="utf-8").splitlines():
            try:
                cp = json.loads(line)
                n, head, mac = int(cp["n"]), str(cp["head"]), str(cp["mac"])
            except (ValueError, KeyError, TypeError):
                out.append((-1, "", False))
                continue
            out.append((n, head, hmac.compare_digest(mac, self.mac(f"{n}:{head}"))))
        return out


_file_lock = threading.Lock()


def _fields(rec: AuditRecord) -> dict[str, Any]:
    return {"id": rec.id, "at": rec.at, "actor": rec.actor, "action": rec.action,
            "target": rec.target, "source": rec.source, "outcome": rec.outcome,
            "detail": rec.detail}


def record_hash(prev_hash: str, rec: AuditRecord, chain: AuditChain | None = None) -> str:
    """The record's link: HMAC (or, without a key, SHA-256) of the previous hash and the
    record's canonical JSON."""
    return (chain or AuditChain()).mac(prev_hash + canonical_json(_fields(rec)))


def _chain_of(session: Session, chain: AuditChain | None) -> AuditChain:
    return chain or session.info.get(_INFO) or AuditChain()


def append_audit(session: Session, *, actor: str, action: str, target: str = "",
                 source: str = "", outcome: str = "ok",
                 detail: dict[str, Any] | None = None,
                 chain: AuditChain | None = None) -> AuditRecord:
    """Add a record to the chain inside the session's transaction (the caller commits).

    `chain` defaults to the one the session factory was given (`session_factory`). The
    session must be a write session; appends are serialised until it commits.
    """
    chain = _chain_of(session, chain)
    lock_for_append(session, "audit")
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)
                           .with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
    rec = AuditRecord(id=head.last_id + 1,
                      at=datetime.now(UTC).isoformat(timespec="microseconds"),
                      actor=actor[:64], action=action[:64], target=target[:128],
                      source=source[:64], outcome=outcome[:32],
                      detail=canonical_json(detail or {}), prev_hash=head.last_hash, hash="",
                      keyed=chain.key is not None)
    rec.hash = record_hash(head.last_hash, rec, chain)
    session.add(rec)
    head.last_id, head.last_hash = rec.id, rec.hash
    session.flush()
    session.info[_PENDING] = (chain, rec.id, rec.hash)
    return rec


@event.listens_for(Session, "after_commit")
def _write_checkpoint(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        chain, n, head = pending
        chain.checkpoint(n, head)


@event.listens_for(Session, "after_rollback")
def _drop_checkpoint(session: Session) -> None:
    session.info.pop(_PENDING, None)


def seal(session: Session, chain: AuditChain) -> bool:
    """Append a keyed ``audit.seal`` record if the log ends in unkeyed records (the caller
    commits); True if it did. Also checkpoints a keyed log that has none yet."""
    last = session.execute(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)
                           ).scalar_one_or_none()
    if last is None or chain.key is None:
        return False
    if not last.keyed:
        n = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        append_audit(session, actor="system", action="audit.seal", target="audit",
                     detail={"unkeyed_records": int(n)}, chain=chain)
        return True
    if chain.read_checkpoints() in (None, []):
        chain.checkpoint(last.id, last.hash)
    return False


@dataclass(frozen=True)
class AuditCheck:
    """What `verify_audit` found."""

    records: int
    problems: tuple[str, ...] = field(default=())
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return not self.problems


def _check_records(session: Session, chain: AuditChain,
                   problems: list[str]) -> tuple[int, str, dict[int, str], set[tuple[int, str]]]:
    prev, expected_id, n, keyed_seen = GENESIS, 1, 0, False
    hashes: dict[int, str] = {}
    approvals: set[tuple[int, str]] = set()
    legacy = AuditChain()
    for rec in session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars():
        n += 1
        if rec.id != expected_id:
            problems.append(f"records {expected_id}..{rec.id - 1} are missing (deleted)")
        if rec.prev_hash != prev:
            problems.append(f"record {rec.id}: does not follow the record before it "
                            "(a record before it was edited or deleted)")
        if chain.key is not None and not rec.keyed and keyed_seen:
            problems.append(f"record {rec.id}: unkeyed record after keyed ones (forged)")
        keyed_seen = keyed_seen or bool(rec.keyed)
        use = chain if rec.keyed else legacy
        if not hmac.compare_digest(record_hash(rec.prev_hash, rec, use), rec.hash):
            problems.append(f"record {rec.id}: content does not match its MAC "
                            "(edited, or forged without the key)")
        elif rec.action == "plan.approve" and rec.outcome == "ok" and \
                rec.target.startswith("plan/"):
            try:
                approvals.add((int(rec.target[5:]), rec.actor))
            except ValueError:
                pass
        hashes[rec.id] = rec.hash
        prev, expected_id = rec.hash, rec.id + 1
    if chain.key is not None and n and not keyed_seen:
        problems.append("no record is keyed: the log was never sealed with the service "
                        "key, or was replaced")
    return n, prev, hashes, approvals


def verify_audit(session: Session, chain: AuditChain | None = None) -> AuditCheck:
    """Re-check the whole chain: every MAC and link, the head, the checkpoints, approvals.

    Reports edited, deleted, reordered, inserted or forged records, records cut off the
    end (even with the head row rewritten), a wiped log, and approvals with no audit
    record.
    """
    chain = _chain_of(session, chain)
    problems: list[str] = []
    n, prev, hashes, approved = _check_records(session, chain, problems)
    last = max(hashes, default=0)
    head = session.get(AuditHead, 1)
    if head is None:
        if n:
            problems.append("the chain head is missing")
    elif head.last_id != last or head.last_hash != prev:
        problems.append(f"the chain head says record {head.last_id} is last but the log "
                        f"ends at {last} (records cut off the end, or the head edited)")
    checkpoints = chain.read_checkpoints() if chain.key is not None else None
    if chain.key is not None and chain.checkpoints is not None:
        if checkpoints is None:
            if n:
                problems.append(f"the checkpoint file {chain.checkpoints} is missing")
            checkpoints = []
        for i, (cn, chead, mac_ok) in enumerate(checkpoints, start=1):
            if not mac_ok:
                problems.append(f"checkpoint {i}: signature invalid (forged or damaged)")
            elif cn not in hashes:
                problems.append(f"checkpoint {i}: record {cn} is gone (log truncated or "
                                f"wiped; it now ends at {last})")
            elif not hmac.compare_digest(hashes[cn], chead):
                problems.append(f"checkpoint {i}: record {cn} differs from the one "
                                "signed (log rewritten)")
        if n and not any(ok for _, _, ok in checkpoints):
            problems.append("no valid checkpoint covers the log")
    for plan_id, approver in session.execute(select(Approval.plan_id, Approval.approver)):
        if (plan_id, approver) not in approved:
            problems.append(f"approval of plan {plan_id} by {approver!r} has no audit "
                            "record (inserted in the database)")
    return AuditCheck(n, tuple(problems), len(checkpoints or []))
