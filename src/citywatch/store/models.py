"""SQLAlchemy 2 models of users, scenarios, plans, approvals, rosters and the audit log."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("viewer", "planner", "approver", "auditor", "admin")
PLAN_STATUSES = ("queued", "running", "done", "failed")


def user_key(name: str) -> str:
    """The form user names are compared in: Unicode NFKC, case-folded, spaces collapsed.

    "Chief", "chief " and "ｃｈｉｅｆ" are one user.
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _key_default(context: Any) -> str:
    return user_key(context.get_current_parameters()["name"])


def utcnow() -> datetime:
    """The current time in UTC (aware)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every CityWatch table."""


class User(Base):
    """A person who signs in, with one role."""

    __tablename__ = "users"
    # AUTOINCREMENT: SQLite never reuses the id of a deleted user (tokens carry the id).
    __table_args__ = (UniqueConstraint("name_key", name="uq_users_name_key"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: `user_key(name)`: unique, what sign-in looks up.
    name_key: Mapped[str] = mapped_column(String(64), default=_key_default)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Raised to end every token issued before (forced logout, password change).
    token_version: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottle(Base):
    """Failed sign-ins counted per key (``acct:<user key>|<address>`` or ``addr:<address>``).

    Updated only by single conditional UPDATE statements (`citywatch.store.throttle`), so
    concurrent sign-ins cannot lose a count.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Seconds since the epoch until which the key is locked (None: not locked).
    locked_until: Mapped[float | None] = mapped_column(Float)


class ScenarioRecord(Base):
    """A named scenario; its content lives in numbered versions."""

    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    versions: Mapped[list[ScenarioVersion]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.version")


class ScenarioVersion(Base):
    """One immutable version of a scenario: its folder as a zip archive."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"))
    version: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scenario: Mapped[ScenarioRecord] = relationship(back_populates="versions")


class PlanRecord(Base):
    """A plan job and, once done, its result."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    method: Mapped[str | None] = mapped_column(String(64))
    gap: Mapped[float | None] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(64), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scenario_version: Mapped[ScenarioVersion] = relationship()
    approvals: Mapped[list[Approval]] = relationship(back_populates="plan",
                                                     order_by="Approval.id")


class Approval(Base):
    """An approver's sign-off on a plan."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("plan_id", "approver",
                                       name="uq_approvals_plan_approver"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    approver: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    plan: Mapped[PlanRecord] = relationship(back_populates="approvals")


class RosterRecord(Base):
    """A roster sampled from a plan, with its exported files as a zip archive."""

    __tablename__ = "rosters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    seed: Mapped[int] = mapped_column(BigInteger)
    days: Mapped[int] = mapped_column(Integer)
    start: Mapped[str] = mapped_column(String(10))
    missions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRecord(Base):
    """One append-only audit record, hash-chained to the one before it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of the record and `prev_hash` (plain SHA-256 for records made before
    #: migration 0003, when `keyed` is False).
    hash: Mapped[str] = mapped_column(String(64))
    keyed: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditHead(Base):
    """The chain's last record (one row): detects records cut off the end; also the lock."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
