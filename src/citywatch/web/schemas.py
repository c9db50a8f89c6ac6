"""Request and response schemas of the HTTP API (kept apart from the domain objects)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from citywatch.options import PlanOptions, SolveLimits

MARKING = "OFFICIAL-SENSITIVE"
Threat = Literal["LOW", "MODERATE", "SUBSTANTIAL", "SEVERE", "CRITICAL"]
Role = Literal["viewer", "planner", "approver", "auditor", "admin"]
Name = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
Seed = Field(default=None, ge=0, le=2**62)
#: A database id in a path.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- auth and users -------------------------------------------------------------------
class LoginIn(_In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    name: str
    role: Role


class MeOut(BaseModel):
    name: str
    role: Role
    sees_rosters: bool


class UserIn(_In):
    name: str = Name
    password: str = Field(min_length=8, max_length=256)
    role: Role


class UserPatchIn(_In):
    """What an admin changes about a user: the role, or whether the account is disabled."""

    role: Role | None = None
    disabled: bool | None = None


class PasswordIn(_In):
    password: str = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    #: ``not disabled`` (kept for older clients).
    active: bool
    disabled: bool
    #: Until when sign-in is locked, from the address locked latest (None: not locked).
    locked_until: datetime | None


# --- scenarios ----------------------------------------------------------------------
class ScenarioJSONIn(_In):
    """A scenario folder as JSON: file name → file text (scenario.toml, sites.csv, ...)."""

    name: str = Name
    files: dict[str, str] = Field(min_length=1, max_length=20)


class ScenarioParamsIn(_In):
    """Parameters changed in a new version of a scenario."""

    threat_level: Threat | None = None
    officers: int | None = Field(default=None, ge=1, le=100_000)
    committed_officers: int | None = Field(default=None, ge=0, le=100_000)
    note: str = Field(default="", max_length=500)


class ScenarioVersionOut(BaseModel):
    id: int
    version: int
    parameters: dict[str, Any]
    sha256: str
    note: str
    created_by: str
    created_at: datetime


class ScenarioOut(BaseModel):
    id: int
    name: str
    builtin: bool
    latest_version: int
    created_by: str
    created_at: datetime


class SiteOut(BaseModel):
    id: str
    name: str
    category: str
    lat: float
    lon: float
    zone_id: str
    people: dict[str, float]


class PointOut(BaseModel):
    id: str
    name: str
    lat: float
    lon: float
    kind: str = ""


class ScenarioDetailOut(ScenarioOut):
    version: int
    parameters: dict[str, Any]
    slots: list[str]
    bounds: dict[str, float]
    sites: list[SiteOut]
    zones: list[PointOut]
    standby: list[PointOut]


# --- plans --------------------------------------------------------------------------
class PlanIn(_In):
    """A plan to solve; the defaults are ``PlanOptions()``, the default of ``citywatch plan``."""

    scenario_id: int = Field(ge=1, le=2**31 - 1)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    attacker: Literal["auto", "bayesian", "mixture", "qr"] = "auto"
    arv: Literal["joint", "sequential", "greedy"] = "joint"
    lam: float | None = Field(default=None, ge=0, le=1e6,
                              description="Quantal-response rationality (attacker qr).")
    arv_evaluations: int = Field(default=SolveLimits().arv_evaluations, ge=1, le=100_000,
                                 description="Work limit of the joint ARV search.")
    time_limit: float = Field(default=300.0, ge=1.0, le=600.0,
                              description="Wall-clock safety net per solve, seconds.")
    seed: int | None = Seed

    def options(self) -> PlanOptions:
        """The `PlanOptions` these fields describe."""
        return PlanOptions(attacker=self.attacker, arv=self.arv, lam=self.lam,
                           limits=SolveLimits(arv_evaluations=self.arv_evaluations,
                                              time_limit=self.time_limit,
                                              arv_time_limit=self.time_limit))


class ApprovalIn(_In):
    comment: str = Field(default="", max_length=500)


class ApprovalOut(BaseModel):
    approver: str
    comment: str
    at: datetime


class PlanOut(BaseModel):
    id: int
    scenario_id: int
    scenario_name: str
    scenario_version: int
    parameters: dict[str, Any]
    method: str | None
    gap: float | None
    status: Literal["queued", "running", "done", "failed"]
    stage: str
    progress: float
    error: str | None
    approved: bool
    approvals: list[ApprovalOut]
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    seed: int | None = Field(description="Only shown to planners and approvers.")
    result: dict[str, Any] | None
    marking: str = MARKING


# --- rosters ------------------------------------------------------------------------
class RosterIn(_In):
    days: int = Field(default=7, ge=1, le=28)
    start: date | None = None
    seed: int | None = Seed


class RosterOut(BaseModel):
    id: int
    plan_id: int
    days: int
    start: str
    seed: int
    created_by: str
    created_at: datetime
    missions: list[dict[str, Any]]
    marking: str = MARKING
    #: Whether the plan was approved; exports of an unapproved plan are marked DRAFT.
    approved: bool = False


# --- simulations and what-ifs ------------------------------------------------------
class SimulationIn(_In):
    n: int = Field(default=20_000, ge=100, le=1_000_000)
    seed: int | None = Seed


class SimulationOut(BaseModel):
    plan_id: int
    n: int
    seed: int
    result: dict[str, Any]
    marking: str = MARKING


class WhatIfIn(_In):
    add_officers: int = Field(default=0, ge=-10_000, le=10_000)
    threat_level: Threat | None = None
    n: int = Field(default=20_000, ge=100, le=1_000_000,
                   description="Attacks simulated per plan (at most the server's limit).")
    seed: int | None = Seed
    arv: Literal["joint", "sequential", "greedy"] = "joint"


class WhatIfOut(BaseModel):
    scenario_id: int
    version: int
    result: dict[str, Any]
    marking: str = MARKING


# --- audit --------------------------------------------------------------------------
class AuditRecordOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str
    source: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    records: int
    problems: list[str]


class ErrorOut(BaseModel):
    detail: Any
