"""Persistence: SQLAlchemy models, migrations and the hash-chained audit log."""

from __future__ import annotations

from citywatch.store.audit import (
    AuditChain,
    AuditCheck,
    append_audit,
    canonical_json,
    seal,
    verify_audit,
)
from citywatch.store.db import (
    DEFAULT_URL,
    connect,
    migrate,
    read_session_factory,
    session_factory,
    with_retry,
)
from citywatch.store.models import (
    Approval,
    AuditHead,
    AuditRecord,
    Base,
    LoginThrottle,
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
    "AuditChain",
    "Base",
    "LoginThrottle",
    "PlanRecord",
    "RosterRecord",
    "ScenarioRecord",
    "ScenarioVersion",
    "User",
    "append_audit",
    "canonical_json",
    "connect",
    "migrate",
    "read_session_factory",
    "seal",
    "session_factory",
    "verify_audit",
    "with_retry",
]
