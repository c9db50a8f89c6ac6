"""The scenario folder's schemas: ``scenario.toml`` tables and CSV rows, validated with
pydantic (`citywatch.model.io` reads the folder with them)."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from citywatch.errors import Problem, ScenarioError
from citywatch.model.attacks import parse_attack_type
from citywatch.model.casualties import burst_and_rate, default_casualty_parameters, reach_cap
from citywatch.model.scenario import (
    SITE_CATEGORIES,
    STANDBY_KINDS,
    AttackerType,
)
from citywatch.model.protection import PROTECTION_FORCES


_PRIOR_TOL = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    try:
        hh, mm = str(value).split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        msg = f"a time as HH:MM, got {value!r}"
        raise ValueError(msg) from None


class _SlotIn(_Strict):
    name: str = Field(min_length=1)
    start: time
    hours: float = Field(gt=0, le=24)
    patrol_teams: int | None = Field(default=None, ge=0)
    arv_crews: int | None = Field(default=None, ge=0)

    _t = field_validator("start", mode="before")(_parse_time)


class _ShiftIn(_Strict):
    name: str
    start: time
    share: float = Field(ge=0, le=1)
    hours: float | None = Field(default=None, gt=0, le=24)

    _t = field_validator("start", mode="before")(_parse_time)


class _ForceIn(_Strict):
    officers: int = Field(ge=0)
    committed_officers: int = Field(default=0, ge=0)
    abstraction_rate: float = Field(default=0.25, ge=0, lt=1)
    patrol_team_size: int = Field(default=2, ge=1)
    arv_crew_size: int = Field(default=3, ge=1)
    arv_share: float = Field(default=0.5, ge=0, le=1)
    weekly_hours: float = Field(default=40.0, gt=0, le=168)
    shift_hours: float = Field(default=10.0, gt=0, le=24)
    shifts: list[_ShiftIn] | None = None


class _TravelIn(_Strict):
    circuity: float = Field(default=1.3, ge=1)
    short_trip_circuity: float = Field(default=1.4, ge=1)
    short_trip_m: float = Field(default=2000.0, ge=0)
    inner_speed_kmh: float = Field(default=25.0, gt=0)
    outer_speed_kmh: float = Field(default=37.5, gt=0)
    slot_speed_factor: dict[str, float] = Field(default_factory=dict)
    dispatch_delay_min: float = Field(default=1.5, ge=0)
    engage_min: float = Field(default=1.0, ge=0)
    arv_busy_probability: float = Field(default=0.3, ge=0, lt=1)
    dispatch_sigma: float = Field(default=0.5, ge=0, le=3)
    travel_sigma: float = Field(default=0.3, ge=0, le=3)


class _PayoffsIn(_Strict):
    on_site_intervention_min: float = Field(default=1.0, ge=0)
    symbolic_weight: float = Field(default=1.0, ge=0)


class _AttackerIn(_Strict):
    """An attack type; casualty fields left out come from the calibrated model for `kind`."""

    id: str = Field(min_length=1)
    name: str
    prior: float = Field(ge=0, le=1)
    kind: str = ""
    initial_casualties: float | None = Field(default=None, ge=0)
    casualties_per_minute: float | None = Field(default=None, ge=0)
    people_cap: float = Field(default=1.0, ge=0, le=1)
    crowd_exponent: float | None = Field(default=None, ge=0, le=1.5)
    reference_people: float | None = Field(default=None, gt=0)
    targets: float | None = Field(default=None, ge=1)
    max_reach: float | None = Field(default=None, ge=1)
    interdiction: float = Field(ge=0, le=1)
    capture_penalty: float = Field(ge=0)
    hardening_effect: float = Field(ge=0, le=1)
    description: str = ""

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v:
            try:
                parse_attack_type(v)
            except ScenarioError as err:
                raise ValueError(str(err)) from None
        return v

    def resolve(self) -> AttackerType:
        """The attacker type, calibrated values filling what the file leaves out.

        A file that sets the curve by hand (``initial_casualties`` and
        ``casualties_per_minute``) without ``crowd_exponent`` keeps the crowd-blind
        curve (``crowd_exponent = 0``); one that leaves them out takes burst, rate,
        exponent and reference crowd from the calibrated model for `kind` (default: the
        id, when it names an attack type).
        """
        data = self.model_dump()
        kind = self.kind
        if not kind:
            try:
                parse_attack_type(self.id)
                kind = self.id
            except ScenarioError:
                kind = ""
        hand_set = self.initial_casualties is not None and self.casualties_per_minute is not None
        if not hand_set:
            if not kind:
                msg = (f"attacker `{self.id}`: give `kind` (an attack type such as "
                       f"'vehicle+bladed') or both `initial_casualties` and "
                       f"`casualties_per_minute`")
                raise ValueError(msg)
            params = default_casualty_parameters()
            burst, rate = burst_and_rate(kind, params)
            if data["initial_casualties"] is None:
                data["initial_casualties"] = burst
            if data["casualties_per_minute"] is None:
                data["casualties_per_minute"] = rate
            if data["crowd_exponent"] is None:
                data["crowd_exponent"] = params.crowd_exponent
            if data["reference_people"] is None:
                data["reference_people"] = params.reference_people
            if data["max_reach"] is None:
                data["max_reach"] = reach_cap(kind, params)
        data["kind"] = kind
        if data["crowd_exponent"] is None:
            data["crowd_exponent"] = 0.0
        if data["reference_people"] is None:
            data["reference_people"] = 1000.0
        return AttackerType(**data)


class _ResponseIn(_Strict):
    standards: list[str] = Field(default_factory=list)


class _BoundsIn(_Strict):
    min_lat: float = Field(ge=-90, le=90)
    min_lon: float = Field(ge=-180, le=180)
    max_lat: float = Field(ge=-90, le=90)
    max_lon: float = Field(ge=-180, le=180)


class _TablesIn(_Strict):
    sites: str = "sites.csv"
    zones: str = "zones.csv"
    standby: str = "standby.csv"
    boundaries: str | None = None
    basemap: str | None = None
    protection: str | None = None


class _ProtectionRow(_Strict):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)
    site_id: str = Field(min_length=1)
    force: str
    officers: int = Field(ge=1)
    slots: str = ""
    unit: str = ""
    source: str = "assumption"

    @field_validator("force")
    @classmethod
    def _force(cls, v: str) -> str:
        if v not in PROTECTION_FORCES:
            msg = f"one of {', '.join(PROTECTION_FORCES)}"
            raise ValueError(msg)
        return v


class _ScenarioIn(_Strict):
    name: str = Field(min_length=1)
    version: str = "1"
    timezone: str = "UTC"
    threat_level: str = "SEVERE"
    threat_levels: str | None = None
    bounds: _BoundsIn | None = None
    tables: _TablesIn = Field(default_factory=_TablesIn)
    slots: list[_SlotIn] | None = None
    force: _ForceIn
    travel: _TravelIn = Field(default_factory=_TravelIn)
    payoffs: _PayoffsIn = Field(default_factory=_PayoffsIn)
    response: _ResponseIn = Field(default_factory=_ResponseIn)
    attackers: list[_AttackerIn] = Field(min_length=1)


_FINITE = dict(allow_inf_nan=False)


class _SiteRow(_Strict):
    model_config = ConfigDict(extra="ignore", frozen=True, **_FINITE)  # type: ignore[typeddict-item]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    category: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    zone_id: str
    symbolic_value: float = Field(default=0.0, ge=0)
    hardening: float = Field(default=0.0, ge=0, le=1)
    annual_entries_exits_m: float | None = Field(default=None, ge=0)
    capacity: int | None = Field(default=None, ge=0)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in SITE_CATEGORIES:
            msg = f"one of {', '.join(SITE_CATEGORIES)}"
            raise ValueError(msg)
        return v

    @field_validator("annual_entries_exits_m", "capacity", mode="before")
    @classmethod
    def _blank(cls, v: object) -> object:
        return None if v == "" else v


class _ZoneRow(_Strict):
    model_config = ConfigDict(extra="ignore", frozen=True, **_FINITE)  # type: ignore[typeddict-item]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    population_2021: int = Field(ge=0)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    area_km2: float = Field(gt=0)
    inner: bool = False


class _StandbyRow(_Strict):
    model_config = ConfigDict(extra="ignore", frozen=True, **_FINITE)  # type: ignore[typeddict-item]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    zone_id: str
    capacity: int = Field(default=2, ge=1)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in STANDBY_KINDS:
            msg = f"one of {', '.join(STANDBY_KINDS)}"
            raise ValueError(msg)
        return v


def _problems(err: ValidationError, file: str, *, row: int | None = None,
              prefix: str = "") -> list[Problem]:
    out = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(row)"
        expected = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        if e["type"] == "missing":
            value, expected = None, "a value (missing)"
        out.append(Problem(file, prefix + field, value, expected, row))
    return out
