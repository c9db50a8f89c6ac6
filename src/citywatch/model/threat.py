"""UK terrorism threat levels and the deployment posture planned at each."""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from citywatch.errors import Problem, ScenarioError

__all__ = ["DAYS_PER_YEAR", "WEEKS_PER_YEAR", "Posture", "PostureTable", "ThreatLevel",
           "default_postures", "load_postures"]


class ThreatLevel(enum.Enum):
    """The five UK threat levels set by JTAC, lowest first, with their official meaning."""

    LOW = "an attack is highly unlikely"
    MODERATE = "an attack is possible but not likely"
    SUBSTANTIAL = "an attack is likely"
    SEVERE = "an attack is highly likely"
    CRITICAL = "an attack is highly likely in the near future"

    @property
    def meaning(self) -> str:
        """The official wording of the level."""
        return self.value

    @classmethod
    def parse(cls, value: str | ThreatLevel) -> ThreatLevel:
        """Level from its name, case-insensitive (``"severe"`` → ``SEVERE``)."""
        if isinstance(value, ThreatLevel):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(level.name.lower() for level in cls)
            msg = f"`threat_level` must be one of {names}, got {value!r}"
            raise ScenarioError(msg) from None


@dataclass(frozen=True)
class Posture:
    """What a threat level means for deployment (all figures user-editable assumptions).

    ``attack_likelihood`` is expected attacks a year on the city's crowded places;
    ``committed_released_share`` the share of the officers committed to protection whom
    military guards release to patrol (Operation Temperer); ``priors``, when given,
    replaces the scenario's attack-type priors at this level (by attacker id).
    """

    level: ThreatLevel
    attack_likelihood: float
    deployed_share: float
    shift_extension_hours: float
    committed_released_share: float = 0.0
    priors: tuple[tuple[str, float], ...] = ()

    @property
    def attacks_per_week(self) -> float:
        """Expected attacks a week."""
        return self.attack_likelihood / WEEKS_PER_YEAR

    def loss_rates(self, per_attack: float) -> dict[str, float]:
        """Expected loss per attack scaled to a day, a week and a year at this level."""
        year = per_attack * self.attack_likelihood
        return {"per_attack": per_attack, "per_day": year / DAYS_PER_YEAR,
                "per_week": year / WEEKS_PER_YEAR, "per_year": year}


DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0


@dataclass(frozen=True)
class PostureTable:
    """The posture for each threat level, with the version of the file it came from."""

    version: str
    postures: tuple[Posture, ...]
    source: str = field(default="", compare=False)

    def __getitem__(self, level: ThreatLevel | str) -> Posture:
        level = ThreatLevel.parse(level)
        for posture in self.postures:
            if posture.level is level:
                return posture
        msg = f"no posture for threat level `{level.name}` in {self.source}"
        raise ScenarioError(msg)


_FIELDS = {"attack_likelihood": (0.0, None), "deployed_share": (0.0, 1.0),
           "shift_extension_hours": (0.0, 12.0)}
_OPTIONAL = {"committed_released_share": (0.0, 1.0)}


def parse_postures(data: dict[str, Any], *, source: str) -> PostureTable:
    """Validate a posture table read from TOML; every problem is reported at once."""
    problems: list[Problem] = []
    version = data.get("version")
    if not isinstance(version, str) or not version:
        problems.append(Problem(source, "version", version, "a non-empty version string"))
    postures = []
    for level in ThreatLevel:
        entry = data.get(level.name)
        if not isinstance(entry, dict):
            problems.append(Problem(source, level.name, entry, "a table for every threat level"))
            continue
        values: dict[str, float] = {}
        for name, (low, high) in {**_FIELDS, **_OPTIONAL}.items():
            if name in _OPTIONAL and name not in entry:
                continue
            value = entry.get(name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if isinstance(value, int | float) and (value < low or (high is not None
                                                                   and value > high)):
                ok = False
            if not ok or not isinstance(value, int | float):
                rng = f">= {low}" if high is None else f"a number in [{low}, {high}]"
                problems.append(Problem(source, f"{level.name}.{name}", value, rng))
            else:
                values[name] = float(value)
        priors: list[tuple[str, float]] = []
        raw_priors = entry.get("priors", {})
        if not isinstance(raw_priors, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
                for v in raw_priors.values()):
            problems.append(Problem(source, f"{level.name}.priors", raw_priors,
                                    "a table of attacker id = prior in [0, 1]"))
        elif raw_priors:
            total = sum(float(v) for v in raw_priors.values())
            if abs(total - 1.0) > 1e-6:
                problems.append(Problem(source, f"{level.name}.priors", raw_priors,
                                        f"priors summing to 1 (they sum to {total:g})"))
            priors = [(str(k), float(v)) for k, v in raw_priors.items()]
        if all(name in values for name in _FIELDS):
            postures.append(Posture(level, **values, priors=tuple(priors)))
    if problems:
        raise ScenarioError(f"{len(problems)} problem(s) in {source}", problems)
    return PostureTable(str(version), tuple(postures), source)


def load_postures(path: str | Path) -> PostureTable:
    """Read a ``threat_levels.toml`` posture file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"`threat_levels` file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: invalid TOML: {err}") from err
    return parse_postures(data, source=str(path))


def default_postures() -> PostureTable:
    """The posture table shipped with CityWatch (``citywatch/data/threat_levels.toml``)."""
    text = resources.files("citywatch.data").joinpath("threat_levels.toml").read_text("utf-8")
    return parse_postures(tomllib.loads(text), source="citywatch/data/threat_levels.toml")
