"""Persistence: SQLAlchemy models, migrations and the hash-chained audit log."""

from __future__ import annotations

from citywatch.store.audit import AuditCheck, append_audit, canonical_json, verify_audit
from citywatch.store.db import DEFAULT_URL, connect, migrate, session_factory
from citywatch.store.models import (
    Approval,
    AuditHead,
    AuditRecord,
    Base,
    PlanRecord,
    RosterRecord,
    ScenarioRecord,
    ScenarioVersion,
    User,
)

__all__ = [
    "DEFAULT_URL",
    "Approval",
    "AuditCheck",
    "AuditHead",
    "AuditRecord",
    "Base",
    "PlanRecord",
    "RosterRecord",
    "ScenarioRecord",
    "ScenarioVersion",
    "User",
    "append_audit",
    "canonical_json",
    "connect",
    "migrate",
    "session_factory",
    "verify_audit",
]
